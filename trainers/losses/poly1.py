"""Poly-1 (Leng, Tan, Liu, Cubuk, Shi, Cheng, Anguelov, Tan. PolyLoss: A Polynomial Expansion
Perspective of Classification Loss Functions. ICLR 2022)."""

from __future__ import annotations

from typing import Literal

from trainers.losses.base import Loss


class Poly1(Loss):
    """L = CE + epsilon (1 - sum_k q_k p_k), p = softmax(s): CE with its first polynomial term
    re-weighted. epsilon = 0 is `ce`. The default here is 1 (docs/science.md); the paper's ImageNet
    setting, and timm's, is epsilon = 2."""

    name: Literal["poly1"] = "poly1"
    epsilon: float = 1.0

    def per_sample(self, scores, targets):
        import torch.nn.functional as F

        log_p = F.log_softmax(scores, dim=1)
        return -(targets * log_p).sum(dim=1) + self.epsilon * (1.0 - (targets * log_p.exp()).sum(dim=1))
