"""The trainer on its own: no Ray, no MLflow."""

import math

import pytest
import torch
from conftest import nan_equal

from trainers import DIVERGED, FINISHED, TrialConfig, run_trial
from trainers.data import load_dataset
from trainers.heads import CLASSIFIERS
from trainers.loop import DISTRIBUTIONS, regularized_objective
from trainers.metrics import METRICS
from trainers.models import build_model
from trainers.schedules import SCHEDULES

SMALL = {
    "data": {"name": "synthetic", "num_classes": 3, "dim": 5, "train_per_class": 20, "test_per_class": 10},
    "model": {"name": "mlp", "width": 8, "depth": 1},
    "train": {"epochs": 4, "batch_size": 16},
}


def config(**sections) -> TrialConfig:
    tree = {k: dict(v) for k, v in SMALL.items()}
    for key, value in sections.items():
        if isinstance(value, dict):
            tree.setdefault(key, {}).update(value)
        else:
            tree[key] = value
    return TrialConfig.model_validate(tree)


def collect(cfg: TrialConfig) -> tuple[str, dict[int, dict[str, float]]]:
    reports: dict[int, dict[str, float]] = {}
    status = run_trial(cfg, lambda epoch, metrics: reports.__setitem__(epoch, metrics))
    return status, reports


def test_head_subtracts_the_bias_and_initializes_it_around_the_mean():
    torch.manual_seed(0)
    head = CLASSIFIERS.make(bias="per_class", bias_init_mean=10.0).build(feature_dim=16, num_classes=5)
    h = torch.randn(3, 16)
    assert torch.allclose(head(h), h @ head.weight.T - head.bias)
    assert ((head.bias - 10.0).abs() <= 1 / math.sqrt(16)).all()
    unified = CLASSIFIERS.make(bias="unified", bias_init_mean=2.0).build(16, 5)
    assert unified.bias.shape == (1,) and torch.allclose(unified(h), h @ unified.weight.T - unified.bias)
    assert CLASSIFIERS.make(bias="none").build(16, 5).bias is None


def test_every_metric_reported_for_each_split_every_epoch():
    status, reports = collect(config())
    assert status == FINISHED and sorted(reports) == [1, 2, 3, 4]
    for metrics in reports.values():
        for split in ("train", "test"):
            assert {f"{split}/{k}" for k in METRICS.keys()} <= set(metrics)
        floats = {k: v for k, v in metrics.items() if k != DISTRIBUTIONS}
        conditional = {m.key for m in METRICS if m.only} | {"uniform_threshold"}  # NaN outside their condition
        assert all(math.isfinite(v) for k, v in floats.items() if k.rsplit("/", 1)[-1] not in conditional)
    assert [e for e, m in reports.items() if DISTRIBUTIONS in m] == [4]


def test_final_report_carries_bias_and_score_samples():
    """The violin artifact: the real bias vector and samples of the real per-sample scores."""
    _, reports = collect(config(metrics={"distribution_samples": 25}))
    final = reports[4][DISTRIBUTIONS]
    assert len(final["bias"]) == 3
    assert sum(final["bias"]) / 3 == pytest.approx(reports[4]["train/bias_mean"])
    train = final["splits"]["train"]
    assert len(train["pos"]) == 25 and len(train["neg"]) == 25  # 60 positives, 120 negatives, capped
    test = final["splits"]["test"]
    assert len(test["pos"]) == 25  # 30 test samples
    mean_pos = reports[4]["test/pos_score_mean"]
    assert min(test["pos"]) <= mean_pos <= max(test["pos"])


def test_metrics_every_n_epochs_and_always_at_the_last():
    _, reports = collect(config(train={"epochs": 5}, metrics={"every": 2}))
    with_nc = [e for e, m in reports.items() if "train/nc1" in m]
    assert with_nc == [2, 4, 5]
    assert all("optim/batch_loss" in m for m in reports.values())


def _equal_but_time(a, b):
    def strip(r):
        return {e: nan_equal({k: v for k, v in m.items() if not k.startswith("time/")}) for e, m in r.items()}

    return strip(a) == strip(b)


