"""NCE+MAE, an active-passive loss (Ma, Huang, Wang, Romano, Erfani, Bailey, "Normalized Loss
Functions for Deep Learning with Noisy Labels", ICML 2020): normalized CE (active) plus MAE
(passive)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss
from trainers.losses.nce_rce import normalized_cross_entropy


class NCEandMAE(Loss):
    """L = alpha NCE + beta MAE, MAE = 1 - sum_k q_k p_k (for one-hot q, 1 - p_y: half of
    sum_k |p_k - q_k|, the reference code's reduced MAE). The paper's CIFAR-10 alpha = beta = 1."""

    name: Literal["nce_mae"] = "nce_mae"
    alpha: float = Field(1.0, ge=0.0)
    beta: float = Field(1.0, ge=0.0)

    def per_sample(self, scores, targets):
        mae = 1.0 - (targets * scores.softmax(dim=1)).sum(dim=1)
        return self.alpha * normalized_cross_entropy(scores, targets) + self.beta * mae
