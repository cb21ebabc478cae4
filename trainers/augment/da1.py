"""DA1 of the paper: random crop with zero padding and horizontal flip (p = 1/2), plus a random
rotation within +-rotate degrees where asked (the official code's RandomRotation(15) on CIFAR-100),
batched on the batch's device (trainers/augment/ops.py)."""

from __future__ import annotations

from trainers.augment.base import Augmentation


class DA1(Augmentation):
    """Random crop of the zero-padded image and horizontal flip, and a random rotation when `train.rotate` > 0."""

    name = "da1"
    keys = {"train.crop_padding": 4, "train.rotate": 0.0}

    @classmethod
    def crop_padding(cls, config) -> int | None:
        return config.train.crop_padding

    @classmethod
    def rotate(cls, config) -> float:
        return config.train.rotate
