"""Absolute and square errors of per-class sigmoid probabilities, the `mae` and `mae + mse` losses
compared with CE in seed 002 (Zhao et al., Well-Classified Examples are Underestimated in
Classification with Deep Neural Networks. AAAI 2022, section on gradients w.r.t. p = sigma(s))."""

from __future__ import annotations

from typing import Literal

from trainers.losses.base import Loss


class SigmoidMAE(Loss):
    """L = sum_k |sigma(s_k) - q_k|. Its gradient sign(p - q) p (1 - p) vanishes linearly as
    p -> q, like BCE's."""

    name: Literal["mae"] = "mae"

    def per_sample(self, scores, targets):
        return (scores.sigmoid() - targets).abs().sum(dim=1)


class SigmoidMAEMSE(Loss):
    """L = sum_k |sigma(s_k) - q_k| + (sigma(s_k) - q_k)^2 (seed 002's "mae + mse")."""

    name: Literal["mae_mse"] = "mae_mse"

    def per_sample(self, scores, targets):
        error = scores.sigmoid() - targets
        return (error.abs() + error.square()).sum(dim=1)
