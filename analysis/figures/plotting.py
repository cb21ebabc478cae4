"""What the figures share: headless matplotlib, the colours of the paper's two losses, mean
curves with min-max bands, group titles, and saving (always closing the figure: a sweep can
draw many)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: analysis runs on cluster nodes and in CI with no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

LOSS_COLOURS = {"ce": "tab:blue", "bce": "tab:red"}
DPI = 110


def save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
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
    """Mean over runs per x (an epoch, a layer's depth) with a min-max band; an x with no value
    (NC not computed that epoch) is skipped. False when nothing was drawn."""
    stats = values.groupby(x).agg(["mean", "min", "max"]).dropna()
    if stats.empty:
        return False
    ax.plot(stats.index, stats["mean"], color=colour, lw=1.4)
    ax.fill_between(stats.index, stats["min"], stats["max"], color=colour, alpha=0.2, lw=0)
    return True


def colours_for(names: list[str]) -> dict[str, object]:
    """CE blue and BCE red as in every other figure; the other losses take tab20's remaining colours."""
    palette = [plt.get_cmap("tab20")(i) for i in range(20) if i not in (0, 1, 6, 7)]  # not blue, not red
    others = [n for n in names if n.split("(")[0] not in LOSS_COLOURS]
    return {n: LOSS_COLOURS.get(n.split("(")[0]) or palette[others.index(n) % len(palette)] for n in names}
