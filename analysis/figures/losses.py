"""The loss-comparison figure: train nc1 and test accuracy over epochs, one line per loss, seed bands."""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from analysis.figures.plotting import COLUMN_INCHES, axis_label, band, band_note, colours_for, group_by, group_title
from analysis.tables.losses import LOSS_COLUMN, labelled, loss_table
from analysis.tables.selection import LOSS_KEY  # noqa: E402

CURVES = [("train/nc1", True), ("test/acc", False)]  # (metric, log scale)


MAX_ROWS = 8


def make_loss_figure(epochs: pd.DataFrame, trials: pd.DataFrame):
    """train nc1 (log scale) and test accuracy vs epoch, one curve per loss (mean over seeds,
    min-max band), one row per setting. None when there is nothing to draw."""
    done, setting = labelled(trials)
    metrics = [(m, log) for m, log in CURVES if m in epochs]
    if done.empty or not metrics or "run_id" not in epochs:
        return None
    data = epochs[["run_id", "epoch", *(m for m, _ in metrics)]].merge(
        done[["run_id", LOSS_COLUMN, LOSS_KEY, *setting]], on="run_id"
    )
    if data.empty:
        return None
    groups = group_by(data, setting)[:MAX_ROWS]
    names = list(loss_table(trials)[LOSS_COLUMN].drop_duplicates())
    colours = colours_for(names)
    fig, axes = plt.subplots(
        len(groups),
        len(metrics),
        figsize=(COLUMN_INCHES * len(metrics), 2.3 * len(groups) + 0.8),
        squeeze=False,
        layout="constrained",
    )
    for r, (values, group) in enumerate(groups):
        for ax, (metric, log) in zip(axes[r], metrics):
            column = group[metric].where(group[metric] > 0) if log else group[metric]
            drawn = [band(ax, column[group[LOSS_COLUMN] == name], group["epoch"], colours[name]) for name in names]
            if log and any(drawn):
                ax.set_yscale("log")
            title = (
                metric
                if not setting
                else f"{metric}: {group_title(setting, values if isinstance(values, tuple) else (values,))}"
            )
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.set_ylabel(axis_label(metric, log and any(drawn)))
    fig.suptitle(f"Losses compared: mean over seeds ({band_note(data, [LOSS_COLUMN, *setting])})")
    handles = [Line2D([], [], color=colours[name], lw=2) for name in names]
    fig.legend(handles, names, loc="outside right upper")
    return fig
