"""Squentropy (Hui, Belkin, Wright. Cut your Losses with Squentropy. ICML 2023; seed 004)."""

from __future__ import annotations

from typing import Literal

from trainers.losses.base import Loss


class Squentropy(Loss):
    """L = CE + sum_k (1 - q_k) s_k^2 / (K - 1): cross-entropy plus the average square of the
    scores of the incorrect classes."""

    name: Literal["squentropy"] = "squentropy"

    def per_sample(self, scores, targets):
        import torch.nn.functional as F

        k = scores.shape[1]
        ce = -(targets * F.log_softmax(scores, dim=1)).sum(dim=1)
        return ce + ((1.0 - targets) * scores.square()).sum(dim=1) / (k - 1)
