"""Per-class sigmoid binary cross-entropy, the paper's `bce` (docs/science.md#losses)."""

from __future__ import annotations

from typing import Literal

from trainers.losses.base import Loss


class BinaryCrossEntropy(Loss):
    """L = sum_k [ q_k log(1 + e^{-s_k}) + (1 - q_k) log(1 + e^{s_k}) ].

    Summed over the K classes: torch's default `reduction="mean"` would also divide by K and so
    change the effective learning rate by K. `binary_cross_entropy_with_logits` is exactly this
    term, in its overflow-safe form.
    """

    name: Literal["bce"] = "bce"

    def per_sample(self, scores, targets):
        import torch.nn.functional as F

        return F.binary_cross_entropy_with_logits(scores, targets, reduction="none").sum(dim=1)

    def bias_gradient(self, scores, targets):
        """Closed form dL/db_k = q_k sigma(-s_k) - (1 - q_k) sigma(s_k)."""
        return targets * (-scores).sigmoid() - (1.0 - targets) * scores.sigmoid()
