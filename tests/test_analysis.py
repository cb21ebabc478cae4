"""Analysis tables without a sweep: schema typing and model selection."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.outputs.parquet import EPOCH_FIELDS, TRIAL_FIELDS, write_parquet
from analysis.store.layout import best_epoch
from analysis.tables.summary import claim_7a, format_summary


def test_best_epoch_is_highest_test_accuracy_earliest_on_ties():
    history = {1: {"test/acc": 0.5}, 2: {"test/acc": 0.9}, 3: {"test/acc": 0.9}, 4: {"train/acc": 1.0}}
    assert best_epoch(history) == 2
    assert best_epoch({1: {"train/acc": 0.2}, 2: {"train/acc": 0.3}}) == 2
    assert best_epoch({1: {"optim/lr": 0.1}}) is None


def trials_frame():
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "run_name": ["ce-init0", "ce-init5", "bce-init0", "bce-init5"],
            "sweep": "s",
            "parent_run_id": "p",
            "status": "finished",
            "wall_time_s": 1.0,
            "epochs": 3,
            "best_epoch": [3, 2, None, 1],
            "loss.name": ["ce", "ce", "bce", "bce"],
            "classifier.bias_init_mean": [0.0, 5.0, 0.0, 5.0],
            "regularization.lambda_b": 0.0,
            "train.epochs": 3,
            "model.batch_norm": True,
            "schedule.milestones": ["[30, 60]"] * 4,
            "final/train/bias_mean": [0.01, 5.0, 0.2, 2.0],
            "final/train/neg_score_mean": [-1.0, -1.0, -3.0, 0.5],
            "final/train/pos_score_mean": [3.0, 3.0, 2.0, 4.0],
            "final/test/acc": [0.9, 0.9, 0.95, 0.95],
        }
    )


def test_parquet_schema_is_typed_from_the_values(tmp_path):
    path = write_parquet(trials_frame(), tmp_path / "trials.parquet", TRIAL_FIELDS)
    schema = pq.read_schema(path)
    assert schema.field("best_epoch").type == pa.int64()
    assert schema.field("loss.name").type == pa.string()
    assert schema.field("classifier.bias_init_mean").type == pa.float64()
    assert schema.field("train.epochs").type == pa.int64()
    assert schema.field("model.batch_norm").type == pa.bool_()
    assert schema.field("schedule.milestones").type == pa.string()
    assert schema.field("final/test/acc").type == pa.float64()
    assert pq.read_table(path).to_pandas()["best_epoch"].isna().sum() == 1
    epochs = pd.DataFrame({"run_id": ["a"], "run_name": ["x"], "epoch": [1], "train/nc1": [0.5]})
    assert (
        pq.read_schema(write_parquet(epochs, tmp_path / "e.parquet", EPOCH_FIELDS)).field("train/nc1").type
        == pa.float64()
    )


def test_summary_reads_claim_7a_off_the_trials():
    lines = claim_7a(trials_frame())
    assert "max |diff| = 0.01 over 2 trials" in lines[0] and "in 1/2" in lines[0]
    assert "in 2/2 trials" in lines[1]
    text = format_summary(trials_frame())
    assert "bias in (neg,pos)" in text and "Paper claim 7a" in text


def test_loss_table_pools_seeds_per_loss_and_setting():
    from analysis.tables.losses import loss_table

    rows = []
    for loss, values in {"ce": [0.90, 0.94], "bce": [0.96, 0.92], "focal": [0.80, 0.84]}.items():
        for seed, acc in enumerate(values):
            rows.append(
                {
                    "run_id": f"{loss}{seed}",
                    "status": "finished",
                    "seed": seed,
                    "loss.name": loss,
                    "loss.gamma": 2.0 if loss == "focal" else float("nan"),
                    "data.name": "digits",
                    "final/test/acc": acc,
                    "final/test/uniform_acc": acc - 0.1,
                    "final/train/nc1": 0.1 * (seed + 1),
                    "final/train/bias_mean": 0.5 if loss == "bce" else 9.0,
                    "final/train/neg_score_mean": -1.0,
                    "final/train/pos_score_mean": 2.0 if seed == 0 else 10.0,
                }
            )
    rows.append({**rows[0], "run_id": "x", "status": "error", "final/test/acc": 0.0})  # not pooled
    table = loss_table(pd.DataFrame(rows))
    assert list(table["loss"]) == ["ce", "bce", "focal"]  # the paper's two first; gamma varies only with focal
    assert list(table["n"]) == [2, 2, 2]
    by = table.set_index("loss")
    assert by.loc["bce", "test_acc_mean"] == pytest.approx(0.94) and by.loc["bce", "test_acc_std"] == pytest.approx(
        0.02828427, rel=1e-6
    )
    assert by.loc["ce", "train_nc1_mean"] == pytest.approx(0.15)
    # bias 9 lies between -1 and 10 (seed 1) but not between -1 and 2 (seed 0); bias 0.5 always does
    assert by.loc["ce", "bias_in_scores"] == 0.5 and by.loc["bce", "bias_in_scores"] == 1.0
    # two seeds: the interval is mean +- t(0.975, 1) x sem = 12.706 x 0.02
    assert (by.loc["bce", "test_acc_ci_low"], by.loc["bce", "test_acc_ci_high"]) == (
        pytest.approx(0.94 - 12.7062 * 0.02, rel=1e-4),
        pytest.approx(0.94 + 12.7062 * 0.02, rel=1e-4),
    )
    assert by.loc["bce", "test_nc4_n"] == 0 and np.isnan(
        by.loc["bce", "test_nc4_mean"]
    )  # not logged: no value, no crash


def test_seed_statistics_of_one_seed_and_of_nan_values():
    from analysis.tables.seeds import describe, mean_ci, seed_stats

    one = describe([0.9])
    assert one["n"] == 1 and one["mean"] == 0.9 and all(np.isnan(one[k]) for k in ("std", "sem", "ci_low", "ci_high"))
    assert describe([1.0, np.nan, 3.0])["n"] == 2  # a diverged trial's NaN is left out, and not counted
    frame = pd.DataFrame({"loss": ["ce", "bce", "bce"], "m": [0.5, 0.7, np.nan]})
    table = seed_stats(frame, ["loss"], {"acc": "m"}).set_index("loss")
    assert table.loc["bce", "n"] == 2 and table.loc["bce", "acc_n"] == 1  # 2 trials, 1 with a value
    assert mean_ci(table.loc["ce"], "acc") == "0.5 (1 seed: no interval)"
    flat = describe([2.0, 2.0, 2.0])  # no spread (CE's mean bias): the interval is the point
    assert (flat["ci_low"], flat["ci_high"], flat["sem"]) == (2.0, 2.0, 0.0)


def test_metric_columns_follow_the_registry_and_exist_for_every_key(tmp_path):
    from trainers.metrics import METRICS

    epochs = pd.DataFrame(
        {
            "run_id": ["a"],
            "run_name": ["x"],
            "epoch": [1],
            "test/nc1": [0.5],
            "optim/lr": [0.1],
            "test/acc": [0.9],
            "test/layers/layer1/nc1": [2.0],
            "layers/layer1/depth": [1.0],
        }
    )
    names = pq.read_schema(write_parquet(epochs, tmp_path / "e.parquet", EPOCH_FIELDS)).names
    registered = [f"test/{k}" for k in METRICS.keys()]
    assert names == [
        "run_id",
        "run_name",
        "epoch",
        *registered,
        "layers/layer1/depth",
        "optim/lr",
        "test/layers/layer1/nc1",
    ]
    table = pq.read_table(tmp_path / "e.parquet").to_pandas()
    assert (
        table["test/nc1"].tolist() == [0.5] and table["test/cdnv"].isna().all()
    )  # not logged by this run: null, still float64


def layer_trials() -> pd.DataFrame:
    """Two losses x two seeds, three tapped layers; CE's nc1 falls slower with depth than BCE's."""
    rows = []
    for loss, rate in (("ce", 0.8), ("bce", 0.5)):
        for seed in (0, 1):
            row = {
                "run_id": f"{loss}{seed}",
                "run_name": f"{loss}-s{seed}",
                "status": "finished",
                "seed": seed,
                "loss.name": loss,
            }
            for depth, name in enumerate(("hidden1", "hidden2", "hidden3"), start=1):
                row[f"final/layers/{name}/depth"] = float(depth)
                for split in ("train", "test"):
                    row[f"final/{split}/layers/{name}/nc1"] = rate**depth * (1 + 0.1 * seed)
                    row[f"final/{split}/layers/{name}/ncc_acc"] = 1 - rate**depth / 2
            rows.append(row)
    return pd.DataFrame(rows)


def test_layer_figure_draws_nc1_and_ncc_against_depth_per_loss(tmp_path):
    from analysis.figures.layers import layer_curves, make_layer_figure, write_layer_figure

    trials = layer_trials()
    curves, setting = layer_curves(trials)
    assert setting == [] and len(curves) == 4 * 3 * 2  # trials x layers x splits
    fig = make_layer_figure(trials)
    try:
        assert len(fig.axes) == 2 * 2  # (train, test) x (nc1, ncc_acc)
        ax = fig.axes[0]
        assert ax.get_yscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == [
            "hidden1",
            "hidden2",
            "hidden3",
        ]
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ce", "bce"]
        ce = ax.get_lines()[0].get_ydata()  # mean over the two seeds, in depth order
        assert list(ce) == pytest.approx([0.8**d * 1.05 for d in (1, 2, 3)])
    finally:
        fig.clear()
    path = write_layer_figure(trials, tmp_path)
    assert path.name == "fig_layers.png" and path.read_bytes()[:4] == b"\x89PNG"
    plain = trials[[c for c in trials if "layers" not in c]]
    assert write_layer_figure(plain, tmp_path / "none") is None


def test_a_loss_label_shows_only_keys_swept_within_that_loss():
    from analysis.tables.losses import labelled

    trials = pd.DataFrame(
        {
            "status": ["finished"] * 5,
            "loss.name": ["cosface", "arcface", "focal", "focal", "ce"],
            "loss.margin": [0.35, 0.5, np.nan, np.nan, np.nan],
            "loss.gamma": [np.nan, np.nan, 1.0, 2.0, np.nan],
        }
    )
    out, setting = labelled(trials)
    assert list(out["loss"]) == ["cosface", "arcface", "focal(gamma=1)", "focal(gamma=2)", "ce"] and setting == []
