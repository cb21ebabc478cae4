"""The field's NC panel beyond the paper (docs/science.md#metrics) against independent computations:
closed forms at an exact simplex ETF, and plain Python loops over samples and class pairs."""

import itertools
import math

import numpy as np
import pytest
import torch
from test_metrics import etf_collapse, measure


def test_exact_simplex_etf_is_collapsed_on_every_panel_metric():
    features, labels, weight = etf_collapse(num_classes=6, dim=9)
    k = weight.shape[0]
    m = measure(features, labels, weight, torch.zeros(k, dtype=torch.float64), chunk=5)
    assert m["nc4"] == 1.0 and m["ncc_acc"] == m["acc"] == 1.0
    for key in ("cdnv", "equinorm_h", "equinorm_w", "equiangular_h", "equiangular_w", "maxangle_h", "maxangle_w"):
        assert m[key] == pytest.approx(0.0, abs=1e-12), key
    # unit ETF vectors: ||u_k - u_l||^2 = 2 - 2 (-1/(K-1)) = 2K/(K-1) for every pair
    assert m["gnc2_h"] == pytest.approx(-0.5 * math.log(2 * k / (k - 1)), rel=1e-12)
    # The uncentred features' singular values in closed form: the global mean (norm 5, orthogonal to
    # the ETF) gives sqrt(N) 5, the ETF's unit means scaled by 3 give 3 sqrt(N / (K - 1)) K - 1 times,
    # the other d - K directions 0. Stable rank 1 + 9/25; RankMe with its epsilon on every value.
    n, dim, eps = labels.numel(), features.shape[1], 1e-7
    sigma = [5 * math.sqrt(n)] + [3 * math.sqrt(n / (k - 1))] * (k - 1) + [0.0] * (dim - k)
    p = [v / sum(sigma) + eps for v in sigma]
    assert m["stable_rank_h"] == pytest.approx(1 + 9 / 25, rel=1e-12)
    assert m["rankme_h"] == pytest.approx(math.exp(-sum(q * math.log(q) for q in p)), rel=1e-10)
    assert m["stable_rank_w"] == pytest.approx(k - 1, rel=1e-12)  # W = 0.7 Mbar^T: K - 1 equal values


def random_split(seed: int, k: int = 4, d: int = 6, n: int = 40, spread: float = 1.0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.cat([torch.arange(k), torch.randint(0, k, (n - k,), generator=gen)])
    centres = 2.0 * torch.randn(k, d, dtype=torch.float64, generator=gen)
    features = centres[labels] + spread * torch.randn(n, d, dtype=torch.float64, generator=gen)
    weight = torch.randn(k, d, dtype=torch.float64, generator=gen)
    bias = torch.randn(k, dtype=torch.float64, generator=gen)
    return features, labels, weight, bias


def loops(features, labels, weight, bias, centres=None):
    """The panel with Python loops over samples, classes and pairs (no vectorized algebra)."""
    h, y, w, b = features.tolist(), labels.tolist(), weight.tolist(), bias.tolist()
    n, k, d = len(h), len(w), len(h[0])

    def sub(a, c):
        return [x - z for x, z in zip(a, c)]

    def dot(a, c):
        return sum(x * z for x, z in zip(a, c))

    def norm(a):
        return math.sqrt(dot(a, a))

    members = [[h[i] for i in range(n) if y[i] == c] for c in range(k)]
    mu = [[sum(v[j] for v in members[c]) / len(members[c]) for j in range(d)] for c in range(k)]
    mu_g = [sum(v[j] for v in h) / n for j in range(d)]
    var = [sum(norm(sub(v, mu[c])) ** 2 for v in members[c]) / len(members[c]) for c in range(k)]
    centres = mu if centres is None else centres.tolist()
    pairs = [(i, j) for i in range(k) for j in range(k) if i != j]
    centred = [sub(mu[c], mu_g) for c in range(k)]

    def cos(a, c):
        return dot(a, c) / (norm(a) * norm(c))

    def cv(values):
        mean = sum(values) / len(values)
        return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) / mean

    def std(values):
        mean = sum(values) / len(values)
        return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))

    ncc = [min(range(k), key=lambda c, i=i: norm(sub(h[i], centres[c]))) for i in range(n)]
    pred = [max(range(k), key=lambda c, i=i: dot(w[c], h[i]) - b[c]) for i in range(n)]
    cos_h = [cos(centred[i], centred[j]) for i, j in pairs]
    cos_w = [cos(w[i], w[j]) for i, j in pairs]
    unit = [[x / norm(c) for x in c] for c in centred]
    return {
        "ncc_acc": sum(ncc[i] == y[i] for i in range(n)) / n,
        "nc4": sum(ncc[i] == pred[i] for i in range(n)) / n,
        "cdnv": sum((var[i] + var[j]) / (2 * norm(sub(mu[i], mu[j])) ** 2) for i, j in pairs) / len(pairs),
        "equinorm_h": cv([norm(c) for c in centred]),
        "equinorm_w": cv([norm(row) for row in w]),
        "equiangular_h": std(cos_h),
        "equiangular_w": std(cos_w),
        "maxangle_h": sum(abs(c + 1 / (k - 1)) for c in cos_h) / len(pairs),
        "maxangle_w": sum(abs(c + 1 / (k - 1)) for c in cos_w) / len(pairs),
        "gnc2_h": sum(math.log(1 / norm(sub(unit[i], unit[j]))) for i, j in itertools.combinations(range(k), 2))
        / (k * (k - 1) / 2),
    }


