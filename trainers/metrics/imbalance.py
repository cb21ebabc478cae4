"""Minority collapse under class imbalance (Fang, He, Long, Su, "Exploring deep neural networks via
layer-peeled model: minority collapse in imbalanced training", PNAS 2021): the classifier rows of
the rare classes fold onto each other and shrink as the imbalance grows. Defined on a split whose
largest class has at least IMBALANCE times the samples of its smallest (its labels' counts n_k),
NaN elsewhere: the 1% differences of a nearly balanced split (digits) say nothing about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainers.metrics.registry import metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import SplitStats


IMBALANCE = 2.0  # max_k n_k / min_k n_k from which a split counts as imbalanced


def imbalanced(counts) -> bool:
    return float(counts.max()) >= IMBALANCE * float(counts.min())


def minority(counts: torch.Tensor) -> torch.Tensor:
    """The minority classes, n_k < max_j n_j / IMBALANCE (with 5 classes of 500 and 5 of 50 the 5 of
    50; under a long tail, the tail), as a boolean mask."""
    return counts < counts.max() / IMBALANCE


@metric("minority_cos_w", only="class imbalance")
def minority_cos_w(s: SplitStats) -> float:
    """mean over minority pairs k != l of cos(w_k, w_l): 1 at minority collapse, -1/(K-1) at a simplex
    ETF (Fang et al., PNAS 2021); minority = n_k < max_j n_j / 2 (NaN with fewer than 2)."""
    import torch.nn.functional as F

    rows = F.normalize(s.weight[minority(s.counts)], dim=1)
    m = rows.shape[0]
    if m < 2:
        return float("nan")
    cosines = rows @ rows.T
    return ((cosines.sum() - cosines.diagonal().sum()) / (m * (m - 1))).item()


@metric("norm_count_corr", only="class imbalance")
def norm_count_corr(s: SplitStats) -> float:
    """Spearman's rank correlation of ||w_k|| with n_k over the classes: near 1 when the classifier
    norms grow with class size (Fang et al., PNAS 2021; Kang et al., ICLR 2020); NaN on a split that
    is not imbalanced (max n_k < 2 min n_k) or whose rows all have one norm."""
    from scipy.stats import spearmanr

    counts, norms = s.counts.cpu().numpy(), s.weight.norm(dim=1).cpu().numpy()
    if not imbalanced(counts) or norms.min() == norms.max():
        return float("nan")
    return float(spearmanr(norms, counts).statistic)
