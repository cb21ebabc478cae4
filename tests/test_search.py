"""Search spaces, the validation split, early stopping, `ncsweep tune` and what a sweep costs (issue 22).

The units: the `search:` section's checks, the stratified validation split, the choice of each
point's best configuration and the best.yaml it becomes, the cost estimate's arithmetic, the paired
comparison of losses tuned apart. The integration tests run real searches on Ray Tune (its
BasicVariantGenerator, OptunaSearch and ASHA) into an sqlite store, and `ncsweep tune` end to end."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
import yaml
from conftest import tiny_sweep

from orchestrator.cli.parser import main
from orchestrator.cli.tune import best_per_point, best_sweep_text
from orchestrator.cluster.cost import bill, estimate
from orchestrator.running.search import Sample
from orchestrator.sweep.spec import load_sweep
from trainers.config import TrialConfig
from trainers.data.labels import stratified_split

SPACE = {"optim.lr": {"loguniform": [1.0e-3, 1.0e-1]}, "train.batch_size": {"choice": [16, 32]}}


def search_sweep(path, name="search", search=None, **overrides):
    base = {
        "data": {
            "name": "synthetic",
            "num_classes": 4,
            "dim": 8,
            "train_per_class": 30,
            "test_per_class": 10,
            "val_fraction": 0.25,
        },
        "model": {"name": "mlp", "width": 16, "depth": 1},
        "train": {"epochs": 4, "batch_size": 32},
    }
    spec = {
        "search": {"num_samples": 3, "metric": "val/acc", "space": SPACE, **(search or {})},
        "base": base,
        **overrides,
    }
    return tiny_sweep(path, name, **spec)


# -- the sweep file --------------------------------------------------------------------------------


def test_a_search_composes_with_grid_and_seeds_and_validate_prints_count_and_space(tmp_path, capsys):
    path = search_sweep(
        tmp_path / "s.yaml", seeds=[0, 1], scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2}
    )
    sweep = load_sweep(path)
    assert sweep.total == 2 * 3 * 2  # 2 losses x 3 samples x 2 seeds
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: 12 trials (2 points x 3 random samples x 2 seeds)" in out
    assert "  optim.lr: loguniform [0.001, 0.1]" in out and "  train.batch_size: choice [16, 32]" in out
    assert "judged on val/acc, max; seed 0" in out and "ASHA, grace period 1 epochs, reduction factor 2" in out


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"search": {"metric": "test/acc"}}, "search.metric: 'test/acc' selects on the test split"),
        (
            {"search": {"metric": "val/accuracy"}},
            "search.metric: 'val/accuracy' is not a logged metric; allowed: <split>/<metric> with split train, "
            "val, test",
        ),
        (
            {"search": {"space": {"optim.lr": {"normal": [0, 1]}}}},
            "search.space.optim.lr.normal: unknown key; allowed keys: choice, loguniform, quniform, randint, uniform",
        ),
        (
            {"search": {"space": {"optim.lr": {"uniform": [0.1, 0.01]}}}},
            "uniform: expected [low, high] with low < high",
        ),
        ({"search": {"space": {"optim.lr": {"loguniform": [0, 0.1]}}}}, "loguniform: the low end must be above 0"),
        (
            {"search": {"space": {"optim.lr": {"uniform": [0.1, 0.2], "choice": [1]}}}},
            "expected exactly one distribution",
        ),
        (
            {"search": {"space": {"train.batch_size": {"choice": [32, 0]}}}},
            "search.space.train.batch_size (value 0), at train.batch_size: Input should be greater than or equal to 1",
        ),
        ({"search": {"space": {"loss.name": {"choice": ["ce"]}}}}, "search.space.loss.name: set by the grid too"),
        ({"search": {"space": {"seed": {"randint": [0, 9]}}}}, "search.space.seed: the seeds come from seeds:"),
        (
            {"scheduler": {"name": "asha", "grace_period": 5}},
            "scheduler.grace_period: 5 epochs, more than a trial's train.epochs (4)",
        ),
        ({"search": {"algorithm": "bayes"}}, "search.algorithm: Input should be 'random' or 'optuna'"),
    ],
)
def test_a_bad_search_is_one_message_naming_the_key_and_exit_2(tmp_path, capsys, change, expected):
    search = change.get("search", {})
    extra = {k: v for k, v in change.items() if k != "search"}
    path = search_sweep(tmp_path / "bad.yaml", search=search, **extra)
    assert main(["validate", str(path), "--no-data-check"]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert err.startswith(f"error: {path}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]  # nothing written


def test_test_selection_is_allowed_when_said_and_a_val_metric_needs_a_val_split(tmp_path, capsys):
    allowed = search_sweep(tmp_path / "ok.yaml", search={"metric": "test/acc"}, allow_test_selection=True)
    assert load_sweep(allowed).total == 6
    no_val = tiny_sweep(tmp_path / "noval.yaml", "noval", search={"num_samples": 2, "space": SPACE})
    assert main(["validate", str(no_val), "--no-data-check"]) == 2
    assert "search.metric: 'val/acc' needs a validation split; set data.val_fraction" in capsys.readouterr().err
    lonely = tiny_sweep(tmp_path / "lonely.yaml", "lonely", scheduler={"name": "asha"})
    assert main(["validate", str(lonely), "--no-data-check"]) == 2
    assert "scheduler: early stopping needs a search: section" in capsys.readouterr().err


# -- the validation split --------------------------------------------------------------------------


def test_the_validation_split_is_stratified_seeded_and_disjoint():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    train, val = stratified_split(labels, 3, 0.2, seed=7)
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))  # a partition
    assert torch.bincount(labels[val], minlength=3).tolist() == [10, 6, 4]  # round(0.2 n_k) per class
    again, _ = stratified_split(labels, 3, 0.2, seed=7)
    other, _ = stratified_split(labels, 3, 0.2, seed=8)
    assert torch.equal(train, again) and not torch.equal(train, other)
    tiny, held = stratified_split(torch.tensor([0, 0, 1, 1]), 2, 0.01, seed=0)
    assert torch.bincount(torch.tensor([0, 0, 1, 1])[held]).tolist() == [1, 1]  # at least one per class
    with pytest.raises(ValueError, match="at least 2 per class"):
        stratified_split(torch.tensor([0, 1, 1]), 2, 0.5, seed=0)


def test_the_val_split_is_carved_before_the_noise_and_keeps_clean_labels():
    data = {"name": "synthetic", "num_classes": 4, "dim": 8, "train_per_class": 40, "test_per_class": 10}
    plain = TrialConfig.model_validate({"data": data}).data.prepared()
    noisy = TrialConfig.model_validate(
        {"data": {**data, "val_fraction": 0.25, "label_noise": {"kind": "symmetric", "rate": 0.5}}}
    ).data.prepared()
    assert noisy.x_val.shape[0] == 40 and noisy.train_size == 120 and noisy.x_test.shape == plain.x_test.shape
    # every validation sample is a training sample of the plain data, with its true label
    rows = {tuple(x.tolist()): int(y) for x, y in zip(plain.x_train, plain.y_train)}
    assert all(rows[tuple(x.tolist())] == int(y) for x, y in zip(noisy.x_val, noisy.y_val))
    assert not set(map(tuple, noisy.x_val.tolist())) & set(map(tuple, noisy.x_train.tolist()))
    assert (noisy.y_train != noisy.train_labels(clean=True)).float().mean() == pytest.approx(0.5, abs=0.01)


def test_val_metrics_peak_memory_and_images_per_second_are_logged_each_epoch():
    from trainers import run_trial

    config = TrialConfig.model_validate(
        {
            "data": {
                "name": "synthetic",
                "num_classes": 4,
                "dim": 8,
                "train_per_class": 30,
                "test_per_class": 10,
                "val_fraction": 0.2,
            },
            "model": {"name": "mlp", "width": 16, "depth": 1},
            "train": {"epochs": 2},
        }
    )
    assert config.metric_splits == ("train", "test", "val")
    reports = []
    run_trial(config, lambda epoch, metrics: reports.append(metrics))
    for metrics in reports:
        assert 0 <= metrics["val/acc"] <= 1 and not math.isnan(metrics["val/nc1"])
        assert metrics["sys/peak_mem_mb"] > 10 and metrics["time/train_images_per_s"] > 0
    with pytest.raises(ValueError, match="'val' needs a validation split"):
        TrialConfig.model_validate({"metrics": {"splits": ["train", "val"]}})


# -- choosing the best, and the file it becomes ----------------------------------------------------


def test_each_points_best_is_the_best_mean_over_seeds_of_its_finished_trials():
    samples = {
        "ce-a-s0": Sample("ce", {"optim.lr": 0.1}, 0),
        "ce-a-s1": Sample("ce", {"optim.lr": 0.1}, 1),
        "ce-b-s0": Sample("ce", {"optim.lr": 0.01}, 0),
        "ce-b-s1": Sample("ce", {"optim.lr": 0.01}, 1),
        "ce-c-s0": Sample("ce", {"optim.lr": 0.5}, 0),
        "bce-a-s0": Sample("bce", {"optim.lr": 0.1}, 0),
    }
    trials = pd.DataFrame(
        [
            ("ce-a-s0", "finished", 0.90),
            ("ce-a-s1", "finished", 0.70),  # mean 0.80
            ("ce-b-s0", "finished", 0.85),
            ("ce-b-s1", "finished", 0.81),  # mean 0.83: best
            ("ce-c-s0", "stopped", 0.99),  # stopped early: not a candidate
            ("bce-a-s0", "finished", 0.5),
        ],
        columns=["run_name", "status", "final/val/acc"],
    )
    chosen = best_per_point(samples, trials, "val/acc", "max")
    assert chosen["ce"] == {"sampled": {"optim.lr": 0.01}, "mean": pytest.approx(0.83), "seeds": 2}
    assert chosen["bce"]["sampled"] == {"optim.lr": 0.1}
    assert best_per_point(samples, trials, "val/acc", "min")["ce"]["sampled"] == {"optim.lr": 0.1}


def test_best_yaml_is_a_sweep_of_the_chosen_values_with_the_final_seeds(tmp_path):
    path = search_sweep(tmp_path / "s.yaml", final_seeds=[3, 4], scheduler={"name": "asha"})
    sweep = load_sweep(path)
    chosen = {
        "ce": {"sampled": {"optim.lr": 0.02, "train.batch_size": 16}, "mean": 0.9, "seeds": 1},
        "bce": {"sampled": {"optim.lr": 0.05, "train.batch_size": 32}, "mean": 0.8, "seeds": 1},
    }
    best = tmp_path / "best.yaml"
    best.write_text(best_sweep_text(sweep, chosen, best))
    raw = yaml.safe_load(best.read_text())
    assert not {"search", "scheduler", "grid"} & set(raw) and raw["seeds"] == [3, 4]
    again = load_sweep(best)
    assert sorted(t.name for t in again.trials) == ["bce-s3", "bce-s4", "ce-s3", "ce-s4"]
    by_name = {t.name: t.config for t in again.trials}
    assert (
        by_name["ce-s4"].optim.lr == 0.02
        and by_name["ce-s4"].train.batch_size == 16
        and by_name["bce-s3"].optim.lr == 0.05
    )
    assert by_name["ce-s3"].data.val_fraction == 0.25  # the same training split as the search's
    assert "#   ce: 0.9000 over 1 seeds" in best.read_text()


def test_losses_tuned_apart_are_compared_with_each_other_each_at_its_own_values():
    from analysis.tables.compare import comparisons

    rows = []
    for loss, lr in (("ce", 0.01), ("bce", 0.05)):
        for seed in range(3):
            rows.append(
                {
                    "run_name": f"{loss}-s{seed}",
                    "status": "finished",
                    "loss.name": loss,
                    "optim.lr": lr,
                    "seed": seed,
                    "final/test/acc": 0.9 + 0.01 * seed + (0.02 if loss == "bce" else 0),
                }
            )
    table = comparisons(pd.DataFrame(rows))
    acc = table[(table["metric"] == "test/acc") & (table["loss"] == "bce")].iloc[0]
    assert acc["n"] == 3 and acc["mean_diff"] == pytest.approx(0.02) and "optim.lr" not in table


# -- cost ------------------------------------------------------------------------------------------


BENCH = {
    "command": "ncsweep bench",
    "device": "a test GPU",
    "train_size": 1000,
    "config": {"data": {"name": "synthetic"}, "model": {"name": "mlp"}, "train": {"batch_size": 32}},
    "rows": [
        {"row": "ncsweep, bf16", "images_per_s": 100.0, "ratio": 1.0, "note": "the trial's setting"},
        {"row": "metrics pass, share of an epoch at metrics.every 1", "images_per_s": None, "ratio": 0.2, "note": ""},
        {"row": "pack 2 (aggregate)", "images_per_s": 160.0, "ratio": 1.6, "note": ""},
    ],
}


def test_the_estimate_scales_the_bench_by_epochs_metrics_passes_and_packing(tmp_path):
    sweep = load_sweep(tiny_sweep(tmp_path / "s.yaml", "cost", resources={"cpu": 1, "gpu": 1}))
    epochs, every = sweep.trials[0].config.train.epochs, sweep.trials[0].config.metrics.every
    # 1000 images at 100/s = 10 s an epoch; a metrics pass is 0.2 of (epoch + pass): 2.5 s
    per_trial = epochs * 10 + math.ceil(epochs / every) * 2.5
    cost = estimate(sweep, {"cpus": 64, "gpus": 1}, BENCH)
    assert cost.trials == 2 and cost.at_once == 1
    assert cost.wall_s == pytest.approx(2 * per_trial) and cost.gpu_hours == pytest.approx(2 * per_trial / 3600)
    packed = load_sweep(tiny_sweep(tmp_path / "p.yaml", "packed", resources={"cpu": 1, "gpu": 0.5}))
    cost = estimate(packed, {"cpus": 64, "gpus": 1}, BENCH)
    slower = epochs * 1000 / 80 + math.ceil(epochs / every) * 2.5 * 100 / 80  # 80 images/s per copy of pack 2
    assert (
        cost.at_once == 2
        and cost.wall_s == pytest.approx(slower)
        and cost.gpu_hours == pytest.approx(2 * slower * 0.5 / 3600)
    )
    assert bill(pd.DataFrame({"wall_time_s": [1800.0, 5400.0]}), 0.5) == {"trial_hours": 2.0, "gpu_hours": 1.0}


def test_validate_estimates_wall_time_and_gpu_hours_from_a_bench_file(tmp_path, capsys):
    path = tiny_sweep(tmp_path / "s.yaml", "cost", resources={"cpu": 1, "gpu": 1})
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(BENCH))
    assert main(["validate", str(path), "--no-data-check", "--cluster", "gpus=8,cpus=64", "--bench", str(bench)]) == 0
    out = capsys.readouterr().out
    assert (
        "estimate: " in out
        and "GPU hours" in out
        and "from ncsweep bench on a test GPU: ncsweep, bf16 (100 images/s)" in out
    )
    assert (
        main(
            [
                "validate",
                str(path),
                "--no-data-check",
                "--cluster",
                "gpus=8,cpus=64",
                "--bench",
                str(tmp_path / "none.json"),
            ]
        )
        == 2
    )
    assert "--bench" in capsys.readouterr().err
    bench.write_text("{}")
    assert main(["validate", str(path), "--no-data-check", "--cluster", "gpus=8,cpus=64", "--bench", str(bench)]) == 2
    assert "not a JSON file written by `ncsweep bench`" in capsys.readouterr().err


def test_the_streamed_imagefolder_carves_the_same_kind_of_val_split(tmp_path):
    from datafiles import write_imagefolder

    from trainers.data import DATASETS
    from trainers.setup import load_dataset

    write_imagefolder(tmp_path, classes=3, train_per_class=8, val_per_class=2, side=16)
    data = load_dataset(DATASETS.make(name="imagenet", root=str(tmp_path), image_size=16, workers=0, val_fraction=0.25))
    assert data.has_val and data.train_size == 18 and len(data.val_set) == 6
    val = torch.cat([y for _, y in data.eval_batches("val", 4)])
    assert torch.bincount(val, minlength=3).tolist() == [2, 2, 2]
    held = {path for path, _ in data.val_set.samples}
    assert not held & {path for path, _ in data.train_set.samples} and all("/train/" in path for path in held)


def test_the_shipped_search_sweeps_validate_with_the_counts_the_readme_gives(capsys):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "docs/commands.md").read_text()
    for name, count in (("digits.yaml", 16), ("tune_losses.yaml", 24)):
        path = root / "sweeps/search" / name
        assert main(["validate", str(path)]) == 0
        assert capsys.readouterr().out.startswith(f"{path}: {count} trials (")
        assert f"| `sweeps/search/{name}` | {count} |" in readme
        sweep = load_sweep(path)
        assert sweep.spec.search.metric.startswith("val/") and sweep.spec.scheduler is not None


def test_a_repeated_draw_is_a_trial_of_its_own_and_each_draws_seeds_share_a_group(tmp_path):
    from types import SimpleNamespace

    from orchestrator.output.progress import SweepProgress
    from orchestrator.running.search import SampleNames

    sweep = load_sweep(search_sweep(tmp_path / "s.yaml", seeds=[0, 1]))
    point = next(iter(sweep.points().values()))
    progress = SweepProgress({f"ce#{i}": 4 for i in range(6)})
    samples: dict = {}
    names = SampleNames(point, [0, 1], progress, samples)
    draws = [
        {"optim.lr": 0.01, "train.batch_size": 16},
        {"optim.lr": 0.01, "train.batch_size": 16},
        {"optim.lr": 0.02, "train.batch_size": 32},
    ]
    made = [names(SimpleNamespace(config={"space": draw, "seed_index": index})) for draw in draws for index in (0, 1)]
    assert [t.name for t in made] == [
        "ce-lr0.01-bs16-s0",
        "ce-lr0.01-bs16-s1",
        "ce-lr0.01-bs16-n1-s0",
        "ce-lr0.01-bs16-n1-s1",
        "ce-lr0.02-bs32-s0",
        "ce-lr0.02-bs32-s1",
    ]
    assert [t.group for t in made[::2]] == ["ce-lr0.01-bs16", "ce-lr0.01-bs16-n1", "ce-lr0.02-bs32"]
    assert made[5].config.optim.lr == 0.02 and made[5].config.train.batch_size == 32 and made[5].config.seed == 1
    assert sorted(progress.epochs) == sorted(t.name for t in made) and len(samples) == 6
