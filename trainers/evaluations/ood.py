"""Out-of-distribution detection: the test split of another dataset (metrics.ood), in this trial's
input shape, must score below the trial's own test split. Five scores, each higher = more "in":
three of the logits, two of the features against the train split's statistics the metrics pass
accumulated (class means, pooled within-class scatter, second moment; no second pass over train)."""

from __future__ import annotations

from trainers.evaluations.inputs import EvalInputs
from trainers.evaluations.registry import evaluation
from trainers.evaluations.roc import auroc, fpr_at_tpr

SCORES = ("msp", "max_logit", "energy", "mahalanobis", "neco")
KEYS = tuple(f"{metric}_{score}" for metric in ("auroc", "fpr95") for score in SCORES)
RELATIVE_EIGEN_FLOOR = 1e-10  # eigenvalues below this times the largest are the covariance's null space


def mahalanobis(features, stats):
    """-min_k (h - mu_k)^T Sigma_W^+ (h - mu_k), Sigma_W = the train split's pooled within-class
    covariance and mu_k its class means (Lee, Lee, Lee, Shin, NeurIPS 2018), through Sigma_W's
    eigendecomposition (the pseudo-inverse on its range)."""
    import torch

    values, vectors = torch.linalg.eigh(stats.within / stats.n)
    keep = values > RELATIVE_EIGEN_FLOOR * values.max()
    whiten = vectors[:, keep] / values[keep].sqrt()
    h = features.to(whiten.device, torch.float64) @ whiten
    mu = stats.means @ whiten
    return -torch.cdist(h, mu, compute_mode="donot_use_mm_for_euclid_dist").square().min(dim=1).values


def neco(features, stats):
    """||P z|| / ||z||, z the features standardized by the train split's mean and per-feature std
    (a std of 0 read as 1, as scikit-learn's StandardScaler does) and P the projection on the first
    K - 1 principal components of the standardized train features, the dimension of the simplex
    that neural collapse drives the class means to (Ammar et al., "NECO: NEural Collapse Based
    Out-of-distribution detection", ICLR 2024). The official code also multiplies by the maximum
    logit for CNNs; under BCE that logit can be negative, which would invert the score, so not here."""
    import torch

    n, k = stats.n, stats.num_classes
    mean = stats.mu_global
    second = stats.within + stats.means.T @ (stats.counts.unsqueeze(1) * stats.means)
    cov = second / n - torch.outer(mean, mean)
    std = cov.diagonal().clamp_min(0).sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    _, vectors = torch.linalg.eigh(cov / torch.outer(std, std))
    top = vectors[:, -(k - 1) :]  # eigh sorts ascending
    z = (features.to(mean.device, torch.float64) - mean) / std
    return (z @ top).norm(dim=1) / z.norm(dim=1).clamp_min(1e-300)


def ood_scores(side, stats) -> dict:
    import torch

    return {
        "msp": torch.softmax(side.scores, dim=1).max(dim=1).values,  # Hendrycks & Gimpel, ICLR 2017
        "max_logit": side.scores.max(dim=1).values,  # Hendrycks et al., ICML 2022
        "energy": torch.logsumexp(side.scores, dim=1),  # -E(x) at T = 1: Liu et al., NeurIPS 2020
        "mahalanobis": mahalanobis(side.features, stats),
        "neco": neco(side.features, stats),
    }


@evaluation("ood", keys=KEYS, needs="metrics.ood")
def ood(inputs: EvalInputs) -> dict[str, float]:
    """AUROC and FPR at 95% TPR of the test split (in) against the metrics.ood data (out) by five
    scores of S = Z - b and the features h: the maximum softmax probability, the maximum logit
    max_k S_k, the energy log sum_k exp S_k, the Mahalanobis distance to the nearest train class
    mean under the shared within-class covariance, and NECO, the share of the standardized
    feature's norm in the principal (K-1)-dimensional subspace of the train features."""
    stats = inputs.train
    inside, outside = ood_scores(inputs.test, stats), ood_scores(inputs.ood, stats)
    out = {f"auroc_{s}": auroc(inside[s], outside[s]) for s in SCORES}
    out.update({f"fpr95_{s}": fpr_at_tpr(inside[s], outside[s]) for s in SCORES})
    return out
