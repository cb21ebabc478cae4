"""The two losses of the paper on soft targets q (PAPER.md section 2), and their bias gradients.

Both are summed over the K classes and averaged over the batch. torch's BCE default
(`reduction="mean"`) would also divide by K and so change the effective learning rate by K.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def soft_targets(labels: torch.Tensor, num_classes: int, smoothing: float = 0.0, dtype: torch.dtype | None = None) -> torch.Tensor:
    """q = (1 - eps) one_hot(y) + eps / K (equals the official code's BCE smoothing term)."""
    q = F.one_hot(labels, num_classes).to(dtype or torch.get_default_dtype())
    return q * (1.0 - smoothing) + smoothing / num_classes if smoothing else q


def cross_entropy(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample CE: L = - sum_k q_k log softmax(s)_k, computed through log-softmax (no overflow)."""
    return -(targets * F.log_softmax(scores, dim=1)).sum(dim=1)


def binary_cross_entropy(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample BCE: L = sum_k [ q_k log(1 + e^{-s_k}) + (1 - q_k) log(1 + e^{s_k}) ].

    torch's `binary_cross_entropy_with_logits` is exactly this term, in its overflow-safe form.
    """
    return F.binary_cross_entropy_with_logits(scores, targets, reduction="none").sum(dim=1)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "ce": cross_entropy,
    "bce": binary_cross_entropy,
}


def bias_gradient(name: str, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample dL/db_k (N x K), closed form, with the minus sign of s = z - b already in.

    bce: q_k sigma(-s_k) - (1 - q_k) sigma(s_k);  ce: q_k - softmax(s)_k.
    """
    if name == "bce":
        return targets * torch.sigmoid(-scores) - (1.0 - targets) * torch.sigmoid(scores)
    if name == "ce":
        return targets - torch.softmax(scores, dim=1)
    raise ValueError(f"unknown loss {name!r}; allowed: {sorted(LOSSES)}")
