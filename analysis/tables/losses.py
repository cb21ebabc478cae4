"""Loss comparison: when a set of runs varies `loss.name`, one row per loss and setting, and a
figure of train nc1 and test accuracy per epoch with one curve per loss.

The question every loss paper asks after the BCE-vs-CE one: does my loss collapse like CE or like
BCE, and where do its biases go? `bias_in_scores` is the fraction of seeds whose mean final bias
lies between the mean negative and positive scores (BCE: 1, CE: depends on the init).
"""

from __future__ import annotations

import matplotlib

from trainers.metrics import display_name

matplotlib.use("Agg")  # files only; no display on a cluster node
import pandas as pd  # noqa: E402

from analysis.tables.seeds import mean_ci, seed_stats  # noqa: E402
from analysis.tables.selection import LOSS_KEY, finished, normalized, ordered_losses  # noqa: E402
from analysis.tables.summary import bias_inside_scores, varied_columns  # noqa: E402

LOSS_COLUMN = "loss"  # the loss's name, with its varied hyperparameters: focal(gamma=1)
SOURCES = {
    "test_acc": "final/test/acc",
    "test_uniform_acc": "final/test/uniform_acc",
    "train_nc1": "final/train/nc1",
    "train_nc2_h": "final/train/nc2_h",
    "train_nc2_w": "final/train/nc2_w",
    "train_nc3": "final/train/nc3",
    "train_bias": "final/train/bias_mean",
    "test_nc4": "final/test/nc4",
    "test_ncc_acc": "final/test/ncc_acc",
    "train_cdnv": "final/train/cdnv",
    # Under data.label_noise only (NaN otherwise, and then left out): the train split's accuracy
    # on its clean labels and the share of corrupted labels fitted (memorization).
    "train_clean_acc": "final/train/clean_acc",
    "train_noisy_fit": "final/train/noisy_fit",
}
ONLY_WHEN_PRESENT = ("train_clean_acc", "train_noisy_fit")


def labelled(trials: pd.DataFrame, every_status: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Finished trials (with `every_status`, all of them) with the LOSS_COLUMN label, and the
    setting columns: what else varied among the finished trials."""
    done = finished(trials)
    varied = varied_columns(done)
    # A key shows in the label where it varies within one loss: cosface's margin 0.35 and arcface's
    # 0.5 are two losses' defaults, not a swept value.
    params = [
        c for c in varied if c.startswith("loss.") and c != LOSS_KEY and done.groupby(LOSS_KEY)[c].nunique().max() > 1
    ]
    setting = [c for c in varied if not c.startswith("loss.")]

    def label(row: pd.Series) -> str:
        shown = [
            f"{c.removeprefix('loss.')}={row[c]:g}"
            if isinstance(row[c], float)
            else f"{c.removeprefix('loss.')}={row[c]}"
            for c in params
            if pd.notna(row[c])
        ]
        return f"{row[LOSS_KEY]}({', '.join(shown)})" if shown else str(row[LOSS_KEY])

    out = normalized(trials) if every_status else done
    out[LOSS_COLUMN] = out.apply(label, axis=1) if len(out) else pd.Series(dtype="str")
    return out, setting


def compares_losses(trials: pd.DataFrame) -> bool:
    return LOSS_KEY in trials and trials[LOSS_KEY].nunique() > 1


def loss_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Per setting x loss: n seeds and the seed statistics of each SOURCES metric at the final
    epoch (analysis/seeds.py: n, mean, std, sem, 95% t interval), and the fraction of seeds whose
    final bias lies between the negative and positive scores."""
    done, setting = labelled(trials)
    by = [*setting, LOSS_COLUMN]
    sources = {k: v for k, v in SOURCES.items() if k not in ONLY_WHEN_PRESENT or (v in done and done[v].notna().any())}
    stats = seed_stats(done, by, sources)
    if {"final/train/bias_mean", "final/train/neg_score_mean", "final/train/pos_score_mean"} <= set(done):
        inside = done.assign(bias_in_scores=bias_inside_scores(done).astype("float64"))
        fraction = inside.groupby(by, dropna=False, sort=True)["bias_in_scores"].mean().reset_index()
        stats = stats.merge(fraction, on=by, how="left")
    order = {loss: i for i, loss in enumerate(ordered_losses(done[LOSS_KEY]))}
    rank = stats[LOSS_COLUMN].str.split("(", n=1).str[0].map(order)
    return (
        stats.assign(_rank=rank)
        .sort_values([*setting, "_rank", LOSS_COLUMN])
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def format_loss_table(table: pd.DataFrame) -> str:
    """The table as printed: mean ± the half-width of its 95% interval per metric."""
    shown = table[[c for c in table if not any(c.startswith(f"{name}_") for name in SOURCES)]].copy()
    for name in SOURCES:
        if f"{name}_mean" in table:
            shown[display_name(name)] = [mean_ci(row, name) for _, row in table.iterrows()]
    if "bias_in_scores" in shown:
        shown = shown[[c for c in shown if c != "bias_in_scores"] + ["bias_in_scores"]]
    return shown.to_string(index=False, float_format=lambda v: f"{v:.3g}")


__all__ = ["compares_losses", "format_loss_table", "labelled", "loss_table"]
