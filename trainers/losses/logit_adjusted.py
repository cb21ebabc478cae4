"""Logit-adjusted softmax cross-entropy (Menon, Jayasumana, Rawat, Jain, Veit, Kumar, "Long-tail
learning via logit adjustment", ICLR 2021)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from trainers.losses.cross_entropy import CrossEntropy


class LogitAdjusted(CrossEntropy):
    """L = - sum_k q_k log softmax(s + tau log pi)_k, pi_k = n_k / sum_j n_j the training split's
    class priors: rare classes must win by a larger score margin during training, so at test time
    (plain argmax of s) the classifier is not biased toward the frequent ones (the paper's eq. 10,
    tau = 1 its default). The counts come from the data at setup.
    """

    name: Literal["logit_adjusted"] = "logit_adjusted"
    needs_class_counts: ClassVar[bool] = True
    tau: float = Field(1.0, ge=0.0)

    def adjusted(self, scores):
        counts = self.class_counts(scores)
        return scores + self.tau * (counts / counts.sum()).log()

    def per_sample(self, scores, targets):
        return super().per_sample(self.adjusted(scores), targets)

    def bias_gradient(self, scores, targets):
        return super().bias_gradient(self.adjusted(scores), targets)
