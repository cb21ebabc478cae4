"""Classification losses by name: every module in this package defines one (or a small family).

Adding a loss is one new file here (docs/extending.md#add-your-own-loss): importing this package
imports every module in it, and each `Loss` subclass registers itself in `LOSSES`, which the trial
config's `loss` field, `ncsweep list` and the docs read.
"""

from __future__ import annotations

from trainers.losses.base import LOSSES, Geometry, Loss, soft_targets
from trainers.registry import import_plugins

# The paper's two first (the order `ncsweep list` shows), then every other module in this folder.
import_plugins(__name__, __path__, first=("cross_entropy", "binary_cross_entropy"))

LossConfig = LOSSES.field()  # the trial config's `loss` type: every loss registered above

__all__ = ["LOSSES", "Geometry", "Loss", "LossConfig", "soft_targets"]
