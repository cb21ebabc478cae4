"""Balanced softmax cross-entropy (Ren, Yu, Sheng, Ma, Zhao, Yi, Li, "Balanced Meta-Softmax for
Long-Tailed Visual Recognition", NeurIPS 2020)."""

from __future__ import annotations

from typing import ClassVar, Literal

from trainers.losses.cross_entropy import CrossEntropy


class BalancedSoftmax(CrossEntropy):
    """L = - sum_k q_k log [ n_k e^{s_k} / sum_j n_j e^{s_j} ] = CE on s + log n, n_k the training
    split's samples of class k (the paper's eq. 4): the softmax of a model trained on the
    long-tailed split, reweighted by the priors it saw. Equal to logit_adjusted with tau = 1 (log n
    and log pi differ by a constant the softmax ignores), derived from a different argument.
    """

    name: Literal["balanced_softmax"] = "balanced_softmax"
    needs_class_counts: ClassVar[bool] = True

    def per_sample(self, scores, targets):
        return super().per_sample(scores + self.class_counts(scores).log(), targets)

    def bias_gradient(self, scores, targets):
        return super().bias_gradient(scores + self.class_counts(scores).log(), targets)
