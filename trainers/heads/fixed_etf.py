"""A fixed simplex-ETF classifier (Zhu et al., A Geometric Analysis of Neural Collapse with
Unconstrained Features, NeurIPS 2021): the classic neural-collapse control, the classifier frozen
at the geometry NC2 says a trained one reaches, only the features and the bias learn."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field

from trainers.heads.base import Head


class FixedETF(Head):
    """W frozen to a simplex ETF: rows sqrt(K/(K-1)) (e_k - 1/K), unit norm, in the first K feature coordinates, times
    `scale`; s_k = w_k . h - b_k, b learned.

    This is what the official code's `--ETF_fc` builds (models/resnet.py): the ETF matrix, its rows
    rescaled to norm 1, placed in R^d by the K x d identity, requires_grad off. There the flag has
    no effect, because the code's classifier is not an nn.Linear; here it is the head. Needs
    d >= K features.
    """

    name: Literal["fixed_etf"] = "fixed_etf"
    trains_weight: ClassVar[bool] = False
    scale: float = Field(1.0, gt=0.0)  # the norm of every row

    def initial_weight(self, feature_dim, num_classes):
        import torch

        k = num_classes
        if feature_dim < k:
            raise ValueError(
                f"classifier.name 'fixed_etf' needs at least as many features as classes: {feature_dim} "
                f"features, {k} classes"
            )
        etf = math.sqrt(k / (k - 1)) * (torch.eye(k) - torch.full((k, k), 1.0 / k))
        etf = etf / etf.norm(dim=1, keepdim=True)
        return self.scale * etf @ torch.eye(k, feature_dim)

    def bias_free(self, weight, scale, features):
        return features @ weight.T
