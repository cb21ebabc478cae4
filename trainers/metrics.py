"""Neural-collapse and uniform-accuracy metrics: pure float64 functions of (H, y, W, b).

Notation (PAPER.md section 5): features H (N x d) with labels y in {0..K-1}, classifier W (K x d)
and bias b (K); bias-free scores Z = H W^T, scores S = Z - b. mu_G = mean_i h_i, mu_k = class
means, Mbar = [mu_1 - mu_G, ..., mu_K - mu_G] (d x K), E = (I_K - 11^T/K) / sqrt(K - 1) (the
simplex ETF Gram matrix, scaled to unit Frobenius norm).

Sources: Papyan, Han, Donoho, "Prevalence of neural collapse..." PNAS 2020 (NC1-NC3);
Zhu et al., "A Geometric Analysis of Neural Collapse with Unconstrained Features", NeurIPS 2021
(the ETF-distance forms of NC2/NC3); Li, Xiao, Shen, "BCE vs. CE in Deep Feature Learning",
ICML 2025 (NC3 with the centred W, compactness, distinctiveness); Li et al., "Rediscovering BCE
Loss for Uniform Classification", 2024 (uniform accuracy).
"""

from __future__ import annotations

import math

import torch

from trainers.losses import Loss, soft_targets

SPLIT_KEYS = (
    "acc", "uniform_acc", "uniform_threshold", "uniform_acc_at_bias",
    "pos_score_mean", "pos_score_std", "neg_score_mean", "neg_score_std",
    "bias_mean", "bias_std", "weight_norm", "feature_norm",
    "compactness", "distinctiveness", "nc1", "nc2_w", "nc2_h", "nc3", "nc3_zhu",
)  # fmt: skip
LOSS_KEYS = ("loss", "bias_residual")
LOSS_CHUNK = 8192  # samples per pass in loss_metrics
METRIC_KEYS = SPLIT_KEYS + LOSS_KEYS


