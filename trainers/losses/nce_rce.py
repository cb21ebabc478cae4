"""NCE+RCE, an active-passive loss (Ma, Huang, Wang, Romano, Erfani, Bailey, "Normalized Loss
Functions for Deep Learning with Noisy Labels", ICML 2020): a normalized "active" loss (it raises
p_y) plus a "passive" one (it lowers the other p_k), each robust to label noise, together not
underfitting as the normalized loss alone does."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss
from trainers.losses.sce import LOG_ZERO, reverse_cross_entropy


def normalized_cross_entropy(scores, targets):
    """NCE = (- sum_k q_k log p_k) / (- sum_j log p_j): CE divided by its sum over every possible
    label, so it lies in [0, 1] (the paper's eq. 3; for one-hot q, log p_y / sum_j log p_j)."""
    import torch.nn.functional as F

    log_p = F.log_softmax(scores, dim=1)
    return (targets * log_p).sum(dim=1) / log_p.sum(dim=1)


class NCEandRCE(Loss):
    """L = alpha NCE + beta RCE, RCE = - sum_k p_k max(log q_k, A) with sce's convention A = ln 1e-4
    (the reference code's clamp of the one-hot at 1e-4). The paper's CIFAR-10 alpha = beta = 1
    (CIFAR-100: alpha 10, beta 0.1)."""

    name: Literal["nce_rce"] = "nce_rce"
    alpha: float = Field(1.0, ge=0.0)
    beta: float = Field(1.0, ge=0.0)
    A: float = Field(LOG_ZERO, lt=0.0)  # log of the clipped zero (sce's key and default)

    def per_sample(self, scores, targets):
        return self.alpha * normalized_cross_entropy(scores, targets) + self.beta * reverse_cross_entropy(
            scores, targets, self.A
        )
