"""DA1 + DA2 of the paper: DA1's crop, flip and rotation, then mixup / cutmix through timm's Mixup
(trainers/augment/mixup.py), which also smooths the labels (`mixup.label_smoothing`)."""

from __future__ import annotations

from pydantic import Field

from trainers.augment.da1 import DA1
from trainers.strict import StrictModel


class MixupConfig(StrictModel):
    """The `mixup` section (DA2): the paper's values as defaults."""

    mixup_alpha: float = Field(0.8, ge=0.0)
    cutmix_alpha: float = Field(1.0, ge=0.0)
    prob: float = Field(0.8, ge=0.0, le=1.0)
    switch_prob: float = Field(0.5, ge=0.0, le=1.0)
    label_smoothing: float = Field(0.1, ge=0.0, lt=1.0)


class DA1DA2(DA1):
    """DA1, then mixup / cutmix on the normalized batch with soft, smoothed targets (the `mixup` section)."""

    name = "da1+da2"
    keys = {**DA1.keys, "mixup": MixupConfig()}

    @classmethod
    def mixup(cls, config, num_classes: int):
        from trainers.augment.mixup import build_mixup

        return build_mixup(config.mixup, num_classes)

    @classmethod
    def check(cls, config) -> None:
        if config.loss.label_smoothing:
            raise ValueError(
                "loss.label_smoothing: with train.augment 'da1+da2' the smoothing is mixup.label_smoothing; set "
                "loss.label_smoothing to 0"
            )
