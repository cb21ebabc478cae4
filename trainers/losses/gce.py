"""Generalized cross-entropy (Zhang and Sabuncu, "Generalized Cross Entropy Loss for Training Deep
Neural Networks with Noisy Labels", NeurIPS 2018)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss


class GeneralizedCrossEntropy(Loss):
    """L = sum_k q_k (1 - p_k^q) / q, p = softmax(s): the negative Box-Cox transform of p_y
    (the paper's L_q, eq. 5). q -> 0 is CE (-log p_y), q = 1 is MAE on the softmax, 1 - p_y
    (half of sum_k |p_k - e_yk|): q trades CE's fast fitting for MAE's robustness to wrong
    labels. The paper's q = 0.7.
    """

    name: Literal["gce"] = "gce"
    q: float = Field(0.7, gt=0.0, le=1.0)

    def per_sample(self, scores, targets):
        import torch
        import torch.nn.functional as F

        # (1 - p^q) / q = -expm1(q log p) / q: exact as q -> 0, where 1 - p^q would cancel.
        return -(targets * torch.expm1(self.q * F.log_softmax(scores, dim=1))).sum(dim=1) / self.q
