"""The paper's tables and figures from hand-built trials/epochs/distributions (no MLflow, no Ray)."""

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from scipy import stats as scipy_stats

from analysis.figures.paper import make_nc_figure, make_violin_figure, nc_figure, paper_figures, violin_figure
from analysis.figures.plotting import LOSS_COLOURS
from analysis.outputs.publish import write_paper_tables
from analysis.tables.paper import accuracy_table, bias_table, feature_table, paper_tables

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRICS = ["acc", "uniform_acc", "compactness", "distinctiveness", "bias_mean", "pos_score_mean", "neg_score_mean"]


def make_trials(inits=(0.0, 5.0, 10.0), seeds=(0, 1), lambdas=(0.0,), sweep="init"):
    """losses x optimizers x bias inits x lambda_b x seeds, every metric a distinct known number."""
    rng = np.random.default_rng(7)
    rows = []
    for loss in ("ce", "bce"):
        for optim in ("sgd", "adamw"):
            for init in inits:
                for lam in lambdas:
                    for seed in seeds:
                        run_id = f"{sweep}-{loss}-{optim}-{init:g}-{lam:g}-s{seed}"
                        row = {
                            "run_id": run_id,
                            "run_name": run_id,
                            "sweep": sweep,
                            "status": "finished",
                            "data.name": "mnist",
                            "model.name": "resnet18",
                            "optim.name": optim,
                            "train.augment": "none",
                            "loss.name": loss,
                            "classifier.bias_init_mean": init,
                            "regularization.lambda_b": lam,
                            "train.batch_size": 128,
                            "seed": seed,
                        }
                        for selection in ("best", "final"):
                            for split in ("train", "test"):
                                for metric in METRICS:
                                    row[f"{selection}/{split}/{metric}"] = float(rng.uniform())
                        rows.append(row)
    return pd.DataFrame(rows)


def cell(frame, **where):
    mask = np.ones(len(frame), bool)
    for key, value in where.items():
        mask &= (frame[key.replace("__", ".")] == value).to_numpy()
    return frame[mask]


def test_accuracy_table_means_stds_and_n_match_numpy():
    trials = make_trials(inits=(0.0,), seeds=(0, 1, 2))
    table = accuracy_table(trials)
    source = cell(trials, optim__name="adamw", loss__name="bce")["best/test/uniform_acc"].to_numpy()
    row = cell(table, optim__name="adamw", loss="bce", selection="best")
    assert len(row) == 1 and row["n"].item() == 3
    assert row["test_uniform_acc_mean"].item() == pytest.approx(np.mean(source))
    assert row["test_uniform_acc_std"].item() == pytest.approx(np.std(source, ddof=1))
    # the standard error and the 95% Student-t interval, as scipy computes them on the same seeds
    assert row["test_uniform_acc_sem"].item() == pytest.approx(scipy_stats.sem(source))
    low, high = scipy_stats.t.interval(0.95, len(source) - 1, loc=np.mean(source), scale=scipy_stats.sem(source))
    assert (row["test_uniform_acc_ci_low"].item(), row["test_uniform_acc_ci_high"].item()) == (
        pytest.approx(low),
        pytest.approx(high),
    )
    assert row["test_uniform_acc_n"].item() == len(source)
    assert set(table["loss"]) == {"ce", "bce", "bce-ce"} and set(table["selection"]) == {"best", "final"}
    # 2 optimizers x 2 selections x (ce, bce, delta); nothing varies, so no swept-axis columns.
    assert len(table) == 12 and "classifier.bias_init_mean" not in table
    assert table["n"].dtype == np.int64 and table["train_acc_mean"].dtype == np.float64


def test_delta_rows_are_bce_minus_ce_with_the_smaller_n():
    trials = make_trials(inits=(0.0,), seeds=(0, 1))
    trials = trials[~((trials["loss.name"] == "bce") & (trials["seed"] == 1))]  # BCE: one seed left
    table = feature_table(trials)
    ce = cell(trials, optim__name="sgd", loss__name="ce")["final/test/compactness"].mean()
    bce = cell(trials, optim__name="sgd", loss__name="bce")["final/test/compactness"].mean()
    delta = cell(table, optim__name="sgd", loss="bce-ce", selection="final")
    assert delta["test_compactness_mean"].item() == pytest.approx(bce - ce)
    assert delta["n"].item() == 1 and np.isnan(delta["test_compactness_std"].item())
    one_seed = cell(table, optim__name="sgd", loss="bce", selection="final")
    assert np.isnan(one_seed["test_compactness_std"].item()) and np.isnan(
        one_seed["test_compactness_ci_low"].item()
    )  # 1 seed: no interval


