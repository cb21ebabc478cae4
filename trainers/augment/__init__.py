"""Training-time augmentation by name (`train.augment`): every module in this package but the
helpers defines one, as losses do.

An augmentation owns its keys, wherever a sweep file writes them: `da1` owns `train.crop_padding`
and `train.rotate`, `da1+da2` those and the `mixup` section. A key that the chosen augmentation does
not own is bad input, and a trial logs only the keys of the augmentation it uses. The batched
crop/flip/rotate ops (ops.py) and timm's mixup (mixup.py) are helpers: they import torch, the
variants only when a trial runs.
"""

from __future__ import annotations

from trainers.augment.base import AUGMENTATIONS, Augmentation, owned_keys
from trainers.registry import import_plugins

import_plugins(__name__, __path__, first=("none", "da1", "da1_da2"), helpers=("ops", "mixup"))

__all__ = ["AUGMENTATIONS", "Augmentation", "owned_keys"]
