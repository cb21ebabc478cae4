"""Square losses on the scores (Hui and Belkin, Evaluation of Neural Architectures Trained with
Square Loss vs Cross-Entropy in Classification Tasks. ICLR 2021)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss


class Square(Loss):
    """L = sum_k c_k (s_k - m q_k)^2, c_k = k on the true class (q_k = max_j q_j), 1 elsewhere.

    `k` and `m` are Hui and Belkin's rescaling for many classes (they use k = 1, m = 1 up to ~40
    classes and larger values beyond). They average over classes; we sum like `bce`, a factor
    1/K in the effective learning rate.
    """

    name: Literal["mse"] = "mse"
    k: float = Field(1.0, gt=0.0)
    m: float = Field(1.0, gt=0.0)

    def per_sample(self, scores, targets):
        true_class = targets == targets.amax(dim=1, keepdim=True)
        weight = 1.0 + (self.k - 1.0) * true_class.to(scores.dtype)
        return (weight * (scores - self.m * targets).square()).sum(dim=1)
