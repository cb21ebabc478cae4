"""DA2 of the paper: mixup (alpha 0.8) / cutmix (alpha 1.0), applied with probability 0.8,
switching between them with probability 0.5, label smoothing 0.1 - through timm's `Mixup`.

timm returns soft targets q (N x K) that already include the smoothing; both of our losses take
soft targets, so CE and BCE see exactly the same mixed labels. timm draws its mixing coefficients
from numpy's global generator, which `run_trial` seeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from timm.data import Mixup

    from trainers.augment.da1_da2 import MixupConfig


def build_mixup(cfg: MixupConfig, num_classes: int) -> Mixup:
    from timm.data import Mixup  # timm (and torchvision under it): a second of import, for DA2 only

    return Mixup(
        mixup_alpha=cfg.mixup_alpha,
        cutmix_alpha=cfg.cutmix_alpha,
        prob=cfg.prob,
        switch_prob=cfg.switch_prob,
        mode="batch",
        label_smoothing=cfg.label_smoothing,
        num_classes=num_classes,
    )


def mix(mixup: Mixup, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """timm pairs sample i with sample N-1-i and needs an even batch: an odd last sample is
    dropped (the loop sees it again next epoch in another batch)."""
    if x.shape[0] % 2:
        x, y = x[:-1], y[:-1]
    return mixup(x, y)