def test_unfinished_trials_do_not_count():
    trials = make_trials(inits=(0.0,))
    bad = trials.iloc[:2].assign(status=["diverged", "error"], run_id=["x", "y"])
    bad["best/test/acc"] = 1e6
    table = accuracy_table(pd.concat([trials, bad], ignore_index=True))
    pd.testing.assert_frame_equal(table, accuracy_table(trials))
    assert table["test_acc_mean"].max() < 1.0


def test_missing_columns_are_skipped_not_keyerrors():
    trials = make_trials(inits=(0.0,))
    no_test = trials.drop(columns=[c for c in trials if "/test/" in c] + ["optim.name", "train.augment"])
    table = accuracy_table(no_test)
    assert "train_acc_mean" in table and "test_acc_mean" not in table and "optim.name" not in table
    assert len(table) == 6  # one group x (ce, bce, delta) x 2 selections
    only_final = trials.drop(columns=[c for c in trials if c.startswith("best/")])
    assert set(accuracy_table(only_final)["selection"]) == {"final"}
    assert feature_table(trials.drop(columns=[c for c in trials if "compactness" in c or "distinct" in c])).empty
    assert accuracy_table(trials.drop(columns=["loss.name"])).empty
    assert accuracy_table(trials.drop(columns=["status"]).iloc[0:0]).empty
    assert bias_table(
        trials.drop(columns=["classifier.bias_init_mean", "regularization.lambda_b", "train.batch_size"])
    ).empty


def test_nan_group_keys_keep_their_rows():
    balanced = make_trials(inits=(0.0,)).assign(**{"data.name": "cifar100", "data.imbalance_factor": np.nan})
    long_tail = make_trials(inits=(0.0,)).assign(**{"data.name": "cifar100_lt", "data.imbalance_factor": 100.0})
    table = accuracy_table(pd.concat([balanced, long_tail], ignore_index=True))
    assert set(table["data.name"]) == {"cifar100", "cifar100_lt"}
    assert len(cell(table, data__name="cifar100", loss="bce-ce")) == 4  # delta rows match NaN keys too
    per_dataset = cell(table, data__name="cifar100_lt", loss="bce")
    assert (
        len(per_dataset) == 4
        and (per_dataset["data.imbalance_factor"] == 100.0).all()
        and (per_dataset["n"] == 2).all()
    )


def test_bias_table_has_rows_for_the_varied_axis_only():
    trials = make_trials(inits=(0.0, 5.0, 10.0))
    table = bias_table(trials)
    assert set(table["axis"]) == {"classifier.bias_init_mean"}
    assert sorted(table["value"].unique()) == [0.0, 5.0, 10.0] and (table["n"] == 2).all()
    source = cell(trials, optim__name="sgd", loss__name="bce", classifier__bias_init_mean=5.0)
    row = cell(table, optim__name="sgd", loss="bce", value=5.0)
    assert row["train_bias_mean_mean"].item() == pytest.approx(source["final/train/bias_mean"].mean())
    assert row["train_bias_mean_std"].item() == pytest.approx(source["final/train/bias_mean"].std(ddof=1))
    assert row["test_acc_mean"].item() == pytest.approx(source["final/test/acc"].mean())
    assert "train_bias_residual_mean" not in table  # not logged in this frame

    flat = bias_table(make_trials(inits=(0.0,)))
    assert flat.empty and {"axis", "value", "loss", "n", "train_bias_mean_mean"} <= set(flat.columns)


def test_bias_table_keeps_each_sweep_to_its_own_axis():
    init_sweep = make_trials(inits=(0.0, 5.0, 10.0), lambdas=(0.0,), sweep="init")
    decay_sweep = make_trials(inits=(10.0,), lambdas=(0.0, 1e-3), sweep="decay")
    table = bias_table(pd.concat([init_sweep, decay_sweep], ignore_index=True))
    decay = table[table["axis"] == "regularization.lambda_b"]
    # lambda_b = 0 at init 10 exists in both sweeps; only the decay sweep's 2 seeds count.
    assert (decay["n"] == 2).all() and sorted(decay["value"].unique()) == [0.0, 1e-3]
    assert (table[table["axis"] == "classifier.bias_init_mean"]["n"] == 2).all()


def test_tables_write_to_parquet_with_their_dtypes(tmp_path):
    trials = make_trials(seeds=(0,))  # one seed: every std is NaN and must stay a float column
    trials.loc[0, "status"] = "diverged"
    tables = paper_tables(trials)
    paths = write_paper_tables(tables, tmp_path)
    assert [p.name for p in paths] == ["paper_accuracy.parquet", "paper_features.parquet", "paper_bias.parquet"]
    for path, table in zip(paths, tables.values()):
        back = pd.read_parquet(path)
        assert len(back) == len(table) > 0 and back["n"].dtype == np.int64
        assert all(back[c].dtype == np.float64 for c in back if c.endswith(("_mean", "_std", "_acc")))


