"""What every learning-rate schedule is: a typed config variant giving the factor of the base
learning rate during each (0-based) epoch.

A schedule module subclasses `Schedule`, declares `name: Literal["its_name"]` and its own keys as
fields, and implements `decay(epoch, epochs, base_lr)`; defining the class registers it. Every
schedule may start with a linear warmup (`warmup_epochs`, absent = none): factor (epoch + 1) / w
during the first w epochs, then the schedule's own decay.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from trainers.registry import Registry, Variant

SCHEDULES = Registry("schedule", default="step")


class Schedule(Variant):
    registry: ClassVar[Registry] = SCHEDULES
    warmup_epochs: int | None = Field(None, ge=0)
    omitted_when_none: ClassVar[tuple[str, ...]] = ("warmup_epochs",)

    @property
    def warmup(self) -> int:
        return self.warmup_epochs or 0

    def factor(self, epoch: int, epochs: int, base_lr: float = 1.0) -> float:
        """Multiplier of the base lr during 0-based `epoch` of `epochs`."""
        if epoch < self.warmup:
            return (epoch + 1) / self.warmup
        return self.decay(epoch, epochs, base_lr)

    def decay(self, epoch: int, epochs: int, base_lr: float) -> float:
        raise NotImplementedError

    def check(self, base_lr: float) -> None:
        """ValueError when the schedule cannot run at this effective learning rate."""
