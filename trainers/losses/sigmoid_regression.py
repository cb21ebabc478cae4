"""Absolute and square errors of per-class sigmoid probabilities: the `mae` and `mae + mse` losses
of seed 002, a reader's notes on Zhao et al. (Well-Classified Examples are Underestimated in
Classification with Deep Neural Networks, AAAI 2022), which compares them with CE. The notes say
MAE does not appear in that paper; MAE as a classification loss is Ghosh, Kumar and Sastry (Robust
Loss Functions under Label Noise for Deep Neural Networks, AAAI 2017), there on softmax
probabilities, here per class on sigmoids as in seed 002."""

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
