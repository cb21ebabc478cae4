"""The nearest-class-centre (NCC) classifier and NC4 (Papyan, Han, Donoho, PNAS 2020).

NCC predicts argmin_k ||h - mu_k^train|| with the class means of the TRAIN split for every split
(Papyan 2020's protocol for the test split): a feature classifier that needs no trained head. NC4
says the network's own classifier comes to agree with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainers.metrics.registry import sample_metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import Batch


def nearest_centre(features: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """argmin_k ||h_i - c_k|| for each row (the first on ties), without an N x K x d tensor:
    ||h - c||^2 = ||h||^2 - 2 h.c + ||c||^2, and ||h||^2 is the same for every k. The centres are
    shifted by their mean first (distances do not change), so the products stay small in float64."""
    shift = centres.mean(dim=0)
    c, h = centres - shift, features - shift
    return (c.square().sum(dim=1) - 2.0 * h @ c.T).argmin(dim=1)


@sample_metric("ncc_acc", layers=True, second_pass=True)
def ncc_acc(b: Batch) -> torch.Tensor:
    """mean_i [ argmin_k ||h_i - mu_k^train|| = y_i ]: accuracy of the nearest class centre, train-split means for every
    split (Papyan, Han, Donoho, PNAS 2020)."""
    return nearest_centre(b.features, b.train_means) == b.labels


@sample_metric("nc4", layers=True, second_pass=True)
def nc4(b: Batch) -> torch.Tensor:
    """mean_i [ argmax_k S_ik = argmin_k ||h_i - mu_k^train|| ]: the classifier agrees with the nearest class centre, 1
    at NC4 (Papyan, Han, Donoho, PNAS 2020)."""
    return b.scores.argmax(dim=1) == nearest_centre(b.features, b.train_means)
