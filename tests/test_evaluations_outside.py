"""Open-set recognition and OOD detection (trainers/evaluations/open_set.py, ood.py, roc.py)
against independent computations: scikit-learn's ROC functions and PCA, brute force over every
threshold, numpy's pseudo-inverse on the whole feature matrix; the held-out classes and the outside
data as a trial sees them; their config errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.preprocessing import StandardScaler

from trainers import TrialConfig, run_trial
from trainers.data import DATASETS
from trainers.data.outside import to_shape
from trainers.evaluations import EVALUATIONS
from trainers.evaluations.inputs import EvalInputs, Side
from trainers.evaluations.ood import mahalanobis, neco
from trainers.evaluations.roc import auroc, fpr_at_tpr, oscr
from trainers.metrics import Context
from trainers.metrics.split_pass import compute_split


def scores(seed, n=300, m=200, ties=False):
    g = torch.Generator().manual_seed(seed)
    inside, outside = torch.randn(n, generator=g) + 1.0, torch.randn(m, generator=g)
    if ties:  # a coarse grid: many ties within and across the two sides
        inside, outside = inside.mul(2).round(), outside.mul(2).round()
    return inside.double(), outside.double()


@pytest.mark.parametrize("seed,ties", [(0, False), (1, True), (2, True)])
def test_auroc_and_fpr95_equal_scikit_learn(seed, ties):
    inside, outside = scores(seed, ties=ties)
    truth = np.r_[np.ones(inside.numel()), np.zeros(outside.numel())]
    pooled = torch.cat([inside, outside]).numpy()
    assert auroc(inside, outside) == pytest.approx(roc_auc_score(truth, pooled), abs=1e-12)
    fpr, tpr, _ = roc_curve(truth, pooled, drop_intermediate=False)
    assert fpr_at_tpr(inside, outside) == pytest.approx(fpr[np.searchsorted(tpr, 0.95 - 1e-12)], abs=1e-12)
    assert math.isnan(auroc(inside, outside[:0]))


@pytest.mark.parametrize("seed,ties", [(0, False), (3, True)])
def test_oscr_equals_the_curve_over_every_threshold(seed, ties):
    inside, outside = scores(seed, ties=ties)
    correct = torch.rand(inside.numel(), generator=torch.Generator().manual_seed(seed)) < 0.8
    points = [(0.0, 0.0)]
    for t in sorted(set(torch.cat([inside, outside]).tolist()), reverse=True):
        ccr = float(((inside >= t) & correct).double().mean())
        points.append((float((outside >= t).double().mean()), ccr))
    fpr, ccr = np.array(points).T
    assert oscr(inside, correct, outside) == pytest.approx(np.trapezoid(ccr, fpr), abs=1e-12)
    # Perfect separation and classification: area 1; scores that carry nothing: the closed-set accuracy / 2.
    assert oscr(inside + 100, torch.ones_like(correct), outside) == pytest.approx(1.0)
    flat = torch.zeros(50, dtype=torch.float64)
    assert oscr(flat, torch.arange(50) < 40, flat[:20]) == pytest.approx(0.8 / 2)


def features(n=600, k=5, d=16, seed=0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=g, dtype=torch.float64) * 3
    y = torch.arange(n) % k
    return centres[y] + torch.randn(n, d, generator=g, dtype=torch.float64) * (1 + torch.arange(d) / d) + shift, y


def test_mahalanobis_and_neco_equal_a_direct_computation_on_the_whole_matrix():
    h, y = features()
    w = torch.randn(5, 16, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    stats = compute_split(h, y, Context.of(w, None), chunk=97).stats[None]
    query, _ = features(n=40, seed=1, shift=0.5)
    # Mahalanobis: numpy's pinv of the pooled covariance, every class mean, the nearest.
    x, labels = h.numpy(), y.numpy()
    means = np.stack([x[labels == c].mean(0) for c in range(5)])
    sigma = sum(np.outer(r, r) for r in x - means[labels]) / len(x)
    q = query.numpy()
    direct = -np.min([np.einsum("nd,de,ne->n", q - mu, np.linalg.pinv(sigma), q - mu) for mu in means], axis=0)
    assert mahalanobis(query, stats).numpy() == pytest.approx(direct, rel=1e-9)
    # NECO: scikit-learn's StandardScaler and PCA on the train features (NECO's official recipe).
    scaler = StandardScaler().fit(x)
    pca = PCA().fit(scaler.transform(x))
    z = scaler.transform(q)
    expected = np.linalg.norm(pca.transform(z)[:, :4], axis=1) / np.linalg.norm(z, axis=1)
    assert neco(query, stats).numpy() == pytest.approx(expected, rel=1e-8)


def side(h, y, w, b):
    return Side.of(h, y, Context.of(w, b))


def test_open_set_threshold_accuracy_and_scores_by_brute_force():
    h, y = features(n=200, k=4, d=6)
    g = torch.Generator().manual_seed(3)
    w, b = torch.randn(4, 6, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    other, _ = features(n=80, k=3, d=6, seed=7)
    inputs = EvalInputs(side(h, y, w, b), unknown=side(other, None, w, b))
    out = EVALUATIONS["open_set"].fn(inputs)
    s_known, s_unknown = (h @ w.T - b).numpy(), (other @ w.T - b).numpy()
    right = sum(int(r.argmax() == c and r.max() > 0) for r, c in zip(s_known, y.tolist()))
    rejected = sum(int(r.max() <= 0) for r in s_unknown)
    assert out["threshold_acc"] == pytest.approx((right + rejected) / 280)
    truth = np.r_[np.ones(200), np.zeros(80)]
    assert out["auroc_margin"] == pytest.approx(roc_auc_score(truth, np.r_[s_known.max(1), s_unknown.max(1)]))
    z = np.r_[(h @ w.T).numpy(), (other @ w.T).numpy()]
    assert out["auroc_max_score"] == pytest.approx(roc_auc_score(truth, z.max(1)))
    assert set(out) == set(EVALUATIONS["open_set"].keys)


def test_held_out_classes_leave_training_and_become_the_unknown_split():
    cfg = DATASETS.make(name="digits", open_set={"unknown_classes": [2, 7]})
    full, data = DATASETS.make(name="digits").load(), cfg.prepared()
    assert data.num_classes == 8 and set(data.y_train.tolist()) == set(range(8))
    assert set(data.y_unknown.tolist()) == {2, 7} and data.x_unknown.shape[0] == int(
        ((full.y_test == 2) | (full.y_test == 7)).sum()
    )
    renumbered = torch.tensor([0, 1, -1, 2, 3, 4, 5, -1, 6, 7])
    kept = (full.y_test != 2) & (full.y_test != 7)
    assert torch.equal(data.y_test, renumbered[full.y_test[kept]]) and torch.equal(data.x_test, full.x_test[kept])
    draw = DATASETS.make(name="digits", open_set={"count": 3, "seed": 4}).open_set
    assert len(draw.classes(10)) == 3 and draw.classes(10) == draw.classes(10)
    with pytest.raises(ValueError, match=r"data.open_set.count: 9 of 10 classes .* \(allowed: 1 to 8\)"):
        DATASETS.make(name="digits", open_set={"count": 9}).prepared()
    with pytest.raises(ValueError, match="class 12 does not exist"):
        DATASETS.make(name="digits", open_set={"unknown_classes": [12]}).prepared()


def test_outside_data_takes_the_trials_shape():
    x = torch.randn(5, 3, 32, 32)
    assert to_shape(x, (1, 8, 8)).shape == (5, 1, 8, 8)
    assert torch.allclose(to_shape(x[:, :1], (3, 32, 32))[:, 2], x[:, 0])
    with pytest.raises(ValueError, match="vectors of"):
        to_shape(torch.randn(4, 10), (12,))


def test_patches_need_no_download_and_keep_train_and_test_pixels_apart():
    data = DATASETS.make(name="patches", train_per_class=20, test_per_class=10, size=16).load()
    assert data.x_train.shape == (40, 3, 16, 16) and data.x_test.shape == (20, 3, 16, 16)
    assert data.x_train.dtype == torch.uint8 and set(data.y_test.tolist()) == {0, 1}
    x, _ = next(data.eval_batches("train", 64))
    assert abs(float(x.mean())) < 0.05 and 0.9 < float(x.std()) < 1.1  # its own normalization


def test_a_trial_reports_open_set_and_ood_and_settings_they_need_are_config_errors():
    config = TrialConfig.model_validate(
        {
            "data": {"name": "digits", "open_set": {"count": 3}},
            "model": {"name": "mlp", "width": 32, "depth": 1},
            "train": {"epochs": 2, "batch_size": 64},
            "metrics": {
                "evaluations": ["open_set", "ood"],
                "ood": {"dataset": {"name": "patches", "train_per_class": 20, "test_per_class": 50}},
            },
        }
    )
    history: dict[int, dict] = {}
    run_trial(config, lambda epoch, m: history.update({epoch: m}))
    keys = {f"test/{e}/{k}" for e in ("open_set", "ood") for k in EVALUATIONS[e].keys}
    assert keys <= set(history[2]) and all(math.isfinite(history[2][k]) for k in keys)
    with pytest.raises(ValueError, match=r"'open_set' needs data.open_set"):
        TrialConfig.model_validate({"metrics": {"evaluations": ["open_set"]}})
    with pytest.raises(ValueError, match=r"metrics.ood.dataset: 'synthetic' is vectors, data.name 'digits' is images"):
        TrialConfig.model_validate({"metrics": {"evaluations": ["ood"], "ood": {"dataset": "synthetic"}}})
