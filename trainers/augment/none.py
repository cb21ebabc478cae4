"""No augmentation: the paper's NC settings train on the data as it is."""

from __future__ import annotations

from trainers.augment.base import Augmentation


class NoAugmentation(Augmentation):
    """No augmentation: the training batches as they are (the paper's NC settings)."""

    name = "none"
    images_only = False
