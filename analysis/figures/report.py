"""The report page's figures: the paper's metrics over epochs per setting, and where each setting's
final bias sits against its mean negative and positive scores (the paper's claim 7a).

Sized for one paper column (3.3 inches wide per panel at 300 dpi), with the Okabe-Ito palette
(distinguishable under the common colour-vision deficiencies), each axis labelled with its metric
and scale, and a band only where a setting has several seeds, its meaning in the legend.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.figures.plotting import COLUMN_INCHES, OKABE_ITO, axis_label, group_title
from analysis.tables.summary import varied_columns

CURVES = [
    (key, axis_label(key, log), log)
    for key, log in (("test/acc", False), ("test/uniform_acc", False), ("train/nc1", True))
]
MAX_SETTINGS = 8  # lines per panel; more are summarized by the tables
SCORES = ("final/train/neg_score_mean", "final/train/bias_mean", "final/train/pos_score_mean")


def settings(trials: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, trials) per setting: what varied, the seed aside, finished trials only."""
    done = trials[trials["status"] == "finished"] if "status" in trials else trials
    keys = varied_columns(done)
    if not keys:
        return [("all trials", done)] if len(done) else []
    return [
        (group_title(keys, values if isinstance(values, tuple) else (values,)), rows)
        for values, rows in done.groupby(keys, sort=True, dropna=False)
    ]


def curves_figure(trials: pd.DataFrame, epochs: pd.DataFrame) -> Figure | None:
    """One panel per metric of CURVES (those logged), a line per setting: the mean over its seeds
    at each epoch, with the min-max band over the seeds where there are several."""
    panels = [(key, label, log) for key, label, log in CURVES if key in epochs and epochs[key].notna().any()]
    groups = settings(trials)[:MAX_SETTINGS]
    if not panels or not groups:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(COLUMN_INCHES * len(panels), 2.6), squeeze=False)
    seeded = False
    for ax, (key, label, log) in zip(axes[0], panels):
        for colour, (name, rows) in zip(OKABE_ITO, groups):
            values = epochs[epochs["run_id"].isin(rows["run_id"])][["epoch", key]].dropna()
            if values.empty:
                continue
            stats = values.groupby("epoch")[key].agg(["mean", "min", "max", "count"])
            ax.plot(stats.index, stats["mean"], color=colour, lw=1.3, label=name)
            if stats["count"].max() > 1:
                ax.fill_between(stats.index, stats["min"], stats["max"], color=colour, alpha=0.2, lw=0)
                seeded = True
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    note = " (bands: min-max over the seeds)" if seeded else " (one seed each: no band)"
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 4), frameon=False, title="setting" + note)
    rows = (len(names) + 3) // 4  # legend rows below the panels
    fig.set_figheight(2.6 + 0.35 * rows + 0.3)
    fig.tight_layout(rect=(0, (0.35 * rows + 0.3) / fig.get_figheight(), 1, 1))
    return fig


def bias_figure(trials: pd.DataFrame) -> Figure | None:
    """Per setting, the final mean bias (diamond) against the mean negative and positive scores
    (the ends of the bar), on the training split: the paper's claim 7a is that under BCE the bias
    ends between them and under CE it stays where it started. Error bars: min-max over seeds."""
    if not set(SCORES) <= set(trials):
        return None
    groups = settings(trials)
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(max(COLUMN_INCHES, 0.55 * len(groups) + 1.2), 2.8))
    x = np.arange(len(groups))
    for i, (_, rows) in enumerate(groups):
        neg, bias, pos = (rows[column] for column in SCORES)
        ax.plot([i, i], [neg.mean(), pos.mean()], color=OKABE_ITO[2], lw=5, alpha=0.6, solid_capstyle="butt")
        ax.errorbar(i, bias.mean(), yerr=[[bias.mean() - bias.min()], [bias.max() - bias.mean()]], fmt="D",
                    color=OKABE_ITO[6], ms=6, capsize=3)  # fmt: skip
    ax.plot([], [], color=OKABE_ITO[2], lw=5, alpha=0.6, label="mean negative to mean positive score")
    seeded = max(len(rows) for _, rows in groups) > 1
    ax.plot([], [], "D", color=OKABE_ITO[6], label="mean bias" + (" (bars: min-max over seeds)" if seeded else ""))
    ax.set_xticks(x, [name for name, _ in groups], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("final score / bias (train)")
    ax.grid(axis="y", alpha=0.3)
    fig.legend(fontsize=7, loc="upper center", ncol=2, frameon=False)  # above the axes, off the data
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig
