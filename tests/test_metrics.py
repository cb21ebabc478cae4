"""Metrics against independent computations: closed forms at exact neural collapse, brute force,
numpy's pseudo-inverse and autograd. Every metric goes through the streaming pass (`measure`)."""

import math

import numpy as np
import pytest
import torch

from trainers.losses import LOSSES, soft_targets
from trainers.metrics import METRICS, Context, compute_split
from trainers.metrics.stats import uniform_accuracy


def measure(
    features, labels, weight, bias=None, loss=None, lambda_b=0.0, chunk=4096, train_means=None
) -> dict[str, float]:
    """Every registered metric of one split through the streaming pass, in chunks of `chunk`."""
    return compute_split(
        features, labels, Context.of(weight, bias, loss, lambda_b), chunk=chunk, train_means=train_means
    ).values


def etf_collapse(num_classes=5, dim=8, per_class=4, scale=3.0):
    """Features exactly at their class means; centred means a simplex ETF; W = Mbar^T (scaled);
    the global mean sits in a direction orthogonal to the ETF's span."""
    k = num_classes
    basis, _ = torch.linalg.qr(torch.randn(dim, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
    etf = math.sqrt(k / (k - 1)) * (torch.eye(k, dtype=torch.float64) - 1.0 / k)  # K x K, columns = ETF
    mbar = basis[:, :k] @ etf  # d x K
    mu_global = 5.0 * basis[:, k]
    labels = torch.arange(k).repeat_interleave(per_class)
    features = mu_global + scale * mbar.T[labels]
    weight = 0.7 * mbar.T
    return features, labels, weight


def test_exact_simplex_etf_collapse_is_zero_nc_and_perfect_accuracy():
    features, labels, weight = etf_collapse()
    m = measure(features, labels, weight, torch.zeros(weight.shape[0], dtype=torch.float64), chunk=3)
    assert list(m) == METRICS.keys()
    for key in ("nc1", "nc2_w", "nc2_h", "nc3", "nc3_zhu"):
        assert m[key] == pytest.approx(0.0, abs=1e-10), key
    assert m["acc"] == 1.0
    assert m["uniform_acc"] == 1.0
    assert m["compactness"] == pytest.approx(1.0)
    assert m["distinctiveness"] == pytest.approx(-1.0 / (weight.shape[0] - 1))


def brute_force_uniform(pos: np.ndarray, neg_max: np.ndarray) -> float:
    """max over every candidate threshold (each endpoint, each midpoint, beyond both ends)."""
    points = np.unique(np.concatenate([pos, neg_max]))
    candidates = np.concatenate([points, (points[1:] + points[:-1]) / 2, [points[0] - 1, points[-1] + 1]])
    return max(np.mean((neg_max < t) & (t < pos)) for t in candidates)


@pytest.mark.parametrize("seed", range(200))
def test_uniform_accuracy_equals_brute_force_including_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    if seed % 2:  # integer scores: many ties between starts, ends and each other
        pos, neg = rng.integers(-3, 4, n).astype(float), rng.integers(-3, 4, n).astype(float)
    else:
        pos, neg = rng.normal(1, 1, n), rng.normal(0, 1, n)
    acc, threshold = uniform_accuracy(torch.tensor(pos), torch.tensor(neg))
    assert acc == pytest.approx(brute_force_uniform(pos, neg))
    if acc > 0:  # the threshold returned attains the maximum
        assert np.mean((neg < threshold) & (threshold < pos)) == pytest.approx(acc)
    else:
        assert math.isnan(threshold)


def test_uniform_accuracy_of_touching_intervals_is_not_shared():
    # (0, 1) and (1, 2) share no point: one sample right at best, not two.
    acc, t = uniform_accuracy(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 1.0]))
    assert acc == 0.5


