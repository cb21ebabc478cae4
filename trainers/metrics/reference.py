"""Every metric computed the direct way, on all of a split's features at once.

This is how ncsweep computed its metrics before the streaming pass (the code moved here nearly as
it was), extended with the direct forms of the newer metrics. It holds N x d features and N x K
scores in float64, so it does not scale; it stays as the independent computation the streaming
pass is tested against (tests/test_metrics_streaming.py) and as the "hold everything" side of
benchmarks/metrics_scale.py. It shares only the uniform-accuracy sweep with the pass (tested on
its own against brute force).

One change from the old code: distinctiveness took the cosines from a K x K x d tensor (16 GB at
K = 1000, d = 2048); it now normalizes the means first (K x K), the same number to rounding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from trainers.losses import Loss, soft_targets
from trainers.metrics.rank import kept, rankme, stable_rank
from trainers.metrics.stats import uniform_accuracy


def _etf_distance(gram: torch.Tensor) -> float:
    k = gram.shape[0]
    etf = (torch.eye(k, dtype=gram.dtype) - 1.0 / k).to(gram.device) / math.sqrt(k - 1)
    return torch.linalg.matrix_norm(gram / torch.linalg.matrix_norm(gram) - etf).item()


def _off_diagonal_cosines(rows: torch.Tensor) -> torch.Tensor:
    unit = rows / rows.norm(dim=1, keepdim=True)
    cos = unit @ unit.T
    return cos[~torch.eye(cos.shape[0], dtype=torch.bool, device=cos.device)]


def _cv(values: torch.Tensor) -> float:
    return (values.std(correction=0) / values.mean()).item()


def _svd_kept(a: torch.Tensor, count: int) -> torch.Tensor:
    """The singular values of `a` by SVD, padded with zeros to `count` (as many as the Gram matrix
    the streamed metric reads has eigenvalues: d for H^T H, K for W W^T), through rank.py's floor."""
    sigma = torch.linalg.svdvals(a)
    padded = torch.cat([sigma, sigma.new_zeros(count - sigma.numel())])
    return kept(padded.square())


