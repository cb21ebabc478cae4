"""Softmax cross-entropy, the paper's `ce` (docs/science.md#losses)."""

from __future__ import annotations

from typing import Literal

from trainers.losses.base import Loss


class CrossEntropy(Loss):
    """L = - sum_k q_k log softmax(s)_k, through log-softmax (no overflow)."""

    name: Literal["ce"] = "ce"

    def per_sample(self, scores, targets):
        import torch.nn.functional as F

        return -(targets * F.log_softmax(scores, dim=1)).sum(dim=1)

    def bias_gradient(self, scores, targets):
        """Closed form dL/db_k = q_k - softmax(s)_k (the minus sign of s = z - b is in)."""
        return targets - scores.softmax(dim=1)
