"""Threshold-free comparisons of two sets of scores, the numbers open-set recognition and
out-of-distribution detection report: AUROC, FPR at a TPR, and the open-set classification rate.
Higher scores mean "inside" (a known class, the training distribution). Pure functions of 1-D
tensors, O(n log n) by one sort."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _tie_ranks(scores: torch.Tensor) -> torch.Tensor:
    """1-based ranks of `scores` in ascending order, tied values sharing their average rank."""
    import torch

    values, inverse, counts = torch.unique(scores, sorted=True, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).to(torch.float64)
    average = ends - (counts.to(torch.float64) - 1) / 2
    return average[inverse]


def auroc(inside: torch.Tensor, outside: torch.Tensor) -> float:
    """P(s_in > s_out) + P(s_in = s_out) / 2 over all pairs, = U / (n m) with Mann-Whitney's U from
    the ranks of the pooled scores (ties averaged): the area under the ROC curve that treats
    "inside" as the positive class (Hanley & McNeil, Radiology 1982). NaN when a side is empty."""
    import torch

    n, m = inside.numel(), outside.numel()
    if n == 0 or m == 0:
        return math.nan
    ranks = _tie_ranks(torch.cat([inside, outside]).double())
    u = ranks[:n].sum() - n * (n + 1) / 2
    return float(u / (n * m))


def fpr_at_tpr(inside: torch.Tensor, outside: torch.Tensor, tpr: float = 0.95) -> float:
    """The share of outside scores >= t, for t the largest threshold that keeps at least `tpr` of
    the inside scores (t = the ceil(tpr n)-th largest inside score): FPR at 95% TPR as OOD
    benchmarks report it (Liang et al., ICLR 2018; OpenOOD's first ROC point with TPR >= 0.95)."""
    import torch

    n = inside.numel()
    if n == 0 or outside.numel() == 0:
        return math.nan
    k = max(math.ceil(tpr * n - 1e-9), 1)
    threshold = torch.topk(inside.double(), k).values[-1]
    return float((outside.double() >= threshold).double().mean())


def oscr(inside: torch.Tensor, correct: torch.Tensor, outside: torch.Tensor) -> float:
    """The open-set classification rate (Dhamija, Guenther, Boult, NeurIPS 2018): the area under the
    curve of CCR(t) = #[known, correctly classified, s >= t] / N_known against FPR(t) =
    #[unknown, s >= t] / N_unknown as t falls from above every score to below all, by trapezoids
    from (0, 0) to (1, closed-set accuracy). 1 only for a classifier that is always right and
    scores every known sample above every unknown one."""
    import torch

    n, m = inside.numel(), outside.numel()
    if n == 0 or m == 0:
        return math.nan
    scores = torch.cat([inside, outside]).double()
    right = torch.cat([correct.double(), torch.zeros(m, dtype=torch.float64, device=correct.device)])
    unknown = torch.cat([torch.zeros(n, dtype=torch.float64, device=scores.device), scores.new_ones(m)])
    order = torch.argsort(scores, descending=True, stable=True)
    s = scores[order]
    last = torch.cat([s[1:] != s[:-1], torch.ones(1, dtype=torch.bool, device=s.device)])  # a tie group's end
    ccr = torch.cat([s.new_zeros(1), right[order].cumsum(0)[last] / n])
    fpr = torch.cat([s.new_zeros(1), unknown[order].cumsum(0)[last] / m])
    return float(torch.trapezoid(ccr, fpr))