def test_same_seed_same_metrics_different_seed_different():
    a, b, c = collect(config())[1], collect(config())[1], collect(config(seed=1))[1]
    assert _equal_but_time(a, b)
    assert not _equal_but_time(a, c)


@pytest.mark.parametrize("loss", ["ce", "bce"])
@pytest.mark.parametrize("bias", ["per_class", "unified", "none"])
def test_losses_and_bias_modes_train(loss, bias):
    status, reports = collect(config(loss={"name": loss}, classifier={"bias": bias, "bias_init_mean": 1.0}))
    assert status == FINISHED
    last = reports[4]
    assert last["train/acc"] > 0.5  # three well separated clusters
    assert math.isnan(last["train/bias_residual"]) == (bias == "none")


def test_ce_keeps_the_mean_bias_exactly_without_bias_decay():
    """CE's bias gradient sums to zero over classes, so SGD never moves the mean bias (claim 7a)."""
    cfg = config(classifier={"bias_init_mean": 7.0}, optim={"lr": 0.05})
    torch.manual_seed(cfg.seed)
    data = load_dataset(cfg.data)
    initial = build_model(cfg.model, cfg.classifier, data.input_shape, data.num_classes).head.bias.mean().item()
    _, reports = collect(cfg)
    assert reports[4]["train/bias_mean"] == pytest.approx(initial, abs=1e-5)


def test_cnn_on_digits_runs():
    cfg = TrialConfig.model_validate({"model": {"name": "cnn", "channels": 4, "width": 16}, "train": {"epochs": 1}})
    status, reports = collect(cfg)
    assert status == FINISHED and reports[1]["test/acc"] > 0.1


def test_non_finite_loss_stops_the_trial_as_diverged():
    status, reports = collect(config(optim={"lr": 1e6}, train={"epochs": 20}))
    assert status == DIVERGED
    last = reports[max(reports)]
    assert last["diverged"] == 1.0 and max(reports) < 20


def test_regularized_objective_matches_the_formula():
    cfg = config(regularization={"lambda_w": 0.1, "lambda_b": 0.2, "lambda_h": 0.3})
    model = build_model(cfg.model, cfg.classifier, (5,), 3)
    h = torch.randn(4, 8)
    data_loss = torch.tensor(1.5)
    expected = (
        1.5 + 0.05 * model.head.weight.square().sum() + 0.1 * model.head.bias.square().sum() + 0.15 * h.square().sum()
    )
    assert regularized_objective(cfg, model, h, data_loss).item() == pytest.approx(expected.item())


def test_schedules_and_linear_lr_scaling():
    step = SCHEDULES.make(name="step", milestones=(2, 4), gamma=0.1)
    assert [step.factor(e, 6) for e in range(6)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    cosine = SCHEDULES.make(name="cosine", warmup_epochs=2)
    factors = [cosine.factor(e, 10) for e in range(10)]
    assert factors[:3] == pytest.approx([0.5, 1.0, 1.0]) and factors[-1] < 0.05
    assert SCHEDULES.make(name="constant").factor(7, 10) == 1.0
    # A warmup works before any schedule: linear to the base lr, then the schedule's own decay.
    warm_step = SCHEDULES.make(name="step", milestones=(4,), gamma=0.1, warmup_epochs=2)
    assert [warm_step.factor(e, 6) for e in range(6)] == pytest.approx([0.5, 1, 1, 1, 0.1, 0.1])
    scaled = config(optim={"lr": 0.1, "lr_scaling": "linear", "base_batch_size": 128}, train={"batch_size": 512})
    assert scaled.effective_lr == pytest.approx(0.4)
    _, reports = collect(scaled)
    assert reports[1]["optim/lr"] == pytest.approx(0.4)


def test_digits_split_is_stratified_and_fixed():
    a = load_dataset(TrialConfig().data)
    b = load_dataset(TrialConfig().data)
    assert torch.equal(a.x_train, b.x_train) and a.x_train.shape == (1347, 1, 8, 8)
    counts = torch.bincount(a.y_test, minlength=10)
    assert counts.min() >= 40 and a.num_classes == 10
