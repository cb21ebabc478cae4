"""The paper's tables, built from the exported trials table (one row per trial; see export.py).

Pure pandas: no MLflow, no trainer. Every table is long form so that it writes to Parquet as is
(float64 metrics, int64 `n`, str/float keys) and the reader pivots it into the paper's layout.
Every metric comes with its seed statistics (analysis/seeds.py): `<metric>_n`, `_mean`, `_std`,
`_sem` and the 95% t interval `_ci_low`, `_ci_high`.

- accuracy_table: Tables 1-2 and 12-13 (accuracy and uniform accuracy, CE vs BCE).
- feature_table: the compactness / distinctiveness columns of Tables 1-2.
- bias_table: Fig. 3 and Tables 9-11 (final biases and scores per swept value).

Only finished trials count: a diverged or crashed run has no final model to report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.tables.seeds import STATS, seed_stats
from analysis.tables.selection import LOSS_KEY, axis_trials, finished, group_keys, ordered_losses, varied_axes

DELTA = "bce-ce"
SELECTIONS = ("best", "final")

ACCURACY_METRICS = ["test/acc", "test/uniform_acc", "train/acc", "train/uniform_acc"]
FEATURE_METRICS = ["test/compactness", "test/distinctiveness", "train/compactness", "train/distinctiveness"]
BIAS_METRICS = [
    *(
        f"train/{m}"
        for m in (
            "bias_mean",
            "bias_std",
            "pos_score_mean",
            "pos_score_std",
            "neg_score_mean",
            "neg_score_std",
            "uniform_acc",
            "uniform_acc_at_bias",
            "acc",
            "bias_residual",
        )
    ),
    "test/acc",
    "test/uniform_acc",
]


def metric_name(metric: str) -> str:
    """`test/uniform_acc` -> `test_uniform_acc`: a column name without the path separator."""
    return metric.replace("/", "_")


def _typed_empty(columns: list[str]) -> pd.DataFrame:
    """An empty table whose dtypes still write to Parquet the way a full one would."""

    def dtype(column: str) -> str:
        if column == "n" or column.endswith("_n"):
            return "int64"
        return (
            "str"
            if column in ("axis", "loss", "selection", "data.name", "model.name", "optim.name", "train.augment")
            else "float64"
        )

    return pd.DataFrame({column: pd.Series(dtype=dtype(column)) for column in columns})


def _delta_rows(stats: pd.DataFrame, on: list[str], names: list[str]) -> pd.DataFrame:
    """mean(BCE) - mean(CE) per cell: the paper's "improvement" rows; n is the smaller seed count.
    The spread of a difference of seed means is a test's business: comparisons.parquet holds it
    (paired on the seed, with its interval and p-value), so these rows leave it NaN."""
    ce, bce = stats[stats["loss"] == "ce"], stats[stats["loss"] == "bce"]
    both = bce.merge(ce, on=on, suffixes=("_bce", "_ce"))
    out = both[on].copy()
    out["loss"] = DELTA
    out["n"] = np.minimum(both["n_bce"], both["n_ce"]).astype("int64")
    for name in names:
        for stat in STATS[1:]:
            out[f"{name}_{stat}"] = both[f"{name}_mean_bce"] - both[f"{name}_mean_ce"] if stat == "mean" else np.nan
        out[f"{name}_n"] = np.minimum(both[f"{name}_n_bce"], both[f"{name}_n_ce"]).astype("int64")
    return out


def _loss_table(trials: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per group x loss x selection: seed statistics of `metrics`, plus the bce-ce rows.

    Swept axes that vary are held fixed too (extra columns), so n stays a number of seeds.
    """
    done = finished(trials).rename(columns={LOSS_KEY: "loss"})
    keys = [*group_keys(done), *varied_axes(done)]
    names = [metric_name(m) for m in metrics if any(f"{s}/{m}" in done for s in SELECTIONS)]
    stat_columns = [f"{name}_{stat}" for name in names for stat in STATS]
    columns = [*keys, "loss", "selection", "n", *stat_columns]
    if "loss" not in done or done.empty or not names:
        return _typed_empty(columns)
    parts = []
    for selection in SELECTIONS:
        sources = {metric_name(m): f"{selection}/{m}" for m in metrics if metric_name(m) in names}
        if not any(source in done for source in sources.values()):
            continue
        stats = seed_stats(done, [*keys, "loss"], sources)
        stats["selection"] = selection
        parts += [stats, _delta_rows(stats, [*keys, "selection"], names)]
    table = pd.concat(parts, ignore_index=True)
    rank = {loss: i for i, loss in enumerate([*ordered_losses(table["loss"]), DELTA])}
    table = table.assign(_rank=table["loss"].map(rank)).sort_values([*keys, "selection", "_rank"], kind="stable")
    return table[columns].reset_index(drop=True)


def accuracy_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Paper Tables 1-2 and 12-13: accuracy and uniform accuracy (test and train), mean/std over
    seeds per group x loss, at the best-test-accuracy epoch ("best") and the last ("final")."""
    return _loss_table(trials, ACCURACY_METRICS)


def feature_table(trials: pd.DataFrame) -> pd.DataFrame:
    """The feature columns of Tables 1-2: compactness (higher is better) and distinctiveness
    (lower is better), laid out like accuracy_table."""
    return _loss_table(trials, FEATURE_METRICS)


def bias_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Paper Fig. 3 and Tables 9-11: final biases, bias-free scores and accuracies per swept value.

    One block of rows per axis of SWEEP_AXES that varies (`axis`, `value`); each row holds the seed
    statistics of each metric. Another axis that varies inside the same sweep is held fixed as an
    extra column.
    """
    done = finished(trials).rename(columns={LOSS_KEY: "loss"})
    keys = group_keys(done)
    names = [metric_name(m) for m in BIAS_METRICS if f"final/{m}" in done]
    stat_columns = [f"{name}_{stat}" for name in names for stat in STATS]
    columns = ["axis", "value", *keys, "loss", "n", *stat_columns]
    axes = varied_axes(done) if "loss" in done else []
    if not axes:
        return _typed_empty(columns)
    blocks = []
    for axis in axes:
        subset = axis_trials(done, axis)
        held = [other for other in varied_axes(subset) if other != axis]
        sources = {metric_name(m): f"final/{m}" for m in BIAS_METRICS if metric_name(m) in names}
        stats = seed_stats(subset, [axis, *keys, *held, "loss"], sources)
        stats = stats.rename(columns={axis: "value"}).assign(axis=axis)
        stats["value"] = stats["value"].astype("float64")
        blocks.append(stats[["axis", "value", *keys, *held, "loss", "n", *stat_columns]])
    return pd.concat(blocks, ignore_index=True)


def paper_tables(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """All the paper's tables by the file stem they are meant to be written under."""
    return {
        "paper_accuracy": accuracy_table(trials),
        "paper_features": feature_table(trials),
        "paper_bias": bias_table(trials),
    }