def make_epochs(trials, n_epochs=6):
    rows = []
    for i, run_id in enumerate(trials["run_id"]):
        bce = trials["loss.name"].iloc[i] == "bce"
        for epoch in range(1, n_epochs + 1):
            decay = np.exp(-(0.8 if bce else 0.4) * epoch)
            nc = {f"train/{m}": decay * (1 + 0.1 * i) for m in ("nc1", "nc2_h", "nc2_w", "nc3")}
            nc["train/nc4"] = 1 - decay / 2
            if epoch % 2:  # NC metrics only every other epoch, as the trainer may log them
                nc = {key: np.nan for key in nc}
            rows.append({"run_id": run_id, "run_name": run_id, "epoch": epoch, "train/acc": 0.5, **nc})
    return pd.DataFrame(rows)


def make_distributions(trials):
    rng = np.random.default_rng(3)
    out = {}
    for _, row in trials.iterrows():
        init = row["classifier.bias_init_mean"]
        bias = [init] * 10 if row["loss.name"] == "ce" else list(rng.normal(1.0, 0.3, 10))
        split = {"pos": list(rng.normal(4.0, 1.0, 50)), "neg": list(rng.normal(-2.0, 1.0, 200))}
        out[row["run_id"]] = {"epoch": 6, "bias": bias, "splits": {"train": split, "test": split}}
    return out


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert mpimg.imread(path).var() > 0


def test_nc_figure_overlays_ce_and_bce(tmp_path):
    trials = make_trials(inits=(0.0,))
    epochs = make_epochs(trials)
    fig = make_nc_figure(epochs, trials)
    try:
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["CE", "BCE"]
        colours = {line.get_color() for ax in fig.axes for line in ax.get_lines()}
        assert colours == {LOSS_COLOURS["ce"], LOSS_COLOURS["bce"]}  # blue and vermillion (Okabe-Ito)
        assert len(fig.axes) == 2 * 5 and fig.axes[0].get_yscale() == "log"
        assert [ax.get_title() for ax in fig.axes[:5]] == [
            "train/nc1",
            "train/nc2_h",
            "train/nc2_w",
            "train/nc3",
            "train/nc4",
        ]
        assert fig.axes[4].get_yscale() == "linear"  # nc4 -> 1: no log axis
    finally:
        fig.clear()
    assert_png(nc_figure(epochs, trials, tmp_path / "nc.png"))
    assert nc_figure(epochs.drop(columns=[c for c in epochs if "/nc" in c]), trials, tmp_path / "none.png") is None


def test_nc_figure_caps_its_rows():
    trials = make_trials(inits=tuple(float(v) for v in range(7)), seeds=(0,))  # 2 optimizers x 7 inits = 14 groups
    epochs = make_epochs(trials, n_epochs=2)[["run_id", "epoch", "train/nc1"]]  # one column keeps the layout quick
    fig = make_nc_figure(epochs, trials)
    try:
        assert len(fig.axes) == 12 and "first 12 of 14" in fig.get_suptitle()
    finally:
        fig.clear()


def test_violin_figure_draws_ce_and_bce_side_by_side(tmp_path):
    trials = make_trials()
    distributions = make_distributions(trials)
    del distributions[trials["run_id"].iloc[0]]  # an errored trial logged nothing
    fig = make_violin_figure(trials, distributions, "classifier.bias_init_mean")
    try:
        titles = [ax.get_title() for ax in fig.axes]
        assert sorted(titles) == sorted(["CE / adamw", "BCE / adamw", "CE / sgd", "BCE / sgd"])
        for ax in fig.axes:  # 3 inits x (neg, bias, pos) in every panel, BCE's included
            assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 9, ax.get_title()
    finally:
        fig.clear()
    assert_png(violin_figure(trials, distributions, "classifier.bias_init_mean", tmp_path / "v.png"))
    assert violin_figure(trials, {}, "classifier.bias_init_mean", tmp_path / "none.png") is None


def test_paper_figures_writes_nc_and_one_violin_per_varied_axis(tmp_path):
    trials = make_trials(inits=(0.0, 5.0), seeds=(0,))
    paths = paper_figures(trials, make_epochs(trials, n_epochs=2), make_distributions(trials), tmp_path / "figs")
    assert [p.name for p in paths] == ["fig_nc.png", "fig_violins_classifier_bias_init_mean.png"]
    for path in paths:
        assert_png(path)
