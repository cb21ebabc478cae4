"""The streaming metrics pass against the direct computation on all features at once (the code
ncsweep used before, trainers/metrics/reference.py): every metric equal to 1e-12, whatever the
chunking; Chan's update stable where the naive sum cancels; memory that does not hold N x d; the
trial's metrics pass the same with features kept or recomputed, with or without the train split."""

import math

import pytest
import torch
from conftest import nan_equal
from test_metrics import measure
from test_trainer import config

from trainers.evaluate import evaluate
from trainers.losses import LOSSES
from trainers.metrics import METRICS, Context, SplitPass, compute_split
from trainers.metrics.reference import all_metrics
from trainers.metrics.stats import ClassMoments
from trainers.setup import prepare


def features_of(seed: int, k: int, d: int, n: int, spread: float, offset: float = 10.0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.cat(
        [torch.arange(k), torch.randint(0, k, (n - k,), generator=gen)]
    )  # unbalanced, every class present
    centres = 3 * torch.randn(k, d, dtype=torch.float64, generator=gen) + offset
    features = centres[labels] + spread * torch.randn(n, d, dtype=torch.float64, generator=gen)
    weight = torch.randn(k, d, dtype=torch.float64, generator=gen)
    return features, labels, weight, gen


def assert_close(a: dict, b: dict, rel: float, keys=None) -> None:
    for key in keys or b:
        x, y = a[key], b[key]
        if math.isnan(y):
            assert math.isnan(x), key
        else:
            # maxangle_h is exactly 0 for K = 2 (two centred means are always opposite): absolute there.
            # The ranks: eigenvalues of the streamed Gram H^T H against the SVD of H, whose squares
            # carry the condition number squared: 1e-9.
            tolerance = max(rel, 1e-9) if "rank" in key else rel
            assert x == pytest.approx(y, rel=tolerance, abs=1e-13), key


@pytest.mark.parametrize("seed", range(24))
def test_streaming_pass_equals_the_direct_computation(seed):
    k, d = 2 + seed % 9, 2 + (7 * seed) % 31
    n = 3 * k + 37 * seed
    features, labels, weight, gen = features_of(seed, k, d, n, spread=[1.0, 0.01, 1e-4][seed % 3])
    bias = [
        torch.randn(k, dtype=torch.float64, generator=gen),
        torch.randn(1, dtype=torch.float64, generator=gen),
        None,
    ][seed % 3]
    loss = LOSSES.make(name=["ce", "bce", "focal", "mse"][seed % 4], label_smoothing=0.1 * (seed % 2))
    chunk = [1, 7, 64, n][seed % 4]
    streamed = measure(features, labels, weight, bias, loss, lambda_b=0.3, chunk=chunk)
    assert_close(streamed, all_metrics(features, labels, weight, bias, loss, lambda_b=0.3), rel=1e-12)
    assert list(streamed) == METRICS.keys()


def test_the_chunking_does_not_change_any_value_nor_the_score_samples():
    features, labels, weight, gen = features_of(5, 6, 11, 500, spread=0.5)
    ctx = Context.of(weight, torch.randn(6, dtype=torch.float64, generator=gen), LOSSES.make(name="bce"))
    results = []
    for chunk in (1, 33, 500):
        split = SplitPass(ctx, samples=40, seed=3)
        for start in range(0, 500, chunk):
            split.first(features[start : start + chunk], labels[start : start + chunk])
        for start in range(0, 500, chunk):
            split.second(features[start : start + chunk], labels[start : start + chunk])
        results.append(split.finish())
    for other in results[1:]:
        assert_close(other.values, results[0].values, rel=1e-12)
        for kind in ("pos", "neg"):  # bottom-k keys follow the values, not the batches (scores equal to rounding)
            assert other.samples[kind] == pytest.approx(results[0].samples[kind], rel=1e-13)
    z = features @ weight.T
    own = torch.nn.functional.one_hot(labels, 6).bool()
    samples = results[2].samples  # one chunk: the scores are exactly z's
    assert set(samples["pos"]) <= set(z[own].tolist()) and len(samples["neg"]) == 40
    assert set(samples["neg"]) <= set(z[~own].tolist())


def test_chan_update_keeps_the_within_scatter_where_the_naive_sum_cancels():
    """Features near collapse far from the origin: sum h h^T - n mu mu^T loses every digit."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat(200)
    features = (
        1e5
        + torch.randn(3, 4, dtype=torch.float64, generator=gen)[labels]
        + 1e-3 * torch.randn(600, 4, dtype=torch.float64, generator=gen)
    )
    means = torch.stack([features[labels == c].mean(0) for c in range(3)])
    direct = (features - means[labels]).T @ (features - means[labels])  # two passes: exact to rounding
    moments = ClassMoments(3, 4)
    for start in range(0, 600, 50):
        moments.update(features[start : start + 50], labels[start : start + 50])

    def error(scatter):
        return (torch.linalg.matrix_norm(scatter - direct) / torch.linalg.matrix_norm(direct)).item()

    # h - mu is known to ~1e5 * 1e-16 of 1e-3: 1e-8 relative, for both the direct form and Chan's
    assert error(moments.within) < 1e-6
    naive = features.T @ features - sum((labels == c).sum() * torch.outer(means[c], means[c]) for c in range(3))
    assert error(naive) > 1e-1  # what the update avoids: 6e12 - 6e12 leaves rounding, not the 6e-4 scatter


def test_the_pass_holds_statistics_not_features():
    """Memory O(K d + d^2 + N): after 10,000 samples of 64 features the pass holds no N x d."""
    k, d, n = 5, 64, 10_000
    features, labels, weight, _ = features_of(1, k, d, n, spread=1.0)
    split = SplitPass(Context.of(weight, None, LOSSES.make(name="ce")))
    for start in range(0, n, 1000):
        split.first(features[start : start + 1000], labels[start : start + 1000])
    held = [t for level in split.levels.values() for t in (*vars(level.moments).values(), *level.sums.values())]
    held += [*split.pos, *split.neg_max]
    assert sum(t.numel() for t in held) <= k * d + d * d + 2 * k + k + 2 * n  # far below n * d = 640,000


def _trial_metrics(**sections) -> dict:
    cfg = config(train={"epochs": 1}, **sections)
    t = prepare(cfg)
    return evaluate(cfg, t.model, t.data, tap=t.tap)


def test_features_kept_or_recomputed_give_the_same_metrics():
    kept = _trial_metrics(metrics={"layers": "stages"})
    recomputed = _trial_metrics(metrics={"layers": "stages", "feature_cache_mb": 0})
    assert nan_equal(kept) == nan_equal(recomputed) and "test/layers/hidden1/ncc_acc" in kept


def test_test_split_alone_uses_the_train_means_all_the_same():
    both = _trial_metrics(metrics={"layers": "stages"})
    test_only = _trial_metrics(metrics={"layers": "stages", "splits": ["test"]})
    assert not any(key.startswith("train/") for key in test_only)
    assert nan_equal(test_only) == nan_equal({k: v for k, v in both.items() if not k.startswith("train/")})


def test_layer_metrics_are_the_metrics_of_the_layer_features():
    features, labels, weight, gen = features_of(2, 4, 6, 120, spread=1.0)
    layer = (
        torch.randn(120, 9, dtype=torch.float64, generator=gen)
        + 2 * torch.randn(4, 9, dtype=torch.float64, generator=gen)[labels]
    )
    ctx = Context.of(weight, torch.zeros(4, dtype=torch.float64))
    result = compute_split(features, labels, ctx, layers={"l1": layer}, chunk=17)
    as_features = measure(layer, labels, torch.randn(4, 9, dtype=torch.float64, generator=gen))
    assert_close(result.layers["l1"], as_features, rel=1e-12, keys=["nc1", "cdnv", "nc2_h", "ncc_acc"])
    # nc4 of a layer: the head's own prediction (from the penultimate features) against the layer's NCC
    centres = torch.stack([layer[labels == c].mean(0) for c in range(4)])
    agree = ((features @ weight.T).argmax(1) == torch.cdist(layer, centres).argmin(1)).double().mean().item()
    assert result.layers["l1"]["nc4"] == pytest.approx(agree)
    assert set(result.layers["l1"]) == set(METRICS.layer_keys())
