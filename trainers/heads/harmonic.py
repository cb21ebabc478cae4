"""The distance head of the harmonic loss (Baek et al., "Harmonic Loss Trains Interpretable AI
Models", 2025): each class is a centre w_k in feature space, and its score falls with the log of
the distance to it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.heads.base import Head

# Inside the log, so that a feature exactly on its centre scores finitely (|h - w|^2 + eps).
_EPS = 1e-12


class HarmonicHead(Head):
    """z_k = -(n / 2) log(||h - w_k||^2 + eps) = -n log d_k, s_k = z_k - b_k: softmax(z) is the
    paper's harmonic max d_k^{-n} / sum_j d_j^{-n}. n (`exponent`) defaults to sqrt(d), the paper's
    advice for d-dimensional features; W (the centres) starts as torch's Linear init. The squared
    distances expand as |h|^2 + |w|^2 - 2 h.w (no N x K x d tensor), clamped at 0 against rounding.
    """

    name: Literal["harmonic"] = "harmonic"
    exponent: float | None = Field(None, gt=0.0)  # n; None: sqrt(feature dim)

    def bias_free(self, weight, scale, features):
        squared = (
            (features * features).sum(dim=1, keepdim=True)
            + (weight * weight).sum(dim=1).unsqueeze(0)
            - 2.0 * features @ weight.T
        ).clamp_min(0.0)
        n = self.exponent if self.exponent is not None else weight.shape[1] ** 0.5
        return -(n / 2.0) * (squared + _EPS).log()
