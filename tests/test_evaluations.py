"""The evaluations (trainers/evaluations) against independent computations: retrieval against
pytorch-metric-learning's AccuracyCalculator, verification against brute force over every
threshold, the pair sampler's guarantees, chunking that changes nothing, and a trial that logs them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning.distances import CosineSimilarity
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import CustomKNN

from trainers import TrialConfig, run_trial
from trainers.evaluations import EVALUATIONS, retrieval, verification
from trainers.evaluations.retrieval import recall_and_map
from trainers.evaluations.verification import best_accuracy, sample_pairs, tar_at_far, verify


def clusters(n=400, k=7, d=12, spread=1.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(k, (n,), generator=g)
    centres = torch.randn(k, d, generator=g, dtype=torch.float64) * spread
    return centres[labels] + torch.randn(n, d, generator=g, dtype=torch.float64), labels


@pytest.mark.parametrize("seed", [0, 1])
def test_retrieval_equals_pytorch_metric_learning(seed):
    h, y = clusters(seed=seed)
    ours = recall_and_map(h, y)
    calculator = AccuracyCalculator(
        include=("precision_at_1", "mean_average_precision_at_r"), knn_func=CustomKNN(CosineSimilarity())
    )
    theirs = calculator.get_accuracy(h.float(), y, h.float(), y, ref_includes_query=True)
    assert 0.3 < ours["recall_at_1"] < 1.0  # a case where neighbours err
    assert ours["recall_at_1"] == pytest.approx(theirs["precision_at_1"], abs=1e-6)
    assert ours["map_at_r"] == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-6)


def test_retrieval_in_small_query_blocks_changes_nothing(monkeypatch):
    h, y = clusters()
    whole = recall_and_map(h, y)
    monkeypatch.setattr(retrieval, "QUERY_CHUNK", 37)
    assert recall_and_map(h, y) == pytest.approx(whole, rel=1e-12)


def brute_tar(positive, negative, far):
    """The lowest threshold among the observed similarities (and below all) that lets at most
    far * M negatives pass, then the share of positives above it."""
    pos, neg = np.asarray(positive), np.asarray(negative)
    for t in np.sort(np.concatenate([[neg.min() - 1], neg])):
        if (neg > t).sum() <= math.floor(far * neg.size):
            return (pos > t).mean()
    raise AssertionError


def brute_best(positive, negative):
    pos, neg = np.asarray(positive), np.asarray(negative)
    scores = np.concatenate([pos, neg])
    best = 0.0
    for t in np.concatenate([[scores.min() - 1], scores]):
        best = max(best, ((pos > t).sum() + (neg <= t).sum()) / scores.size)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tar_at_far_and_best_threshold_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    positive = torch.tensor(np.round(rng.normal(0.5, 0.3, 400), 2))  # rounded: ties between and within
    negative = torch.tensor(np.round(rng.normal(0.0, 0.3, 1500), 2))
    for far in (1e-2, 1e-3, 0.1):
        assert tar_at_far(positive, negative, far) == pytest.approx(brute_tar(positive, negative, far))
    assert best_accuracy(positive, negative) == pytest.approx(brute_best(positive, negative))


def test_pair_samples_are_distinct_ordered_of_the_right_kind_and_seeded():
    _, y = clusters(n=300)
    positives = sample_pairs(y, 10**9, True, 0)
    sizes = torch.bincount(y)
    assert len(positives) == int((sizes * (sizes - 1) // 2).sum())  # all of them when few
    for positive, count in ((True, 500), (False, 2000)):
        pairs = sample_pairs(y, count, positive, 3)
        assert len(pairs) == count and len({tuple(p) for p in pairs.tolist()}) == count
        assert (pairs[:, 0] < pairs[:, 1]).all()
        assert ((y[pairs[:, 0]] == y[pairs[:, 1]]) == positive).all()
        assert torch.equal(pairs, sample_pairs(y, count, positive, 3))
        assert not torch.equal(pairs, sample_pairs(y, count, positive, 4))


def test_verification_equals_brute_force_on_the_full_similarity_matrix(monkeypatch):
    h, y = clusters(n=300)
    out = verify(h, y, 5)
    unit = F.normalize(h, dim=1)
    full = (unit @ unit.T).numpy()  # brute force: every pair's similarity from one N x N matrix
    positive_pairs = sample_pairs(y, verification.MAX_PAIRS, True, 5).numpy()
    negative_pairs = sample_pairs(y, len(positive_pairs), False, 6).numpy()
    pos = full[positive_pairs[:, 0], positive_pairs[:, 1]]
    neg = full[negative_pairs[:, 0], negative_pairs[:, 1]]
    assert out["tar_at_far_1e-2"] == pytest.approx(brute_tar(pos, neg, 1e-2))
    assert out["tar_at_far_1e-3"] == pytest.approx(brute_tar(pos, neg, 1e-3))
    assert out["best_accuracy"] == pytest.approx(brute_best(pos, neg))
    assert 0.5 < out["best_accuracy"] < 1.0


def test_ten_thousand_samples_run_in_blocks():
    """The issue's scale: 10,000 test samples; retrieval holds QUERY_CHUNK x N similarities, the
    verification a million pairs' similarities, never the 10^8 of N x N."""
    h, y = clusters(n=10_000, k=10, d=32, spread=1.0)
    out = {**recall_and_map(h, y), **verify(h, y, 0)}
    assert all(0.0 <= v <= 1.0 for v in out.values()), out


def test_a_trial_logs_its_evaluations_at_the_last_epoch_and_unknown_names_are_config_errors():
    config = TrialConfig.model_validate(
        {
            "data": {"name": "synthetic", "num_classes": 4, "dim": 8, "train_per_class": 40, "test_per_class": 30},
            "model": {"name": "mlp", "width": 32, "depth": 1},
            "train": {"epochs": 2, "batch_size": 32},
            "metrics": {"evaluations": ["retrieval", "verification"]},
        }
    )
    history: dict[int, dict] = {}
    run_trial(config, lambda epoch, m: history.update({epoch: m}))
    keys = {f"test/{e}/{k}" for e in ("retrieval", "verification") for k in EVALUATIONS[e].keys}
    assert keys <= set(history[2]) and not keys & set(history[1])
    assert all(0.0 <= history[2][k] <= 1.0 for k in keys)
    registered = "retrieval, verification, open_set, ood"
    with pytest.raises(ValueError, match=f"unknown evaluation 'retreival'; registered: {registered}"):
        TrialConfig.model_validate({"metrics": {"evaluations": ["retreival"]}})