def full_bias(bias: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """b as a K-vector in float64: a unified bias repeated K times, no bias as zeros."""
    if bias is None:
        return torch.zeros(num_classes, dtype=torch.float64)
    return bias.detach().to(torch.float64).expand(num_classes)


def accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """acc = mean_i [ argmax_k S_ik == y_i ]."""
    return (scores.argmax(dim=1) == labels).double().mean().item()


def positive_negative_scores(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """p_i = Z_{i,y_i} (N) and the negative scores Z_ik, k != y_i (N x (K-1))."""
    n, k = scores.shape
    own = torch.nn.functional.one_hot(labels, k).bool()
    return scores[own], scores[~own].reshape(n, k - 1)


def uniform_accuracy(pos: torch.Tensor, neg_max: torch.Tensor) -> tuple[float, float]:
    """Exact uniform accuracy max_t U(t), U(t) = mean_i [ n_i < t < p_i ], and a best threshold.

    Sample i is right under the one threshold t iff t lies in the open interval (n_i, p_i), with
    n_i = max_{k != y_i} Z_ik. So max_t U(t) = (largest number of intervals sharing a point) / N,
    found by sorting the 2N endpoints and sweeping (O(N log N)); ends sort before starts at equal
    coordinates because open intervals that only touch share no point. Intervals with p_i <= n_i
    are empty and never count. The threshold returned is the midpoint of the best stretch.
    The paper scans a grid of t; this is the exact maximum, >= any grid estimate.
    """
    valid = neg_max < pos
    if not bool(valid.any()):
        return 0.0, math.nan
    starts, ends = neg_max[valid].double(), pos[valid].double()
    coords = torch.cat([starts, ends])
    deltas = torch.cat([torch.ones_like(starts), -torch.ones_like(ends)])
    by_delta = torch.argsort(deltas, stable=True)  # ends (-1) first ...
    order = by_delta[torch.argsort(coords[by_delta], stable=True)]  # ... within each coordinate
    coords, counts = coords[order], torch.cumsum(deltas[order], dim=0)
    best = int(torch.argmax(counts))  # first maximum: the last start of its coordinate group
    threshold = 0.5 * (coords[best] + coords[best + 1]).item()
    return counts[best].item() / pos.numel(), threshold


def uniform_accuracy_at_bias(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """mean_i [ S_{i,y_i} > 0 and S_ik < 0 for all k != y_i ]: each class's bias as its threshold."""
    pos, neg = positive_negative_scores(scores, labels)
    return ((pos > 0) & (neg < 0).all(dim=1)).double().mean().item()


def class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu_G (d), Mbar (d x K)) with mu_G = mean_i h_i and Mbar columns mu_k - mu_G."""
    counts = torch.bincount(labels, minlength=num_classes).to(features.dtype)
    if bool((counts == 0).any()):
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"classes {missing} have no samples in this split; class means are undefined")
    sums = torch.zeros(num_classes, features.shape[1], dtype=features.dtype, device=features.device)
    sums.index_add_(0, labels, features)
    mu_global = features.mean(dim=0)
    return mu_global, (sums / counts[:, None] - mu_global).T


def nc1(features: torch.Tensor, labels: torch.Tensor, mu_global: torch.Tensor, centred_means: torch.Tensor) -> float:
    """NC1 = (1/K) tr(Sigma_W Sigma_B^+), Sigma_W = (1/N) sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T,
    Sigma_B = (1/K) Mbar Mbar^T (Papyan et al. 2020).

    Computed in the K-dimensional span of Mbar instead of with a d x d pseudo-inverse: with
    M = Mbar, (M M^T)^+ = M (M^T M)^{+2} M^T, so (1/K) tr(Sigma_W Sigma_B^+)
    = (1/N) tr(A^T A P^2) with A = (H - mu_y) M (N x K) and P = (M^T M)^+. Same number, O(NdK).
    """
    within = features - (centred_means.T + mu_global)[labels]
    a = within @ centred_means
    p = torch.linalg.pinv(centred_means.T @ centred_means, hermitian=True)
    return (torch.trace(a.T @ a @ p @ p) / features.shape[0]).item()


def simplex_etf(num_classes: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """E = (I_K - (1/K) 1 1^T) / sqrt(K - 1): the Gram matrix of a simplex ETF, unit Frobenius norm."""
    k = num_classes
    return (torch.eye(k, dtype=dtype) - torch.full((k, k), 1.0 / k, dtype=dtype)) / math.sqrt(k - 1)


def etf_distance(gram: torch.Tensor) -> float:
    """|| G / ||G||_F - E ||_F for a K x K matrix G: 0 iff G is a positive multiple of E."""
    etf = simplex_etf(gram.shape[0], gram.dtype).to(gram.device)
    return torch.linalg.matrix_norm(gram / torch.linalg.matrix_norm(gram) - etf).item()


def nc2_classifier(weight: torch.Tensor) -> float:
    """nc2_w = || W W^T / ||W W^T||_F - E ||_F: the classifier rows form a simplex ETF (Zhu et al.)."""
    return etf_distance(weight @ weight.T)


def nc2_features(centred_means: torch.Tensor) -> float:
    """nc2_h = || Mbar^T Mbar / ||Mbar^T Mbar||_F - E ||_F: the centred class means form an ETF."""
    return etf_distance(centred_means.T @ centred_means)


def nc3(weight: torch.Tensor, centred_means: torch.Tensor, centre_weight: bool = True) -> float:
    """nc3 = || Wbar Mbar / ||Wbar Mbar||_F - E ||_F with Wbar = W minus its mean row (the BCE
    paper's variant); centre_weight=False uses W itself (Zhu et al.'s original, `nc3_zhu`)."""
    w = weight - weight.mean(dim=0, keepdim=True) if centre_weight else weight
    return etf_distance(w @ centred_means)


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-300)


def compactness(features: torch.Tensor, labels: torch.Tensor, mu_global: torch.Tensor, centred_means: torch.Tensor) -> float:
    """(1/N) sum_i cos(h_i - mu_G, mu_{y_i} - mu_G): 1 when every feature sits on its class mean
    direction (NC1); higher = more compact classes (Li, Xiao, Shen 2025)."""
    return _cosine(features - mu_global, centred_means.T[labels]).mean().item()


def distinctiveness(centred_means: torch.Tensor) -> float:
    """(1/(K(K-1))) sum_{k != l} cos(mu_k - mu_G, mu_l - mu_G): lower = more distinct classes,
    minimum -1/(K-1) at a simplex ETF (Li, Xiao, Shen 2025)."""
    m = centred_means.T
    cos = _cosine(m[:, None, :], m[None, :, :])
    k = m.shape[0]
    return ((cos.sum() - cos.diagonal().sum()) / (k * (k - 1))).item()


def split_metrics(features: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> dict[str, float]:
    """Every key of SPLIT_KEYS for one split, in float64 on the tensors' device.

    `bias` is the head's bias: (K,) per class, (1,) unified (shared threshold), or None (b = 0).
    Score statistics use the bias-free scores Z; stds are population stds (divide by the count).
    """
    h = features.detach().to(torch.float64)
    w = weight.detach().to(torch.float64).to(h.device)
    y = labels.to(h.device).long()
    k = w.shape[0]
    b = full_bias(bias, k).to(h.device)
    z = h @ w.T
    s = z - b
    pos, neg = positive_negative_scores(z, y)
    uniform, threshold = uniform_accuracy(pos, neg.max(dim=1).values)
    mu_global, mbar = class_means(h, y, k)
    raw_bias = b[:1] if bias is not None and bias.numel() == 1 else b
    return {
        "acc": accuracy(s, y),
        "uniform_acc": uniform,
        "uniform_threshold": threshold,
        "uniform_acc_at_bias": uniform_accuracy_at_bias(s, y),
        "pos_score_mean": pos.mean().item(),
        "pos_score_std": pos.std(correction=0).item(),
        "neg_score_mean": neg.mean().item(),
        "neg_score_std": neg.std(correction=0).item(),
        "bias_mean": raw_bias.mean().item(),
        "bias_std": raw_bias.std(correction=0).item(),
        "weight_norm": w.norm(dim=1).mean().item(),
        "feature_norm": h.norm(dim=1).mean().item(),
        "compactness": compactness(h, y, mu_global, mbar),
        "distinctiveness": distinctiveness(mbar),
        "nc1": nc1(h, y, mu_global, mbar),
        "nc2_w": nc2_classifier(w),
        "nc2_h": nc2_features(mbar),
        "nc3": nc3(w, mbar, centre_weight=True),
        "nc3_zhu": nc3(w, mbar, centre_weight=False),
    }


def score_samples(features: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, max_samples: int, seed: int = 0) -> dict[str, list[float]]:
    """Uniform random samples (at most max_samples each, fixed seed) of the positive bias-free
    scores p_i = Z_{i,y_i} and of the negative ones Z_ik, k != y_i: the distributions the paper's
    Fig. 3 draws as violins, small enough to log with every trial."""
    z = features.detach().to(torch.float64) @ weight.detach().to(torch.float64).to(features.device).T
    pos, neg = positive_negative_scores(z, labels.to(z.device).long())
    gen = torch.Generator().manual_seed(seed)

    def pick(values: torch.Tensor) -> list[float]:
        if values.numel() > max_samples:
            values = values[torch.randperm(values.numel(), generator=gen)[:max_samples].to(values.device)]
        return values.cpu().tolist()

    return {"pos": pick(pos), "neg": pick(neg.flatten())}


def loss_metrics(
    loss: Loss,
    features: torch.Tensor,
    labels: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    lambda_b: float = 0.0,
    chunk: int = LOSS_CHUNK,
) -> dict[str, float]:
    """`loss` = mean_i L_i over the split (no regularization), with the trial's own loss and its
    label smoothing, and `bias_residual` = mean_k |g_k|, g = d/db [ mean_i L_i + lambda_b/2 ||b||^2 ]:
    how far b is from its stationary point (the paper's f(b)), for any loss (`Loss.bias_gradient`:
    closed form for CE and BCE, autograd otherwise). A unified bias has one g = sum_k of the
    per-class gradients; without a bias the residual is NaN (there is nothing to be stationary).
    """
    h = features.detach().to(torch.float64)
    w = weight.detach().to(torch.float64).to(h.device)
    y = labels.to(h.device).long()
    k = w.shape[0]
    b = full_bias(bias, k).to(h.device)
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
