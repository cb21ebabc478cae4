"""The depth, duality, imbalance and noise metrics of issue 30 point 5 against independent
computations: scikit-learn's Ridge for the probe, scipy's linregress for the separation fit,
closed forms at an exact simplex ETF and at minority collapse, and nc1 of the clean and the
corrupted samples from the whole feature matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import linregress
from sklearn.linear_model import Ridge
from test_metrics import etf_collapse, measure

from trainers.metrics import Context, SplitPass
from trainers.metrics.depth import separation_fit
from trainers.metrics.probe import PROBE_RIDGE
from trainers.metrics.split_pass import compute_split


def blobs(seed, n=300, k=4, d=7, spread=1.5):
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.arange(k), torch.randint(k, (n - k,), generator=g)])
    centres = torch.randn(k, d, generator=g, dtype=torch.float64) * 2
    return centres[y] + spread * torch.randn(n, d, generator=g, dtype=torch.float64), y


def test_exact_etf_has_uniform_duality_a_perfect_probe_and_no_imbalance_metrics():
    features, labels, weight = etf_collapse(num_classes=6, dim=9)
    m = measure(features, labels, weight, torch.zeros(6, dtype=torch.float64), chunk=5)
    assert m["unc3"] == pytest.approx(0.0, abs=1e-12) and m["probe_acc"] == 1.0
    assert math.isnan(m["minority_cos_w"]) and math.isnan(m["norm_count_corr"])  # balanced


def test_minority_collapse_in_closed_form():
    """Five majority classes of 40 samples, three minority classes of 5 whose classifier rows are
    one direction with norms growing with nothing but the class index: cos 1 among the minority."""
    counts = [40] * 5 + [5] * 3
    y = torch.cat([torch.full((c,), k) for k, c in enumerate(counts)])
    g = torch.Generator().manual_seed(0)
    h = torch.randn(len(y), 6, generator=g, dtype=torch.float64) + 3 * torch.eye(8, 6, dtype=torch.float64)[y]
    w = torch.randn(8, 6, generator=g, dtype=torch.float64)
    w[5:] = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)[:, None] * w[5]
    w[:5] = 10 * torch.eye(5, 6, dtype=torch.float64)  # norms exactly 10: a five-way tie
    m = measure(h, y, w, chunk=17)
    assert m["minority_cos_w"] == pytest.approx(1.0, abs=1e-12)
    # norms 10 (n = 40) against 1x, 2x, 3x |w_5| (n = 5): Spearman of the ranks, by hand
    assert 3 * float(w[5].norm()) < 10  # the minority rows' norms rank 1, 2, 3
    norm_ranks = [6.0] * 5 + [1.0, 2.0, 3.0]  # the five tied at the top share ranks 4..8: 6
    count_ranks = [6.0] * 5 + [2.0] * 3
    assert m["norm_count_corr"] == pytest.approx(np.corrcoef(norm_ranks, count_ranks)[0, 1], rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_probe_equals_scikit_learn_ridge_fitted_on_train_and_scored_on_test(seed):
    h, y = blobs(seed, n=500, spread=2.5)
    train_h, train_y, test_h, test_y = h[:300], y[:300], h[300:], y[300:]
    weight = torch.randn(4, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    ctx = Context.of(weight, None)
    train = compute_split(train_h, train_y, ctx, chunk=64)
    split = SplitPass(ctx, train_stats=train.stats)
    for start in range(0, 200, 33):
        split.first(test_h[start : start + 33], test_y[start : start + 33])
    for start in range(0, 200, 33):
        split.second(test_h[start : start + 33], test_y[start : start + 33])
    x = train_h.numpy()
    alpha = PROBE_RIDGE * ((x - x.mean(0)) ** 2).sum() / x.shape[1]
    ridge = Ridge(alpha=alpha, fit_intercept=True, solver="cholesky").fit(x, np.eye(4)[train_y.numpy()])
    expected_test = (ridge.predict(test_h.numpy()).argmax(1) == test_y.numpy()).mean()
    expected_train = (ridge.predict(x).argmax(1) == train_y.numpy()).mean()
    assert split.finish().values["probe_acc"] == pytest.approx(expected_test, abs=1e-15)
    assert train.values["probe_acc"] == pytest.approx(expected_train, abs=1e-15)
    assert 0.5 < expected_test < 1.0  # the blobs overlap: a probe that can be wrong


def test_nc1_of_the_clean_and_the_corrupted_samples_from_the_whole_matrix():
    h, clean = blobs(4, n=240, spread=0.5)
    noisy = clean.clone()
    flipped = torch.arange(0, 240, 5)
    noisy[flipped] = (clean[flipped] + 1) % 4  # labels trained on: a fifth corrupted
    weight = torch.randn(4, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    split = SplitPass(Context.of(weight, None))
    for start in range(0, 240, 50):
        part = slice(start, start + 50)
        split.first(h[part], noisy[part], clean=clean[part])
    for start in range(0, 240, 50):
        part = slice(start, start + 50)
        split.second(h[part], noisy[part], clean=clean[part])
    values = split.finish().values
    x, y = h.numpy(), noisy.numpy()
    means = np.stack([x[y == k].mean(0) for k in range(4)])
    mbar = (means - x.mean(0)).T
    sigma_b_pinv = np.linalg.pinv(mbar @ mbar.T / 4)
    corrupted = (noisy != clean).numpy()

    def nc1_of(mask):
        r = x[mask] - means[y[mask]]
        return np.trace(r.T @ r / mask.sum() @ sigma_b_pinv) / 4

    assert values["nc1_clean"] == pytest.approx(nc1_of(~corrupted), rel=1e-9)
    assert values["nc1_noisy"] == pytest.approx(nc1_of(corrupted), rel=1e-9)
    assert values["nc1_noisy"] > 5 * values["nc1_clean"]  # the corrupted sit in other classes' clusters
    n_clean, n_noisy = (~corrupted).sum(), corrupted.sum()
    whole = (n_clean * values["nc1_clean"] + n_noisy * values["nc1_noisy"]) / 240
    assert whole == pytest.approx(values["nc1"], rel=1e-9)  # the two parts make the split's nc1


def test_separation_fit_equals_scipy_linregress_and_a_geometric_law_exactly():
    depths, nc1 = [1.0, 2.0, 3.0, 4.0], [0.9, 0.41, 0.22, 0.09]
    fit = linregress(depths, np.log(nc1))
    rate, r2 = separation_fit(depths, nc1)
    assert rate == pytest.approx(math.exp(fit.slope), rel=1e-12) and r2 == pytest.approx(fit.rvalue**2, rel=1e-12)
    assert separation_fit([1, 2, 3], [2.0, 1.0, 0.5]) == pytest.approx((0.5, 1.0))
    assert all(math.isnan(v) for v in separation_fit([1.0], [0.3]))