def test_uniform_acc_matches_split_metrics_and_is_shift_invariant():
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(60, 6, dtype=torch.float64, generator=gen)
    labels = torch.arange(3).repeat(20)
    weight = torch.randn(3, 6, dtype=torch.float64, generator=gen)
    base = measure(features, labels, weight, None, chunk=7)
    # shift every bias-free score by c: a constant feature of 1 and a weight column of c
    c = 7.5
    shifted = measure(
        torch.cat([features, torch.ones(60, 1, dtype=torch.float64)], 1),
        labels,
        torch.cat([weight, torch.full((3, 1), c, dtype=torch.float64)], 1),
    )
    assert shifted["uniform_acc"] == base["uniform_acc"]
    assert shifted["uniform_threshold"] == pytest.approx(base["uniform_threshold"] + c)
    z = (features @ weight.T).numpy()
    own = np.eye(3, dtype=bool)[labels.numpy()]
    assert base["uniform_acc"] == pytest.approx(brute_force_uniform(z[own], np.where(own, -np.inf, z).max(1)))


@pytest.mark.parametrize("balanced", [True, False])
def test_nc1_equals_numpy_pinv_definition(balanced):
    rng = np.random.default_rng(3)
    k, d = 4, 12
    # unbalanced classes: mu_G is no longer the mean of the class means, Mbar has full rank K
    labels = np.arange(k).repeat(20) if balanced else np.repeat(np.arange(k), [5, 10, 25, 40])
    n = len(labels)
    h = rng.normal(size=(n, d)) + 2 * rng.normal(size=(k, d))[labels]
    mu_g = h.mean(0)
    means = np.stack([h[labels == c].mean(0) for c in range(k)])
    centred = h - means[labels]
    sigma_w = centred.T @ centred / n
    mbar = (means - mu_g).T
    sigma_b = mbar @ mbar.T / k
    expected = np.trace(sigma_w @ np.linalg.pinv(sigma_b)) / k
    m = measure(torch.tensor(h), torch.tensor(labels), torch.tensor(rng.normal(size=(k, d))), chunk=13)
    assert m["nc1"] == pytest.approx(expected, rel=1e-8)


def test_nc_metrics_are_scale_invariant():
    gen = torch.Generator().manual_seed(5)
    features = torch.randn(50, 7, dtype=torch.float64, generator=gen) + torch.arange(5).repeat(10)[:, None]
    labels = torch.arange(5).repeat(10)
    weight = torch.randn(5, 7, dtype=torch.float64, generator=gen)
    a = measure(features, labels, weight)
    b = measure(3.0 * features, labels, 0.1 * weight)
    scale_free = (
        "nc1",
        "cdnv",
        "nc2_w",
        "nc2_h",
        "nc3",
        "nc3_zhu",
        "compactness",
        "distinctiveness",
        "acc",
        "uniform_acc",
        "ncc_acc",
        "nc4",
    )
    scale_free += ("equinorm_h", "equinorm_w", "equiangular_h", "equiangular_w", "maxangle_h", "maxangle_w", "gnc2_h")
    for key in scale_free:
        assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), key


def test_score_and_bias_statistics_by_hand():
    features = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 1])
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    m = measure(features, labels, weight, torch.tensor([0.5, 1.5], dtype=torch.float64), chunk=2)
    # Z = [[1,0],[0,2],[1,1]]: positives 1, 2, 1; negatives 0, 0, 1
    assert m["pos_score_mean"] == pytest.approx(4 / 3)
    assert m["pos_score_std"] == pytest.approx(np.std([1, 2, 1]))
    assert m["neg_score_mean"] == pytest.approx(1 / 3)
    assert (m["bias_mean"], m["bias_std"]) == (1.0, 0.5)
    # S = Z - b = [[.5,-1.5],[-.5,.5],[.5,-.5]]: sample 3 ranks class 0 first
    assert m["acc"] == pytest.approx(2 / 3)
    assert m["uniform_acc_at_bias"] == pytest.approx(2 / 3)  # samples 1 and 2: own > 0 > others
    assert m["weight_norm"] == 1.0
    assert m["feature_norm"] == pytest.approx((1 + 2 + math.sqrt(2)) / 3)
    unified = measure(features, labels, weight, torch.tensor([0.75], dtype=torch.float64))
    assert (unified["bias_mean"], unified["bias_std"]) == (0.75, 0.0)


