"""Step decay: the paper's schedule for the NC settings (lr x gamma at each milestone epoch)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.schedules.base import Schedule


class Step(Schedule):
    """factor = gamma ** (number of milestones <= epoch)."""

    name: Literal["step"] = "step"
    milestones: tuple[int, ...] = (30, 60, 80)
    gamma: float = Field(0.2, gt=0.0)

    def decay(self, epoch: int, epochs: int, base_lr: float) -> float:
        return self.gamma ** sum(epoch >= m for m in self.milestones)
