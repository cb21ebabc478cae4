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