@pytest.mark.parametrize("loss", ["ce", "bce"])
@pytest.mark.parametrize("mode", ["per_class", "unified"])
def test_bias_residual_equals_autograd(loss, mode):
    gen = torch.Generator().manual_seed(2)
    features = torch.randn(30, 6, dtype=torch.float64, generator=gen)
    labels = torch.randint(0, 4, (30,), generator=gen)
    weight = torch.randn(4, 6, dtype=torch.float64, generator=gen)
    bias = torch.randn(4 if mode == "per_class" else 1, dtype=torch.float64, generator=gen, requires_grad=True)
    lambda_b, eps = 0.3, 0.1
    q = soft_targets(labels, 4, eps, dtype=torch.float64)
    fn = LOSSES.make(name=loss, label_smoothing=eps)
    value = fn(features @ weight.T - bias, q) + lambda_b / 2 * bias.square().sum()
    (grad,) = torch.autograd.grad(value, bias)
    m = measure(features, labels, weight, bias.detach(), fn, lambda_b=lambda_b, chunk=7)  # 7: several chunks
    assert m["bias_residual"] == pytest.approx(grad.abs().mean().item(), rel=1e-10)
    assert m["loss"] == pytest.approx(fn(features @ weight.T - bias.detach(), q).item())


def test_losses_match_the_paper_formulas_and_do_not_overflow():
    scores = torch.tensor([[2.0, -1.0, 0.5], [1000.0, -1000.0, 0.0]], dtype=torch.float64)
    q = soft_targets(torch.tensor([0, 1]), 3, 0.1).double()
    bce = (q * torch.log1p(torch.exp(-scores)) + (1 - q) * torch.log1p(torch.exp(scores))).sum(1)
    ce = -(q * torch.log(torch.softmax(scores, 1))).sum(1)
    per_sample = {name: LOSSES.make(name=name).per_sample for name in ("ce", "bce")}
    assert torch.allclose(per_sample["bce"](scores[:1], q[:1]), bce[:1])
    assert torch.allclose(per_sample["ce"](scores[:1], q[:1]), ce[:1])
    assert torch.isfinite(per_sample["bce"](scores, q)).all() and torch.isfinite(per_sample["ce"](scores, q)).all()
    assert q.sum(1).allclose(torch.ones(2, dtype=torch.float64)) and q[0, 1] == pytest.approx(0.1 / 3)


def test_metric_keys_cover_the_paper_tables():
    paper = [
        "acc",
        "uniform_acc",
        "uniform_threshold",
        "uniform_acc_at_bias",
        "pos_score_mean",
        "pos_score_std",
        "neg_score_mean",
        "neg_score_std",
        "bias_mean",
        "bias_std",
        "weight_norm",
        "feature_norm",
        "compactness",
        "distinctiveness",
        "nc1",
        "nc2_w",
        "nc2_h",
        "nc3",
        "nc3_zhu",
        "loss",
        "bias_residual",
    ]
    panel = [
        "ncc_acc",
        "nc4",
        "cdnv",
        "equinorm_h",
        "equinorm_w",
        "equiangular_h",
        "equiangular_w",
        "maxangle_h",
        "maxangle_w",
        "gnc2_h",
    ]
    official = ["acc5"]  # the official code's top-5 accuracy
    noise = ["clean_acc", "noisy_fit", "nc1_clean", "nc1_noisy"]  # under data.label_noise
    # issue 30: effective and stable rank, uniform duality, minority collapse, linear probes
    rank = ["rankme_h", "stable_rank_h", "rankme_w", "stable_rank_w"]
    depth = ["unc3", "minority_cos_w", "norm_count_corr", "probe_acc"]
    assert sorted(METRICS.keys()) == sorted(
        paper + panel + official + noise + rank + depth
    )  # docs/science.md#metrics, the official code, label noise
    assert {m.key: m.only for m in METRICS if m.only} == {
        "acc5": "K > 5",
        "clean_acc": "label noise",
        "noisy_fit": "label noise",
        "nc1_clean": "label noise",
        "nc1_noisy": "label noise",
        "minority_cos_w": "class imbalance",
        "norm_count_corr": "class imbalance",
    }
    assert METRICS.layer_keys() == ["nc1", "cdnv", "nc2_h", "ncc_acc", "nc4", "probe_acc", "rankme_h"]
