"""Symmetric cross-entropy (Wang, Ma, Chen, Luo, Yi, Bailey, "Symmetric Cross Entropy for Robust
Learning with Noisy Labels", ICCV 2019)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss

# A, the log of the one-hot's clipped zeros, one convention for sce and nce_rce: ln 1e-4 = -9.21, as
# both official codes clamp the one-hot at 1e-4 (SCE's authors' code and Active-Passive-Losses,
# which produced both papers' tables). The SCE paper's text states A = -4: set `A: -4` for that.
LOG_ZERO = math.log(1e-4)


def reverse_cross_entropy(scores, targets, log_zero: float):
    """RCE = - sum_k p_k max(log q_k, A), p = softmax(s): the cross-entropy with the roles of the
    prediction and the label swapped, log 0 clipped to A. For one-hot q it is -A (1 - p_y)."""
    import torch

    log_q = torch.log(targets).clamp_min(log_zero)  # log 0 = -inf -> A
    return -(scores.softmax(dim=1) * log_q).sum(dim=1)


class SymmetricCrossEntropy(Loss):
    """L = alpha CE + beta RCE, RCE = - sum_k p_k max(log q_k, A): CE fits the clean labels fast,
    the reverse term is robust to wrong ones (the paper's eq. 6-7; on CIFAR-10 alpha = 0.1,
    beta = 1.0). A = ln 1e-4 (the official code's clamp, shared with nce_rce); the paper's text says
    A = -4.
    """

    name: Literal["sce"] = "sce"
    alpha: float = Field(0.1, ge=0.0)
    beta: float = Field(1.0, ge=0.0)
    A: float = Field(LOG_ZERO, lt=0.0)  # log of the clipped zero

    def per_sample(self, scores, targets):
        import torch.nn.functional as F

        ce = -(targets * F.log_softmax(scores, dim=1)).sum(dim=1)
        return self.alpha * ce + self.beta * reverse_cross_entropy(scores, targets, self.A)