def class_means(h: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """mu_k (K x d)."""
    counts = torch.bincount(y, minlength=k).to(h.dtype)
    if bool((counts == 0).any()):
        raise ValueError(f"classes {torch.nonzero(counts == 0).flatten().tolist()} have no samples in this split")
    return torch.zeros(k, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, y, h) / counts[:, None]


def all_metrics(
    features: torch.Tensor,
    labels: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    loss: Loss | None = None,
    lambda_b: float = 0.0,
    train_means: torch.Tensor | None = None,
) -> dict[str, float]:
    """Every shipped metric of one split. `train_means` (K x d) are the train split's class means
    for ncc_acc and nc4 (None: this split's own, i.e. this is the train split)."""
    h = features.detach().to(torch.float64)
    w = weight.detach().to(torch.float64).to(h.device)
    y = labels.to(h.device).long()
    n, k = y.numel(), w.shape[0]
    b = (
        torch.zeros(k, dtype=torch.float64, device=h.device)
        if bias is None
        else bias.detach().to(h.device, torch.float64).expand(k)
    )
    z = h @ w.T
    s = z - b
    own = F.one_hot(y, k).bool()
    pos, neg = z[own], z[~own].reshape(n, k - 1)
    uniform, threshold = uniform_accuracy(pos, neg.max(dim=1).values)
    means = class_means(h, y, k)
    mu_global = h.mean(dim=0)
    mbar = (means - mu_global).T  # d x K
    within = h - means[y]
    a = within @ mbar
    p = torch.linalg.pinv(mbar.T @ mbar, hermitian=True)
    raw_bias = b[:1] if bias is not None and bias.numel() == 1 else b
    counts = torch.bincount(y, minlength=k).to(torch.float64)
    variance = (
        torch.zeros(k, dtype=torch.float64, device=h.device).index_add_(0, y, within.square().sum(dim=1)) / counts
    )
    centres = means if train_means is None else train_means.to(h.device, torch.float64)
    ncc = torch.cdist(h, centres).argmin(dim=1)
    pred = s.argmax(dim=1)
    off = ~torch.eye(k, dtype=torch.bool, device=h.device)
    exact = "donot_use_mm_for_euclid_dist"  # pairwise differences, no K x K x d tensor
    mean_dist = torch.cdist(means, means, compute_mode=exact).square()
    unit = (mbar / mbar.norm(dim=0)).T
    unit_dist = torch.cdist(unit, unit, compute_mode=exact)
    wbar = w - w.mean(dim=0, keepdim=True)
    values = {
        "acc": (pred == y).double().mean().item(),
        "uniform_acc": uniform,
        "uniform_threshold": threshold,
        "uniform_acc_at_bias": ((s[own] > 0) & (s[~own].reshape(n, k - 1) < 0).all(dim=1)).double().mean().item(),
        "pos_score_mean": pos.mean().item(),
        "pos_score_std": pos.std(correction=0).item(),
        "neg_score_mean": neg.mean().item(),
        "neg_score_std": neg.std(correction=0).item(),
        "bias_mean": raw_bias.mean().item(),
        "bias_std": raw_bias.std(correction=0).item(),
        "weight_norm": w.norm(dim=1).mean().item(),
        "feature_norm": h.norm(dim=1).mean().item(),
        "nc1": (torch.trace(a.T @ a @ p @ p) / n).item(),
        "cdnv": ((variance[:, None] + variance[None, :]) / (2 * mean_dist))[off].mean().item(),
        "compactness": F.cosine_similarity(h - mu_global, mbar.T[y], dim=-1, eps=1e-300).mean().item(),
        "nc2_w": _etf_distance(w @ w.T),
        "nc2_h": _etf_distance(mbar.T @ mbar),
        "nc3": _etf_distance(wbar @ mbar),
        "nc3_zhu": _etf_distance(w @ mbar),
        "distinctiveness": _off_diagonal_cosines(mbar.T).mean().item(),
        "equinorm_h": _cv(mbar.norm(dim=0)),
        "equinorm_w": _cv(w.norm(dim=1)),
        "equiangular_h": _off_diagonal_cosines(mbar.T).std(correction=0).item(),
        "equiangular_w": _off_diagonal_cosines(w).std(correction=0).item(),
        "maxangle_h": (_off_diagonal_cosines(mbar.T) + 1 / (k - 1)).abs().mean().item(),
        "maxangle_w": (_off_diagonal_cosines(w) + 1 / (k - 1)).abs().mean().item(),
        "gnc2_h": -unit_dist[torch.triu(off, diagonal=1)].log().mean().item(),
        "ncc_acc": (ncc == y).double().mean().item(),
        "nc4": (pred == ncc).double().mean().item(),
        # the singular values of H and W themselves (SVD), with rank.py's floor on their squares
        "rankme_h": rankme(_svd_kept(h, h.shape[1])),
        "stable_rank_h": stable_rank(_svd_kept(h, h.shape[1])),
        "rankme_w": rankme(_svd_kept(w, k)),
        "stable_rank_w": stable_rank(_svd_kept(w, k)),
        "unc3": _cv(F.cosine_similarity(w, mbar.T, dim=1)),
        **_imbalance(w, counts),
        "probe_acc": (_ridge_predictions(h, y, k) == y).double().mean().item(),
    }
    values.update(loss_metrics(loss, h, y, w, bias, lambda_b))
    return values


def _imbalance(w: torch.Tensor, counts: torch.Tensor) -> dict[str, float]:
    """minority_cos_w and norm_count_corr by a loop over the minority pairs and numpy's ranks."""
    import numpy as np
    from scipy.stats import rankdata

    n = counts.cpu().numpy()
    rare = [k for k in range(len(n)) if 2 * n[k] < n.max()]
    pairs = [(a, b) for a in rare for b in rare if a != b]
    cos = [F.cosine_similarity(w[a], w[b], dim=0).item() for a, b in pairs]
    norms = w.norm(dim=1).cpu().numpy()
    flat = n.max() < 2 * n.min() or norms.min() == norms.max()
    corr = math.nan if flat else float(np.corrcoef(rankdata(norms), rankdata(n))[0, 1])
    return {"minority_cos_w": sum(cos) / len(cos) if cos else math.nan, "norm_count_corr": corr}


def _ridge_predictions(h: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """argmax of the ridge probe fitted on (h, y) itself by least squares on the stacked system
    [H 1; sqrt(lambda) I 0] beta = [Y; 0] (intercept unpenalized), lambda as probe.py sets it."""
    from trainers.metrics.probe import PROBE_RIDGE

    n, d = h.shape
    centred = h - h.mean(dim=0)
    ridge = PROBE_RIDGE * centred.square().sum() / d
    x = torch.cat([h, torch.ones(n, 1, dtype=h.dtype, device=h.device)], dim=1)
    penalty = torch.cat([ridge.sqrt() * torch.eye(d, dtype=h.dtype), torch.zeros(d, 1, dtype=h.dtype)], dim=1)
    targets = torch.cat([F.one_hot(y, k).to(h.dtype), torch.zeros(d, k, dtype=h.dtype)])
    beta = torch.linalg.lstsq(torch.cat([x, penalty.to(h.device)]), targets.to(h.device), driver="gelsd").solution
    return (x @ beta).argmax(dim=1)


def loss_metrics(
    loss: Loss | None,
    h: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    bias: torch.Tensor | None,
    lambda_b: float = 0.0,
    chunk: int = 8192,
) -> dict[str, float]:
    """loss = mean_i L_i and bias_residual = mean_k |d/db [mean_i L_i + lambda_b/2 ||b||^2]|."""
    if loss is None:
        return {"loss": math.nan, "bias_residual": math.nan}
    k = w.shape[0]
    b = (
        torch.zeros(k, dtype=torch.float64, device=h.device)
        if bias is None
        else bias.detach().to(h.device, torch.float64).expand(k)
    )
    total, grad = 0.0, torch.zeros(k, dtype=torch.float64, device=h.device)
    for start in range(0, len(y), chunk):  # bounded memory: autograd keeps a few N x K tensors
        s = h[start : start + chunk] @ w.T - b
        q = soft_targets(y[start : start + chunk], k, loss.label_smoothing, dtype=torch.float64)
        total += loss.per_sample(s, q).sum().item()
        if bias is not None:
            grad += loss.bias_gradient(s, q).sum(dim=0)
    n = max(len(y), 1)
    if bias is None:
        return {"loss": total / n, "bias_residual": math.nan}
    grad = grad / n
    if bias.numel() == 1:
        grad = grad.sum(dim=0, keepdim=True)
    grad = grad + lambda_b * bias.detach().to(torch.float64).to(h.device)
    return {"loss": total / n, "bias_residual": grad.abs().mean().item()}
