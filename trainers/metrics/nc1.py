"""NC1 and its variants: within-class variability against the separation of the class means.

mu_G = mean_i h_i, mu_k = class means, Mbar = [mu_1 - mu_G, ..., mu_K - mu_G] (d x K),
Sigma_W = (1/N) sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T, Sigma_B = (1/K) Mbar Mbar^T.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainers.metrics.registry import metric, sample_metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import Batch, SplitStats


@metric("nc1", layers=True)
def nc1(s: SplitStats) -> float:
    """(1/K) tr(Sigma_W Sigma_B^+): within-class variability collapse, 0 at NC1 (Papyan, Han, Donoho, PNAS 2020).

    Computed in the K-dimensional span of Mbar instead of with a d x d pseudo-inverse: with
    M = Mbar, (M M^T)^+ = M (M^T M)^{+2} M^T, so (1/K) tr(Sigma_W Sigma_B^+)
    = (1/N) tr(M^T S_W M P^2) with S_W = N Sigma_W (the accumulated scatter) and P = (M^T M)^+.
    """
    import torch

    m = s.mbar
    p = torch.linalg.pinv(m.T @ m, hermitian=True)
    return (torch.trace(m.T @ s.within @ m @ p @ p) / s.n).item()


@metric("cdnv", layers=True)
def cdnv(s: SplitStats) -> float:
    """mean over k != l of (V_k + V_l) / (2 ||mu_k - mu_l||^2), V_k = mean_{y_i = k} ||h_i - mu_k||^2: class-distance
    normalized variance (Galanti, Gyorgy, Hutter, ICLR 2022).

    0 at NC1. The CDNV of a pair bounds how well a nearest-class-centre classifier separates the
    two classes; the transfer-learning literature reports this mean over pairs. NaN when two class
    means coincide (the ratio is undefined or infinite).
    """
    import torch

    variance = s.class_ss / s.counts
    # Differences taken directly (not ||a||^2 + ||b||^2 - 2ab, which cancels for close means).
    distance = torch.cdist(s.mbar.T, s.mbar.T, compute_mode="donot_use_mm_for_euclid_dist").square()
    k = s.num_classes
    off = ~torch.eye(k, dtype=torch.bool, device=distance.device)
    if bool((distance[off] == 0).any()):
        return float("nan")
    ratio = (variance[:, None] + variance[None, :]) / (2 * distance)
    return ratio[off].mean().item()


@sample_metric("compactness", second_pass=True)
def compactness(b: Batch) -> torch.Tensor:
    """mean_i cos(h_i - mu_G, mu_{y_i} - mu_G): 1 when every feature lies on its class mean's direction; higher = more
    compact (Li, Xiao, Shen, ICML 2025)."""
    import torch.nn.functional as F

    return F.cosine_similarity(b.features - b.mu_global, (b.means - b.mu_global)[b.labels], dim=-1, eps=1e-300)
