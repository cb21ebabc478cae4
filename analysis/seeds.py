"""Statistics over the seeds of a setting: what every table that pools seeds reports."""

from __future__ import annotations

import numpy as np
import pandas as pd


def seed_stats(frame: pd.DataFrame, by: list[str], sources: dict[str, str], with_std: bool) -> pd.DataFrame:
    """n, mean and (ddof=1) std of each source column over the rows of each `by` cell.

    A source absent from `frame` gives an all-NaN column, so every selection has the same columns.
    """
    data = frame[by].copy()
    for name, source in sources.items():
        data[name] = pd.to_numeric(frame[source], errors="coerce").astype("float64") if source in frame else np.nan
    grouped = data.groupby(by, dropna=False, sort=True)
    out = grouped.size().rename("n").to_frame()
    means = grouped[list(sources)].mean()
    stds = grouped[list(sources)].std(ddof=1) if with_std else None
    for name in sources:
        out[f"{name}_mean" if with_std else name] = means[name].astype("float64")
        if stds is not None:
            out[f"{name}_std"] = stds[name].astype("float64")
    return out.reset_index()
