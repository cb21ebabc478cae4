"""The geometry of the class means and the classifier against a simplex equiangular tight frame.

Mbar = [mu_1 - mu_G, ..., mu_K - mu_G] (d x K) are the centred class means, w_k the classifier
rows; E = (I_K - 11^T/K) / sqrt(K - 1) is the Gram matrix of a simplex ETF scaled to unit
Frobenius norm. At a simplex ETF every ETF distance, equinorm, equiangular and maxangle value is
0, and every pairwise cosine is -1/(K - 1).
Sources: Papyan, Han, Donoho, PNAS 2020 (NC2 and its Figs. 2-4); Zhu et al., NeurIPS 2021 (the
ETF-distance forms); Li, Xiao, Shen, ICML 2025 (nc3 with the centred W, distinctiveness);
Liu et al., ICLR 2023 (hyperspherical uniformity).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from trainers.metrics.registry import metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import SplitStats


def simplex_etf(num_classes: int, dtype=None):
    """E = (I_K - (1/K) 1 1^T) / sqrt(K - 1): the Gram matrix of a simplex ETF, unit Frobenius norm."""
    import torch

    k, dtype = num_classes, dtype or torch.float64
    return (torch.eye(k, dtype=dtype) - torch.full((k, k), 1.0 / k, dtype=dtype)) / math.sqrt(k - 1)


def etf_distance(gram: torch.Tensor) -> float:
    """|| G / ||G||_F - E ||_F for a K x K matrix G: 0 iff G is a positive multiple of E."""
    import torch

    etf = simplex_etf(gram.shape[0], gram.dtype).to(gram.device)
    return torch.linalg.matrix_norm(gram / torch.linalg.matrix_norm(gram) - etf).item()


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-300)


def pair_cosines(rows: torch.Tensor) -> torch.Tensor:
    """The K(K-1) cosines cos(r_k, r_l), k != l, of the rows of a K x d matrix."""
    import torch

    unit = unit_rows(rows)
    cos = unit @ unit.T
    return cos[~torch.eye(cos.shape[0], dtype=torch.bool, device=cos.device)]


def coefficient_of_variation(values: torch.Tensor) -> float:
    """std / mean (population std)."""
    return (values.std(correction=0) / values.mean()).item()


@metric("nc2_w", label="nc2 (classifier)")
def nc2_w(s: SplitStats) -> float:
    """|| W W^T / ||W W^T||_F - E ||_F: the classifier rows form a simplex ETF (Zhu et al., NeurIPS 2021)."""
    return etf_distance(s.weight @ s.weight.T)


@metric("nc2_h", layers=True, label="nc2 (features)")
def nc2_h(s: SplitStats) -> float:
    """|| Mbar^T Mbar / ||Mbar^T Mbar||_F - E ||_F: the centred class means form a simplex ETF (Zhu et al., NeurIPS
    2021)."""
    return etf_distance(s.mbar.T @ s.mbar)


@metric("nc3")
def nc3(s: SplitStats) -> float:
    """|| Wbar Mbar / ||Wbar Mbar||_F - E ||_F, Wbar = W minus its mean row: self-duality, the BCE paper's variant (Li,
    Xiao, Shen, ICML 2025)."""
    return etf_distance((s.weight - s.weight.mean(dim=0, keepdim=True)) @ s.mbar)


@metric("nc3_zhu", label="nc3 (Zhu)")
def nc3_zhu(s: SplitStats) -> float:
    """|| W Mbar / ||W Mbar||_F - E ||_F: self-duality with W itself (Zhu et al., NeurIPS 2021)."""
    return etf_distance(s.weight @ s.mbar)


@metric("distinctiveness")
def distinctiveness(s: SplitStats) -> float:
    """mean over k != l of cos(mu_k - mu_G, mu_l - mu_G): lower = more distinct classes, minimum -1/(K-1) at a simplex
    ETF (Li, Xiao, Shen, ICML 2025)."""
    return pair_cosines(s.mbar.T).mean().item()


@metric("equinorm_h", label="equinorm (features)")
def equinorm_h(s: SplitStats) -> float:
    """std_k / mean_k of ||mu_k - mu_G||: the centred class means have equal norms at 0 (Papyan, Han, Donoho, PNAS 2020,
    Fig. 2)."""
    return coefficient_of_variation(s.mbar.norm(dim=0))


@metric("equinorm_w", label="equinorm (classifier)")
def equinorm_w(s: SplitStats) -> float:
    """std_k / mean_k of ||w_k||: the classifier rows have equal norms at 0 (Papyan, Han, Donoho, PNAS 2020, Fig. 2)."""
    return coefficient_of_variation(s.weight.norm(dim=1))


@metric("equiangular_h", label="equiangular (features)")
def equiangular_h(s: SplitStats) -> float:
    """std over k != l of cos(mu_k - mu_G, mu_l - mu_G) (population std): equal angles at 0 (Papyan, Han, Donoho, PNAS
    2020, Fig. 3)."""
    return pair_cosines(s.mbar.T).std(correction=0).item()


@metric("equiangular_w", label="equiangular (classifier)")
def equiangular_w(s: SplitStats) -> float:
    """std over k != l of cos(w_k, w_l) (population std): equal classifier angles at 0 (Papyan, Han, Donoho, PNAS 2020,
    Fig. 3)."""
    return pair_cosines(s.weight).std(correction=0).item()


@metric("maxangle_h", label="maxangle (features)")
def maxangle_h(s: SplitStats) -> float:
    """mean over k != l of |cos(mu_k - mu_G, mu_l - mu_G) + 1/(K-1)|: 0 at the largest possible equal angle (Papyan,
    Han, Donoho, PNAS 2020, Fig. 4)."""
    return (pair_cosines(s.mbar.T) + 1.0 / (s.num_classes - 1)).abs().mean().item()


@metric("maxangle_w", label="maxangle (classifier)")
def maxangle_w(s: SplitStats) -> float:
    """mean over k != l of |cos(w_k, w_l) + 1/(K-1)|: 0 at the largest possible equal angle (Papyan, Han, Donoho, PNAS
    2020, Fig. 4)."""
    return (pair_cosines(s.weight) + 1.0 / (s.num_classes - 1)).abs().mean().item()


@metric("gnc2_h", label="gnc2 (features)")
def gnc2_h(s: SplitStats) -> float:
    """mean over k < l of log(1 / ||u_k - u_l||), u_k = (mu_k - mu_G) / ||mu_k - mu_G||: hyperspherical uniformity,
    lower = more uniform, -log(2K/(K-1))/2 at a simplex ETF (Liu et al., ICLR 2023).

    The logarithmic energy of the normalized centred class means (the GNC2 of Liu, Yu, Weller,
    Schoelkopf, "Generalizing and Decoupling Neural Collapse via Hyperspherical Uniformity Gap").
    NaN where it is undefined or infinite: a class mean at the global mean (no direction), or two
    directions that coincide (e.g. a dead network whose features are all zero).
    """
    import torch

    centred = s.mbar.T
    unit = unit_rows(centred)
    # Differences taken directly: 2 - 2 cos loses the digits of near-identical directions.
    distance = torch.cdist(unit, unit, compute_mode="donot_use_mm_for_euclid_dist")
    pairs = distance[torch.triu(torch.ones_like(distance, dtype=torch.bool), diagonal=1)]
    if bool((centred.norm(dim=1) == 0).any()) or bool((pairs == 0).any()):
        return math.nan
    return (-pairs.log()).mean().item()
