"""Uniform duality: how evenly each classifier row aligns with its own centred class mean."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainers.metrics.registry import metric

if TYPE_CHECKING:
    from trainers.metrics.split_pass import SplitStats


@metric("unc3")
def unc3(s: SplitStats) -> float:
    """std_k / mean_k of cos(w_k, mu_k - mu_G) (population std): uniform duality, 0 when every class's
    classifier row and centred mean meet at the same angle (Wu & Papyan, "Linguistic Collapse",
    NeurIPS 2024, §3.6).

    The coefficient of variation of the K self-duality cosines (each row with its own class's mean;
    NC3 itself asks those cosines to be 1). NaN when their mean is 0.
    """
    import torch.nn.functional as F

    cosines = F.cosine_similarity(s.weight, s.mbar.T, dim=1, eps=1e-300)
    mean = cosines.mean()
    return (cosines.std(correction=0) / mean).item() if mean != 0 else float("nan")
