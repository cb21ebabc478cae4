"""Taylor cross-entropy (Feng, Shu, Lin, Lv, Li, An, "Can Cross Entropy Loss Be Robust to Label
Noise?", IJCAI 2020). Not the "Taylor softmax" cross-entropy of de Brebisson & Vincent (2016),
which replaces exp in the softmax; this one truncates the loss."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss


class TaylorCrossEntropy(Loss):
    """L = sum_k q_k sum_{i=1}^{t} (1 - p_k)^i / i, p = softmax(s): the order-t Taylor series of
    -log p_k about p_k = 1 (the paper's eq. 8). t = 1 is MAE's 1 - p_y; t -> infinity is CE. Every
    finite t is bounded (by H_t, the t-th harmonic number), which is what makes it robust to wrong
    labels; the paper trains with t = 2 on CIFAR-10 and t = 6 or more on CIFAR-100.
    """

    name: Literal["taylor_ce"] = "taylor_ce"
    order: int = Field(2, ge=1, le=1000)  # the paper's t

    def per_sample(self, scores, targets):
        miss = 1.0 - scores.softmax(dim=1)
        series = sum(miss**i / i for i in range(1, self.order + 1))
        return (targets * series).sum(dim=1)
