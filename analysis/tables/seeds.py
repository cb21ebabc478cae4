"""Statistics over the seeds of a setting: what every table that pools seeds reports.

Per metric: n (the seeds with a value; NaN values, e.g. of a trial that diverged before its last
metrics, are left out and so not counted), mean, std (ddof = 1), the standard error of the mean,
and a 95% confidence interval for the mean from Student's t with n - 1 degrees of freedom (the
right interval for the three to five seeds a sweep runs; a normal one would be too narrow). With
one seed there is no spread: std, sem and the interval are NaN and tables say "1 seed". All of it
is numpy and scipy.stats; nothing here is statistics by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
STATS = ("n", "mean", "std", "sem", "ci_low", "ci_high")


def describe(values) -> dict[str, float]:
    """n, mean, std, sem and the t interval of the finite values."""
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return {"n": 0, "mean": math.nan, "std": math.nan, "sem": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    mean = float(np.mean(v))
    if n == 1:
        return {"n": 1, "mean": mean, "std": math.nan, "sem": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    sem = float(stats.sem(v))
    # A spread of exactly 0 (CE's mean bias never moves): the interval is the point itself.
    low, high = (mean, mean) if sem == 0 else stats.t.interval(CONFIDENCE, n - 1, loc=mean, scale=sem)
    return {
        "n": n,
        "mean": mean,
        "std": float(np.std(v, ddof=1)),
        "sem": sem,
        "ci_low": float(low),
        "ci_high": float(high),
    }


def seed_stats(frame: pd.DataFrame, by: list[str], sources: dict[str, str]) -> pd.DataFrame:
    """One row per `by` cell: `n` (its trials) and, for each name -> source column, the STATS as
    `<name>_n`, `<name>_mean`, ... A source absent from `frame` gives NaN columns, so tables of
    different selections have the same columns."""
    rows = []
    for key, cell in frame.groupby(by, dropna=False, sort=True):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row["n"] = len(cell)
        for name, source in sources.items():
            values = pd.to_numeric(cell[source], errors="coerce") if source in cell else pd.Series(dtype="float64")
            row.update({f"{name}_{stat}": value for stat, value in describe(values).items()})
        rows.append(row)
    columns = [*by, "n", *(f"{name}_{stat}" for name in sources for stat in STATS)]
    out = pd.DataFrame(rows, columns=columns)
    for column in columns[len(by) :]:
        out[column] = out[column].astype("int64" if column == "n" or column.endswith("_n") else "float64")
    return out


def mean_ci(row: pd.Series, name: str, digits: int = 4) -> str:
    """`mean ± half-width` of the interval, or `mean (1 seed: no interval)` where there is none."""
    mean = row.get(f"{name}_mean")
    if mean is None or pd.isna(mean):
        return "nan"
    low, high = row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    if pd.isna(low) or pd.isna(high):
        return f"{mean:.{digits}g} (1 seed: no interval)" if row.get(f"{name}_n", 0) == 1 else f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} ± {(high - low) / 2:.2g}"