@pytest.mark.parametrize("seed", range(12))
def test_panel_equals_loops_over_samples_and_pairs(seed):
    k = 2 + seed % 5
    features, labels, weight, bias = random_split(seed, k=k, d=3 + seed % 4, n=12 + 7 * seed, spread=0.5 + seed % 3)
    m = measure(features, labels, weight, bias, chunk=1 + seed % 9)
    for key, expected in loops(features, labels, weight, bias).items():
        assert m[key] == pytest.approx(expected, rel=1e-10, abs=1e-13), key


def test_test_split_ncc_uses_the_train_means():
    """Papyan 2020's protocol: NCC on test with the TRAIN split's class means."""
    train, train_y, weight, bias = random_split(1, k=3, d=4, n=30)
    test, test_y, _, _ = random_split(2, k=3, d=4, n=25, spread=2.0)
    train_means = torch.stack([train[train_y == c].mean(0) for c in range(3)])
    m = measure(test, test_y, weight, bias, train_means={None: train_means})
    expected = loops(test, test_y, weight, bias, centres=train_means)
    assert (m["ncc_acc"], m["nc4"]) == (pytest.approx(expected["ncc_acc"]), pytest.approx(expected["nc4"]))
    own = loops(test, test_y, weight, bias)
    assert (own["ncc_acc"], own["nc4"]) != (expected["ncc_acc"], expected["nc4"])  # the centres matter here


def test_cdnv_is_zero_at_collapse_and_grows_with_the_spread():
    features, labels, weight, bias = random_split(3)
    tight = measure(features.mean(0) + 0.01 * (features - features.mean(0)), labels, weight, bias)["cdnv"]
    values = [measure(random_split(3, spread=s)[0], labels, weight, bias)["cdnv"] for s in (0.1, 1.0, 3.0)]
    assert values == sorted(values) and tight > 0
    collapsed = torch.stack([features[labels == c].mean(0) for c in range(4)])[labels]
    assert measure(collapsed, labels, weight, bias)["cdnv"] == pytest.approx(0.0, abs=1e-20)


def test_nc4_counts_disagreement_of_the_head_and_the_nearest_centre():
    # two classes on a line: centres at -1 and +1; the head's threshold moved to 0.5 by its bias
    features = torch.tensor([[-1.0], [-0.2], [0.2], [0.4], [0.8], [1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1, 1])
    weight = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)
    bias = torch.tensor([-0.5, 0.5], dtype=torch.float64)  # s_0 = -h + 0.5, s_1 = h - 0.5: class 1 iff h > 0.5
    m = measure(features, labels, weight, bias)
    centres = np.array([-0.6, 0.6])  # class means: (-1 - 0.2)/2 and (0.2 + 0.4 + 0.8 + 1.0)/4
    ncc = [int(abs(x - centres[1]) < abs(x - centres[0])) for x in features[:, 0].tolist()]
    head = [int(x > 0.5) for x in features[:, 0].tolist()]
    assert m["ncc_acc"] == pytest.approx(np.mean(np.array(ncc) == labels.numpy()))
    assert m["nc4"] == pytest.approx(np.mean(np.array(ncc) == np.array(head))) == pytest.approx(4 / 6)


def test_degenerate_geometry_is_nan_not_infinite():
    """A dead network (every feature zero): no class direction exists, so the pairwise geometry is
    undefined; an infinite value would also not survive MLflow's store (it keeps 1.8e308)."""
    labels = torch.arange(3).repeat(4)
    weight = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    m = measure(torch.zeros(12, 5, dtype=torch.float64), labels, weight)
    assert math.isnan(m["gnc2_h"]) and math.isnan(m["cdnv"])
    finite = {k: v for k, v in m.items() if not math.isnan(v)}
    assert all(math.isfinite(v) for v in finite.values()), finite
    twins = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)  # classes 0 and 1 share their mean
    m = measure(twins, torch.tensor([0, 1, 2]), torch.eye(3, 2, dtype=torch.float64))
    assert math.isnan(m["cdnv"]) and math.isnan(m["gnc2_h"])
