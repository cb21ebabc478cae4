"""The 1.5-entmax loss (Peters, Niculae, Martins, "Sparse Sequence-to-Sequence Models", ACL 2019):
between softmax (alpha = 1) and sparsemax (alpha = 2), sparse yet smooth."""

from __future__ import annotations

from typing import Literal

from trainers.losses.base import Loss
from trainers.losses.sparsemax import fenchel_young


def entmax15(s):
    """1.5-entmax: p = max(s/2 - tau, 0)^2 with tau such that sum p = 1, found exactly by sorting
    (the paper's Algorithm 2): for the top k of z = s/2, tau_k = mean_k - sqrt((1 - k (msq_k - mean_k^2)) / k),
    and the support is the largest k with tau_k <= z_(k)."""
    import torch

    z = (s - s.max(dim=1, keepdim=True).values) / 2.0
    ordered, _ = z.sort(dim=1, descending=True)
    k = torch.arange(1, z.shape[1] + 1, device=z.device, dtype=z.dtype)
    mean = ordered.cumsum(dim=1) / k
    mean_sq = (ordered**2).cumsum(dim=1) / k
    delta = ((1.0 - k * (mean_sq - mean**2)) / k).clamp(min=0.0)
    tau = mean - delta.sqrt()
    support = (tau <= ordered).sum(dim=1, keepdim=True)
    return (z - tau.gather(1, support - 1)).clamp(min=0.0) ** 2


class Entmax15(Loss):
    """L = <p* - q, s> + H_1.5(p*) - H_1.5(q), p* = 1.5-entmax(s), H_1.5 the Tsallis entropy
    (1 - sum p^1.5) / 0.75: the Fenchel-Young loss of 1.5-entmax. Equals the `entmax` package's
    Entmax15Loss (its authors' code)."""

    name: Literal["entmax15"] = "entmax15"

    def per_sample(self, scores, targets):
        return fenchel_young(scores, targets, entmax15(scores), 1.5)
