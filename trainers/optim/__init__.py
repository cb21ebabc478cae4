"""Optimizers by name (`optim.name`): every module in this package defines one, as losses do.

Adding an optimizer is one new file here (docs/extending.md): importing this package imports every
module in it, and each `Optimizer` subclass registers itself in `OPTIMIZERS`, which the trial
config's `optim` field, `ncsweep list optimizers` and the docs read. A trial logs only the keys of
the optimizer it uses (no `optim.betas` on an SGD trial).
"""

from __future__ import annotations

from trainers.optim.base import OPTIMIZERS, LrScaling, Optimizer
from trainers.registry import import_plugins

import_plugins(__name__, __path__, first=("sgd", "adamw"))

OptimConfig = OPTIMIZERS.field()  # the trial config's `optim` type: every optimizer registered above

__all__ = ["OPTIMIZERS", "LrScaling", "OptimConfig", "Optimizer"]
