"""Collapse across depth: when the trials logged per-layer metrics (`metrics.layers`), nc1 and the
nearest-class-centre accuracy of every tapped layer at the last epoch, against the layer's depth,
one curve per loss (mean over seeds, min-max band). Deep nets collapse progressively: nc1 tends
to fall geometrically with depth (He and Su, PNAS 2023; Rangamani et al., ICML 2023); the figure
shows whether a loss changes where that happens.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from analysis.figures.plotting import band, colours_for, group_by, group_title, save  # noqa: E402
from analysis.tables.losses import LOSS_COLUMN, labelled  # noqa: E402
from analysis.tables.selection import LOSS_KEY, ordered_losses  # noqa: E402

DEPTH = re.compile(r"^final/layers/(?P<name>.+)/depth$")
PANELS = [("nc1", True), ("ncc_acc", False)]  # (metric, log scale)
MAX_ROWS = 8


def has_layers(trials: pd.DataFrame) -> bool:
    return any(DEPTH.match(c) for c in trials.columns)


def layer_curves(trials: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per finished trial x split x tapped layer: its depth, name and the PANELS metrics at
    the last epoch; and the setting columns (what varied besides the loss and the seed)."""
    done, setting = labelled(trials)
    names = [m.group("name") for c in done.columns if (m := DEPTH.match(c))]
    rows = []
    for _, trial in done.iterrows():
        for name in names:
            depth = trial.get(f"final/layers/{name}/depth")
            if pd.isna(depth):
                continue
            for split in ("train", "test"):
                values = {metric: trial.get(f"final/{split}/layers/{name}/{metric}") for metric, _ in PANELS}
                if all(pd.isna(v) for v in values.values()):
                    continue
                rows.append(
                    {
                        **{c: trial[c] for c in setting},
                        LOSS_COLUMN: trial[LOSS_COLUMN],
                        LOSS_KEY: trial[LOSS_KEY],
                        "split": split,
                        "layer": name,
                        "depth": float(depth),
                        **values,
                    }
                )
    return pd.DataFrame(rows), setting


def make_layer_figure(trials: pd.DataFrame):
    """Rows: split x setting; columns: nc1 (log) and ncc_acc against the layer depth, with the
    layer names as ticks. None when no finished trial logged layers."""
    curves, setting = layer_curves(trials)
    if curves.empty:
        return None
    rows = group_by(curves, ["split", *setting])
    rows = sorted(rows, key=lambda r: r[0][0] != "train")[:MAX_ROWS]  # train first
    names = [
        n
        for loss in ordered_losses(curves[LOSS_KEY])
        for n in sorted(curves.loc[curves[LOSS_KEY] == loss, LOSS_COLUMN].unique())
    ]
    colours = colours_for(names)
    fig, axes = plt.subplots(
        len(rows), len(PANELS), figsize=(5.0 * len(PANELS), 3.0 * len(rows) + 0.8), squeeze=False, layout="constrained"
    )
    for r, (values, group) in enumerate(rows):
        ticks = group.drop_duplicates("depth").sort_values("depth")
        for ax, (metric, log) in zip(axes[r], PANELS):
            column = group[metric].where(group[metric] > 0) if log else group[metric]
            drawn = [band(ax, column[group[LOSS_COLUMN] == name], group["depth"], colours[name]) for name in names]
            if log and any(drawn):
                ax.set_yscale("log")
            ax.set_xticks(ticks["depth"], ticks["layer"], fontsize=7, rotation=30)
            title = group_title(["split", *setting], values)
            ax.set_title(f"{metric} at the last epoch: {title}", fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
        axes[r][0].set_xlabel("layer (shallow to deep)", fontsize=8)
    fig.suptitle("Collapse across depth: mean over seeds, min-max band")
    fig.legend([Line2D([], [], color=colours[n], lw=2) for n in names], names, loc="outside right upper", fontsize=8)
    return fig


def write_layer_figure(trials: pd.DataFrame, out_dir: Path) -> Path | None:
    """fig_layers.png in out_dir when the runs logged layers; else None."""
    if not has_layers(trials):
        return None
    fig = make_layer_figure(trials)
    return None if fig is None else save(fig, Path(out_dir) / "fig_layers.png")
