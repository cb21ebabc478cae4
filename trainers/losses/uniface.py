"""UniFace, the unified cross-entropy loss (Zhou, Ma, Wang, Zhang, Shen, Xu, Li, Wang, "UniFace:
Unified Cross-Entropy Loss for Deep Face Recognition", ICCV 2023): the BCE of face recognition
with one threshold shared by every class, which the BCE vs CE paper cites for its face results."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field

from trainers.losses.base import Loss
from trainers.losses.cosface import cosine_margin


class UniFace(Loss):
    """L = sum_k [ q_k log(1 + e^{-s'_k}) + lambda (1 - q_k) log(1 + e^{s'_k}) ], s'_k =
    scale (cos theta_k - m [k = y]) - b, each s' clipped to [-scale, scale] before the log: the
    paper's UCE loss with its cosine margin (eq. 11), as its official code computes it
    (CVI-SZU/UniFace, head.py, `Unified_Cross_Entropy_Loss`, whose `l` is lambda, the negatives'
    weight, default 1). The paper's b is one unified threshold (classifier.bias: unified) that
    starts at log(10 K) (`bias_init: official`; `head` keeps the head's init); scale 64 and m = 0.4
    for face identities (classifier.scale).
    """

    name: Literal["uniface"] = "uniface"
    needs_cosine: ClassVar[bool] = True
    margin: float = Field(0.4, ge=0.0, lt=2.0)  # in cosine units, on the target only
    negative_weight: float = Field(1.0, gt=0.0)  # lambda
    bias_init: Literal["official", "head"] = "official"

    def initial_bias(self, num_classes):
        return math.log(10.0 * num_classes) if self.bias_init == "official" else None

    def with_margin(self, bias_free, targets, scale, geometry=None):
        return cosine_margin(bias_free, targets, scale, self.margin)

    def margined(self, bias_free, bias, targets, scale, geometry=None):
        # The official clip of s' at +-scale, after the threshold: past it the loss is flat, as there.
        return super().margined(bias_free, bias, targets, scale, geometry).clamp(-scale, scale)

    def per_sample(self, scores, targets):
        import torch.nn.functional as F

        positive = targets * F.softplus(-scores)
        negative = (1.0 - targets) * F.softplus(scores)
        return (positive + self.negative_weight * negative).sum(dim=1)
