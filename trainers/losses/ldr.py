"""Label-distributionally robust loss, LDR-KL (Zhu, Ying, Yang, "Label Distributionally Robust
Losses for Multi-class Classification: Consistency, Robustness and Adaptivity", ICML 2023)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from trainers.losses.base import Loss


class LDRKL(Loss):
    """L = lambda log( (1/K) sum_k exp( (c (1 - q_k) + u_k - sum_j q_j u_j) / lambda ) ), u = softplus(s) / mean_k
    softplus(s_k): the worst case over label distributions of the margin-shifted score differences, a KL ball of
    strength lambda around the uniform one (the paper's eq. 4, LDR-KL): lambda -> 0 is the Crammer-Singer hinge,
    lambda -> infinity the mean margin. As its official code computes it (LibAUC's `LDRLoss_V1`): the scores are
    first made positive and scale-free (softplus, divided by their row mean), the margin c is `threshold`.
    Defaults: c = 2, lambda = 1 (LDRLoss_V1's). The adaptive ALDR-KL (one lambda per sample, updated each step) is
    not here.
    """

    name: Literal["ldr"] = "ldr"
    threshold: float = Field(2.0, ge=0.0)  # the margin c
    lambda_: float = Field(1.0, gt=0.0, alias="lambda")

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    def per_sample(self, scores, targets):
        import math

        import torch
        import torch.nn.functional as F

        u = F.softplus(scores)
        # The row mean floored at the smallest normal number: with every score far below zero each
        # softplus underflows to 0, and the official code's 0 / 0 is NaN; here u = 0, the loss finite.
        u = u / u.mean(dim=1, keepdim=True).clamp_min(torch.finfo(u.dtype).tiny)
        diff = self.threshold * (1.0 - targets) + u - (u * targets).sum(dim=1, keepdim=True)
        return self.lambda_ * (diff / self.lambda_).logsumexp(dim=1) - self.lambda_ * math.log(scores.shape[1])
