"""Under label noise (data.label_noise): how the classifier does on the true labels of the samples
it trained on, and how many of the corrupted ones it memorized.

The train split's other metrics use the labels the model was trained on (the noisy ones), as the
memorization literature does (Zhang et al., "Understanding deep learning requires rethinking
generalization", ICLR 2017; Arpit et al., ICML 2017); these two read the clean labels beside them.
Both are NaN on a split without noise (the test split, or a trial without data.label_noise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainers.metrics.registry import sample_metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import Batch, SplitStats


@sample_metric("clean_acc", only="label noise")
def clean_accuracy(b: Batch) -> torch.Tensor | None:
    """mean_i [ argmax_k S_ik = y_i^clean ]: accuracy against the labels before the noise (NaN without label noise)."""
    if b.clean_labels is None:
        return None
    return b.scores.argmax(dim=1) == b.clean_labels


def _fitted_share(mean, s: SplitStats) -> float:
    fitted, noisy = mean.tolist()
    return fitted / noisy if noisy > 0 else float("nan")


@sample_metric("noisy_fit", finish=_fitted_share, only="label noise")
def noisy_fit(b: Batch) -> torch.Tensor | None:
    """sum_i [ y_i != y_i^clean and argmax_k S_ik = y_i ] / sum_i [ y_i != y_i^clean ]: the share of corrupted labels
    the classifier fits (memorization; NaN without noise)."""
    import torch

    if b.clean_labels is None:
        return None
    noisy = b.labels != b.clean_labels
    fitted = noisy & (b.scores.argmax(dim=1) == b.labels)
    return torch.stack([fitted, noisy], dim=1)


def _ratio(mean, s: SplitStats) -> float:
    total, count = mean.tolist()
    return total / count if count > 0 else float("nan")


def _nc1_shares(b: Batch, corrupted: bool) -> torch.Tensor | None:
    """(v_i [i in the group], [i in the group]) with v_i = ||P Mbar^T (h_i - mu_{y_i})||^2, the
    sample's share of nc1: mean_i v_i over the whole split is nc1 (nc1.py)."""
    import torch

    if b.clean_labels is None:
        return None
    group = (b.labels != b.clean_labels) == corrupted
    shares = ((b.features - b.means[b.labels]) @ b.split_stats.sigma_b_root).square().sum(dim=1)
    return torch.stack([shares * group, group.to(shares.dtype)], dim=1)


@sample_metric("nc1_clean", second_pass=True, finish=_ratio, only="label noise")
def nc1_clean(b: Batch) -> torch.Tensor | None:
    """(1/K) tr(Sigma_W^clean Sigma_B^+), Sigma_W^clean the within-class covariance of the samples whose
    label the noise left alone, around the class means of the labels trained on: how tightly the
    clean samples collapse (Nguyen et al., "Memorization-Dilation", ICLR 2023; NaN without noise)."""
    return _nc1_shares(b, corrupted=False)


@sample_metric("nc1_noisy", second_pass=True, finish=_ratio, only="label noise")
def nc1_noisy(b: Batch) -> torch.Tensor | None:
    """(1/K) tr(Sigma_W^noisy Sigma_B^+) over the samples with a corrupted label, around the means of
    the labels trained on: large while the network has not memorized them, near nc1_clean once it
    has (Nguyen et al., ICLR 2023; NaN without noise)."""
    return _nc1_shares(b, corrupted=True)
