"""Cosine decay (Loshchilov & Hutter, SGDR, ICLR 2017) to a floor, as the official code's timm
CosineLRScheduler with lr_min: the schedule of the classification settings."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from trainers.schedules.base import Schedule


class Cosine(Schedule):
    """After the warmup w: f + (1 - f) 0.5 (1 + cos(pi (epoch - w) / (epochs - w))), down towards the
    floor f = min_lr / base_lr at the last epoch."""

    name: Literal["cosine"] = "cosine"
    min_lr: float = Field(0.0, ge=0.0)  # the floor the lr decays to instead of 0 (the official code: 1e-5)

    def decay(self, epoch: int, epochs: int, base_lr: float) -> float:
        span = max(1, epochs - self.warmup)
        floor = self.min_lr / base_lr
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * (epoch - self.warmup) / span))

    def check(self, base_lr: float) -> None:
        if self.min_lr >= base_lr:
            raise ValueError(f"schedule.min_lr {self.min_lr:g} must be below the learning rate ({base_lr:g})")
