"""What the figures share: headless matplotlib, one colour-blind-safe palette (Okabe and Ito's; CE
blue and BCE vermillion in every figure), sizes for a paper column, mean curves with min-max bands
where there are several seeds, axis labels with the metric and its scale, group titles, and saving
as PNG (300 dpi) with a PDF beside it (always closing the figure: a sweep can draw many)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: analysis runs on cluster nodes and in CI with no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from trainers.metrics import display_name  # noqa: E402

# Okabe & Ito (2008), "Color Universal Design": told apart under the common colour-vision deficiencies.
OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
LOSS_COLOURS = {"ce": "#0072B2", "bce": "#D55E00"}  # blue and vermillion
DPI = 300
COLUMN_INCHES = 3.3  # one column of a two-column paper: a panel's width
plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7})


def axis_label(metric: str, log: bool = False) -> str:
    """`train/nc1` -> `train nc1 (log scale)`: the metric's one display name and its scale."""
    return display_name(metric) + (" (log scale)" if log else "")


def save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
        fig.savefig(path.with_suffix(".pdf"))  # vector, for the paper
    finally:
        plt.close(fig)
    return path


def _label(key: str, value) -> str | None:
    """A group value for a title: strings as they are, numbers with their short key name
    (a bare "100" says nothing; "imbalance_factor=100" does). NaN keys are left out."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (int, float, np.number)):
        return f"{key.rsplit('.', 1)[-1]}={value:g}"
    return str(value)


def group_title(keys: list[str], values: tuple) -> str:
    return " / ".join(part for key, value in zip(keys, values) if (part := _label(key, value))) or "all trials"


def group_by(frame: pd.DataFrame, keys: list[str]) -> list[tuple[tuple, pd.DataFrame]]:
    """(values, rows) per distinct value of `keys` (NaN kept as its own group); one group without keys."""
    if not keys:
        return [((), frame)]
    return list(frame.groupby(keys, dropna=False, sort=True))


def band(ax, values: pd.Series, x: pd.Series, colour: str) -> bool:
    """Mean over runs per x (an epoch, a layer's depth), with a min-max band only where several runs
    (seeds) have a value; an x with no value (NC not computed that epoch) is skipped. False when
    nothing was drawn."""
    stats = values.groupby(x).agg(["mean", "min", "max", "count"]).dropna()
    if stats.empty:
        return False
    ax.plot(stats.index, stats["mean"], color=colour, lw=1.2)
    seeded = stats[stats["count"] > 1]
    if not seeded.empty:
        ax.fill_between(seeded.index, seeded["min"], seeded["max"], color=colour, alpha=0.2, lw=0)
    return True


def band_note(frame: pd.DataFrame, by: list[str]) -> str:
    """What a figure's bands are: min-max over the seeds, or none with one seed per line."""
    most = frame.groupby(by, dropna=False)["run_id"].nunique().max() if len(frame) else 1
    return "band: min-max over the seeds" if most > 1 else "one seed per line: no band"


def colours_for(names: list[str]) -> dict[str, object]:
    """CE blue and BCE vermillion as in every other figure; the other losses take the palette's other
    colours, then tab10's (past seven losses no palette stays told apart)."""
    palette = [c for c in OKABE_ITO if c not in LOSS_COLOURS.values()] + [plt.get_cmap("tab10")(i) for i in range(10)]
    others = [n for n in names if n.split("(")[0] not in LOSS_COLOURS]
    return {n: LOSS_COLOURS.get(n.split("(")[0]) or palette[others.index(n) % len(palette)] for n in names}
