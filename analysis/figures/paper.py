"""The paper's figures as PNG files, from the exported tables and the logged score distributions.

- nc_figure: Fig. 2 (NC1, NC2, NC3 vs epoch, CE and BCE overlaid), with an NC4 panel.
- violin_figure: Fig. 3 (final negative scores, biases and positive scores per swept value).

Each figure has a `make_*` builder returning the matplotlib Figure (for inspection) and a writer
that saves it; the writers always close their figure, since a sweep can draw many.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: analysis runs on cluster nodes and in CI with no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from analysis.figures.plotting import LOSS_COLOURS, band, group_by, group_title, save  # noqa: E402
from analysis.tables.selection import (  # noqa: E402
    LOSS_KEY,
    axis_trials,
    finished,
    group_keys,
    ordered_losses,
    varied_axes,
)

NC_METRICS = ["nc1", "nc2_h", "nc2_w", "nc3", "nc4"]  # nc4 -> 1 at collapse (Papyan 2020); the rest -> 0
MAX_NC_ROWS = 12
# (distribution key, colour, legend label, x offset): negatives left, biases centre, positives
# right, the order they sit in on the score axis when the biases separate the classes.
VIOLINS = [
    ("neg", "#56B4E9", "negative scores", -0.27),
    ("bias", "#009E73", "biases", 0.0),
    ("pos", "#E69F00", "positive scores", 0.27),
]
VIOLIN_WIDTH = 0.24


def loss_label(loss: str) -> str:
    """ce -> CE: how the paper names the losses in legends and panel titles."""
    return str(loss).upper()


def _nc_columns(epochs: pd.DataFrame) -> tuple[str, list[str]]:
    """The split to plot (train as in the paper; test when train has no NC metric) and its metrics."""
    for split in ("train", "test"):
        present = [m for m in NC_METRICS if f"{split}/{m}" in epochs]
        if present:
            return split, present
    return "train", []


def make_nc_figure(epochs: pd.DataFrame, trials: pd.DataFrame) -> Figure | None:
    """Paper Fig. 2: nc1, nc2_h, nc2_w, nc3 (and nc4) vs epoch; one row per group, CE and BCE overlaid.

    A row pools seeds (and anything varied that is not a group key or a swept axis) into a mean
    curve with a min-max band. None when there is no NC metric or no finished trial with epochs.
    """
    split, metrics = _nc_columns(epochs)
    done = finished(trials)
    if not metrics or LOSS_KEY not in done or "run_id" not in epochs:
        return None
    rows = [*group_keys(done), *varied_axes(done)]
    data = epochs[["run_id", "epoch", *(f"{split}/{m}" for m in metrics)]].merge(
        done[["run_id", LOSS_KEY, *rows]], on="run_id"
    )
    if data.empty:
        return None
    groups = group_by(data, rows)
    shown = groups[:MAX_NC_ROWS]
    losses = ordered_losses(data[LOSS_KEY])
    # One subfigure per group: its title spans the row instead of crowding every panel.
    fig = plt.figure(figsize=(3.3 * len(metrics), 2.6 * len(shown) + 0.9), layout="constrained")
    rows_of = fig.subfigures(len(shown), 1, squeeze=False)[:, 0]
    for r, (values, group) in enumerate(shown):
        rows_of[r].suptitle(group_title(rows, values if isinstance(values, tuple) else (values,)), fontsize=9)
        for ax, metric in zip(rows_of[r].subplots(1, len(metrics), squeeze=False)[0], metrics):
            column = group[f"{split}/{metric}"]
            if metric == "nc1":
                # NC1 spans orders of magnitude; a log axis needs the non-positive values gone.
                column = column.where(column > 0)
            drawn = [
                band(ax, column[group[LOSS_KEY] == loss], group["epoch"], LOSS_COLOURS.get(loss, "tab:gray"))
                for loss in losses
            ]
            if metric == "nc1" and any(drawn):
                ax.set_yscale("log")
            ax.set_title(f"{split}/{metric}", fontsize=8)
            ax.tick_params(labelsize=7)
            if r == len(shown) - 1:
                ax.set_xlabel("epoch", fontsize=8)
    heading = f"Neural collapse on {split} vs epoch"
    if len(groups) > len(shown):
        heading += f" (first {len(shown)} of {len(groups)} groups shown)"
    fig.suptitle(heading)
    handles = [Line2D([], [], color=LOSS_COLOURS.get(loss, "tab:gray"), lw=2) for loss in losses]
    fig.legend(handles, [loss_label(loss) for loss in losses], loc="outside upper right")
    return fig


def nc_figure(epochs: pd.DataFrame, trials: pd.DataFrame, path: Path) -> Path | None:
    """Write paper Fig. 2 (see make_nc_figure) to `path`; None when there is nothing to draw."""
    fig = make_nc_figure(epochs, trials)
    return None if fig is None else save(fig, path)


def _pooled(run_ids, distributions: dict, split: str) -> dict[str, np.ndarray]:
    """neg / bias / pos values of all these runs together (finite values only); runs with no
    logged distribution (errored trials) are skipped."""
    pooled: dict[str, list] = {"neg": [], "bias": [], "pos": []}
    for run_id in run_ids:
        logged = distributions.get(run_id)
        if not logged:
            continue
        scores = logged.get("splits", {}).get(split, {})
        pooled["bias"].extend(logged.get("bias", []))
        pooled["neg"].extend(scores.get("neg", []))
        pooled["pos"].extend(scores.get("pos", []))
    arrays = {kind: np.asarray(values, dtype="float64") for kind, values in pooled.items()}
    return {kind: values[np.isfinite(values)] for kind, values in arrays.items()}


def _violins(ax, x: float, pooled: dict[str, np.ndarray]) -> None:
    for kind, colour, _, offset in VIOLINS:
        values = pooled[kind]
        if values.size == 0:
            continue
        # The median line keeps a constant set visible (CE biases that never moved have no spread).
        parts = ax.violinplot(
            [values], positions=[x + offset], widths=VIOLIN_WIDTH, showextrema=False, showmedians=True
        )
        for body in parts["bodies"]:
            body.set_facecolor(colour)
            body.set_edgecolor(colour)
            body.set_alpha(0.5)
        parts["cmedians"].set_color(colour)


def make_violin_figure(trials: pd.DataFrame, distributions: dict, axis: str, split: str = "train") -> Figure | None:
    """Paper Fig. 3: per value of `axis`, violins of the final negative scores, biases and
    positive scores; CE left, BCE right, one row per optimizer; seeds pooled.

    None when no finished trial of a sweep varying `axis` has a logged distribution.
    """
    done = axis_trials(finished(trials), axis)
    if LOSS_KEY not in done or "run_id" not in done:
        return None
    done = done[done["run_id"].isin(distributions.keys()) & done[axis].notna()]
    if done.empty:
        return None
    values = sorted(done[axis].unique())
    losses = ordered_losses(done[LOSS_KEY])
    optims = sorted(done["optim.name"].dropna().unique()) if "optim.name" in done else []
    rows = optims or [None]
    fig, axes = plt.subplots(
        len(rows),
        len(losses),
        figsize=(max(5.0, 0.9 * len(values)) * len(losses), 3.6 * len(rows) + 0.8),
        sharey=True,
        squeeze=False,
    )
    for r, optim in enumerate(rows):
        for c, loss in enumerate(losses):
            ax = axes[r, c]
            cell = done[(done[LOSS_KEY] == loss) & ((done["optim.name"] == optim) if optim is not None else True)]
            for x, value in enumerate(values):
                _violins(ax, float(x), _pooled(cell.loc[cell[axis] == value, "run_id"], distributions, split))
            ax.set_xticks(range(len(values)), [f"{v:g}" for v in values], fontsize=8)
            ax.set_title(loss_label(loss) if optim is None else f"{loss_label(loss)} / {optim}")
            ax.axhline(0.0, color="0.7", lw=0.6, zorder=0)
            if r == len(rows) - 1:
                ax.set_xlabel(axis)
        axes[r, 0].set_ylabel(f"{split} score / bias")
    fig.suptitle(axis)
    fig.legend(
        handles=[Patch(color=colour, alpha=0.5, label=label) for _, colour, label, _ in VIOLINS], loc="upper right"
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def violin_figure(
    trials: pd.DataFrame, distributions: dict, axis: str, path: Path, split: str = "train"
) -> Path | None:
    """Write paper Fig. 3 for one swept axis (see make_violin_figure); None when nothing to draw."""
    fig = make_violin_figure(trials, distributions, axis, split)
    return None if fig is None else save(fig, path)


def paper_figures(trials: pd.DataFrame, epochs: pd.DataFrame, distributions: dict, out_dir: Path) -> list[Path]:
    """fig_nc.png and one fig_violins_<axis>.png per varied swept axis, into out_dir; the paths
    actually written (a figure with nothing to draw is skipped)."""
    out_dir = Path(out_dir)
    written = [nc_figure(epochs, trials, out_dir / "fig_nc.png")]
    for axis in varied_axes(finished(trials)):
        written.append(
            violin_figure(trials, distributions, axis, out_dir / f"fig_violins_{axis.replace('.', '_')}.png")
        )
    return [path for path in written if path is not None]
