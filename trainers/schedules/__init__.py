"""Learning-rate schedules by name (`schedule.name`): every module in this package defines one.

A schedule is a pure per-epoch factor of the base learning rate, so it can be tested on its own and
resumed at any epoch. Adding one is one new file here (docs/extending.md): each `Schedule` subclass
registers itself in `SCHEDULES`, which the trial config's `schedule` field, `ncsweep list schedules`
and the docs read. A key of another schedule is bad input (`schedule.milestones` with `cosine`).
"""

from __future__ import annotations

from trainers.registry import import_plugins
from trainers.schedules.base import SCHEDULES, Schedule

import_plugins(__name__, __path__, first=("step", "cosine", "constant"))

ScheduleConfig = SCHEDULES.field()  # the trial config's `schedule` type: every schedule registered above


def build_scheduler(optimizer, schedule: Schedule, epochs: int, base_lr: float):
    """torch's LambdaLR stepping `schedule.factor` once per epoch."""
    import torch

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: schedule.factor(epoch, epochs, base_lr))


__all__ = ["SCHEDULES", "Schedule", "ScheduleConfig", "build_scheduler"]
