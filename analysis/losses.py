"""Loss comparison: when a set of runs varies `loss.name`, one row per loss and setting, and a
figure of train nc1 and test accuracy per epoch with one curve per loss.

The question every loss paper asks after the BCE-vs-CE one: does my loss collapse like CE or like
BCE, and where do its biases go? `bias_in_scores` is the fraction of seeds whose mean final bias
lies between the mean negative and positive scores (BCE: 1, CE: depends on the init).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from analysis.export import write_parquet  # noqa: E402
from analysis.paper import LOSS_KEY, finished, normalized, ordered_losses  # noqa: E402
from analysis.plotting import LOSS_COLOURS, band, group_by, group_title, save  # noqa: E402
from analysis.seeds import mean_ci, seed_stats  # noqa: E402
from analysis.summary import bias_inside_scores, varied_columns  # noqa: E402

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
CURVES = [("train/nc1", True), ("test/acc", False)]  # (metric, log scale)
MAX_ROWS = 8


def labelled(trials: pd.DataFrame, every_status: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Finished trials (with `every_status`, all of them) with the LOSS_COLUMN label, and the
    setting columns: what else varied among the finished trials."""
    done = finished(trials)
    varied = varied_columns(done)
    # A key shows in the label where it varies within one loss: cosface's margin 0.35 and arcface's
    # 0.5 are two losses' defaults, not a swept value.
    params = [c for c in varied if c.startswith("loss.") and c != LOSS_KEY and done.groupby(LOSS_KEY)[c].nunique().max() > 1]
    setting = [c for c in varied if not c.startswith("loss.")]

    def label(row: pd.Series) -> str:
        shown = [f"{c.removeprefix('loss.')}={row[c]:g}" if isinstance(row[c], float) else f"{c.removeprefix('loss.')}={row[c]}" for c in params if pd.notna(row[c])]
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
    return stats.assign(_rank=rank).sort_values([*setting, "_rank", LOSS_COLUMN]).drop(columns="_rank").reset_index(drop=True)


def format_loss_table(table: pd.DataFrame) -> str:
    """The table as printed: mean ± the half-width of its 95% interval per metric."""
    shown = table[[c for c in table if not any(c.startswith(f"{name}_") for name in SOURCES)]].copy()
    for name in SOURCES:
        if f"{name}_mean" in table:
            shown[name] = [mean_ci(row, name) for _, row in table.iterrows()]
    if "bias_in_scores" in shown:
        shown = shown[[c for c in shown if c != "bias_in_scores"] + ["bias_in_scores"]]
    return shown.to_string(index=False, float_format=lambda v: f"{v:.3g}")


def colours_for(names: list[str]) -> dict[str, object]:
    """CE blue and BCE red as in every other figure; the other losses take tab20's remaining colours."""
    palette = [plt.get_cmap("tab20")(i) for i in range(20) if i not in (0, 1, 6, 7)]  # not blue, not red
    others = [n for n in names if n.split("(")[0] not in LOSS_COLOURS]
    return {n: LOSS_COLOURS.get(n.split("(")[0]) or palette[others.index(n) % len(palette)] for n in names}


def make_loss_figure(epochs: pd.DataFrame, trials: pd.DataFrame):
    """train nc1 (log scale) and test accuracy vs epoch, one curve per loss (mean over seeds,
    min-max band), one row per setting. None when there is nothing to draw."""
    done, setting = labelled(trials)
    metrics = [(m, log) for m, log in CURVES if m in epochs]
    if done.empty or not metrics or "run_id" not in epochs:
        return None
    data = epochs[["run_id", "epoch", *(m for m, _ in metrics)]].merge(done[["run_id", LOSS_COLUMN, LOSS_KEY, *setting]], on="run_id")
    if data.empty:
        return None
    groups = group_by(data, setting)[:MAX_ROWS]
    names = list(loss_table(trials)[LOSS_COLUMN].drop_duplicates())
    colours = colours_for(names)
    fig, axes = plt.subplots(len(groups), len(metrics), figsize=(4.8 * len(metrics), 3.0 * len(groups) + 0.8), squeeze=False, layout="constrained")
    for r, (values, group) in enumerate(groups):
        for ax, (metric, log) in zip(axes[r], metrics):
            column = group[metric].where(group[metric] > 0) if log else group[metric]
            drawn = [band(ax, column[group[LOSS_COLUMN] == name], group["epoch"], colours[name]) for name in names]
            if log and any(drawn):
                ax.set_yscale("log")
            title = metric if not setting else f"{metric}: {group_title(setting, values if isinstance(values, tuple) else (values,))}"
            ax.set_title(title, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("epoch", fontsize=8)
    fig.suptitle("Losses compared: mean over seeds, min-max band")
    handles = [Line2D([], [], color=colours[name], lw=2) for name in names]
    fig.legend(handles, names, loc="outside right upper", fontsize=8)
    return fig


def write_loss_outputs(trials: pd.DataFrame, epochs: pd.DataFrame, out_dir: Path) -> tuple[Path, Path | None, pd.DataFrame] | None:
    """losses.parquet and fig_losses.png in out_dir when the runs vary loss.name; else None."""
    if not compares_losses(finished(trials)):
        return None
    table = loss_table(trials)
    path = write_parquet(table, Path(out_dir) / "losses.parquet", [])
    fig = make_loss_figure(epochs, trials)
    figure = save(fig, Path(out_dir) / "fig_losses.png") if fig is not None else None
    return path, figure, table


__all__ = ["colours_for", "compares_losses", "format_loss_table", "labelled", "loss_table", "make_loss_figure", "write_loss_outputs"]
