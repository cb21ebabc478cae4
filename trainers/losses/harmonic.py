"""The harmonic loss (Baek, Liu, Tegmark, et al., "Harmonic Loss Trains Interpretable AI Models",
2025): classes are centres, a sample's probability of class k falls as a power of its distance to
centre k, and the loss is scale-invariant and has a finite minimum."""

from __future__ import annotations

from typing import ClassVar, Literal

from trainers.losses.cross_entropy import CrossEntropy


class Harmonic(CrossEntropy):
    """L = - sum_k q_k log p_k, p_k = d_k^{-n} / sum_j d_j^{-n}, d_k = ||h - w_k||: CE on the scores
    z_k = -n log d_k of the `harmonic` head (classifier.name harmonic, whose `exponent` is n), so
    p = softmax(z - b) (the paper's harmonic max; its paper has no bias: classifier.bias none).
    Defined on that head only.
    """

    name: Literal["harmonic"] = "harmonic"
    heads: ClassVar[tuple[str, ...]] = ("harmonic",)
