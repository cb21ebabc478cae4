"""A constant learning rate (after the warmup, if any): the baseline a schedule is judged against."""

from __future__ import annotations

from typing import Literal

from trainers.schedules.base import Schedule


class Constant(Schedule):
    """factor = 1 (after the warmup)."""

    name: Literal["constant"] = "constant"

    def decay(self, epoch: int, epochs: int, base_lr: float) -> float:
        return 1.0
