"""How many directions the features and the classifier use: effective rank (RankMe) and stable rank.

Collapse to a simplex ETF leaves the centred class means in K - 1 dimensions, so a collapsed
penultimate layer has an effective rank of at most K however wide it is (the features are not
centred: the global mean adds its direction); RankMe also predicts how well a
representation transfers (Garrido, Balestriero, Najman, LeCun, "RankMe: Assessing the Downstream
Performance of Pretrained Self-Supervised Representations by Their Rank", ICML 2023). The stable
rank ||A||_F^2 / ||A||_2^2 is the smooth lower bound of the rank (Rudelson & Vershynin, 2007).

The singular values of the N x d features come from the streamed statistics: sigma_k^2 are the
eigenvalues of H^T H = within + sum_k n_k mu_k mu_k^T, never the N x d matrix. A Gram matrix holds
sigma_k^2 to about d eps sigma_max^2, so singular values below sqrt(d eps) sigma_max count as 0,
here and in the direct computation of reference.py alike.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from trainers.metrics.registry import metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import SplitStats

EPS = 1e-7  # RankMe's epsilon inside the entropy (the paper's)


def kept(squared: torch.Tensor) -> torch.Tensor:
    """Singular values from their squares (eigenvalues of a Gram matrix), those below the Gram's
    precision sqrt(d eps) sigma_max set to 0."""
    import torch

    squared = squared.clamp_min(0)
    floor = squared.max() * squared.numel() * torch.finfo(squared.dtype).eps
    return torch.where(squared > floor, squared, torch.zeros_like(squared)).sqrt()


def rankme(sigma: torch.Tensor) -> float:
    """exp(-sum_k p_k log p_k), p_k = sigma_k / ||sigma||_1 + eps: RankMe (Garrido et al. 2023, eq. 1)."""
    p = sigma / sigma.sum() + EPS
    return math.exp(-(p * p.log()).sum().item())


def stable_rank(sigma: torch.Tensor) -> float:
    """sum_k sigma_k^2 / max_k sigma_k^2 = ||A||_F^2 / ||A||_2^2."""
    squared = sigma.square()
    return (squared.sum() / squared.max()).item()


def feature_sigma(s: SplitStats) -> torch.Tensor:
    return kept(s.gram_eigenvalues)


def weight_sigma(s: SplitStats) -> torch.Tensor:
    import torch

    return kept(torch.linalg.eigvalsh(s.weight @ s.weight.T))


@metric("rankme_h", layers=True, label="rankme (features)")
def rankme_h(s: SplitStats) -> float:
    """RankMe of the N x d features: exp of the entropy of their normalized singular values (Garrido et al., ICML
    2023); at a collapse to a simplex ETF at most K are nonzero (the centred means' K - 1, the global mean's)."""
    return rankme(feature_sigma(s))


@metric("stable_rank_h", label="stable rank (features)")
def stable_rank_h(s: SplitStats) -> float:
    """||H||_F^2 / ||H||_2^2 of the N x d features: the stable rank (Rudelson & Vershynin 2007)."""
    return stable_rank(feature_sigma(s))


@metric("rankme_w", label="rankme (classifier)")
def rankme_w(s: SplitStats) -> float:
    """RankMe of the K x d classifier W (Garrido et al., ICML 2023)."""
    return rankme(weight_sigma(s))


@metric("stable_rank_w", label="stable rank (classifier)")
def stable_rank_w(s: SplitStats) -> float:
    """||W||_F^2 / ||W||_2^2 of the K x d classifier: its stable rank."""
    return stable_rank(weight_sigma(s))
