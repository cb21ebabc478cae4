"""Dual focal loss (Tao, Dong, Xu, "Dual Focal Loss for Calibration", ICML 2023)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss


def next_lower(p):
    """For every entry p_k of each row, the largest p_j < p_k of that row (0 where none is lower):
    the official code's mask `p < p_k` then top-1, for every k at once through a sorted row."""
    import torch

    ascending, _ = p.sort(dim=1)
    below = torch.searchsorted(ascending.contiguous(), p.contiguous(), right=False)  # how many are < p_k
    lower = ascending.gather(1, (below - 1).clamp_min(0))
    return torch.where(below > 0, lower, torch.zeros_like(lower))


class DualFocal(Loss):
    """L = - sum_k q_k (1 - p_k + p_j(k))^gamma log p_k, p = softmax(s), p_j(k) the largest
    probability below p_k: focal loss's (1 - p_y)^gamma plus the runner-up's probability, so the
    weight stays up while another class is close (the paper's eq. 7; for one-hot q its official
    code, Linwei-Tao/Dual-Focal-Loss-for-Calibration). The paper's gamma = 5 on CIFAR (its Table 13).
    """

    name: Literal["dual_focal"] = "dual_focal"
    gamma: float = Field(5.0, ge=0.0)

    def per_sample(self, scores, targets):
        import torch.nn.functional as F

        log_p = F.log_softmax(scores, dim=1)
        p = log_p.exp()
        weight = (1.0 - p + next_lower(p)) ** self.gamma
        return -(targets * weight * log_p).sum(dim=1)
