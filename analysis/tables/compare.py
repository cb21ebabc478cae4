"""Paired comparisons: each loss against reference losses (CE and BCE by default), per setting.

Two trials pair when every config value but the loss is the same, the seed included: same data
order, same initial weights, so the seed-to-seed noise cancels in their difference. Per metric:
the mean difference (loss - reference), its 95% interval and the paired t-test; the Wilcoxon
signed-rank test too where there are at least 6 pairs; Welch's unequal-variance t-test where the
seeds of the two losses do not pair. p-values are Holm-adjusted over the whole table (every loss,
reference, metric and setting: the family a reader scans). All tests are scipy.stats'; Holm's
step-down is written here because scipy has only the false-discovery-rate adjustments.

A config value that takes one value per loss (each loss's own tuned learning rate, from `ncsweep
tune` or cases written by hand) goes with the loss, not the setting: the tuned CE pairs with the
tuned BCE, each at its own configuration.

NC1-like metrics that span orders of magnitude (nc1, cdnv) are compared as log10, so "-0.5" reads
"a third of the reference's". `train/bias_position` places the final mean bias between the mean
negative (0) and positive (1) scores: inside (0, 1) the bias separates them, BCE's signature.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.tables.losses import LOSS_COLUMN, labelled
from analysis.tables.selection import is_finished
from trainers.metrics import display_name

REFERENCES = ("ce", "bce")
CONFIDENCE = 0.95
MIN_WILCOXON = 6  # below 6 pairs the signed-rank test cannot reach p < 0.05 (two-sided)
# The final-epoch metrics compared, and those compared as log10
LOGGED = [
    "test/acc",
    "test/uniform_acc",
    "train/nc1",
    "test/nc1",
    "train/cdnv",
    "train/nc2_h",
    "train/nc2_w",
    "train/nc3",
    "test/nc4",
    "test/ncc_acc",
    "test/compactness",
    "test/distinctiveness",
]
LOG10 = {"train/nc1", "test/nc1", "train/cdnv"}
# (name, trials column or None for the derived bias position, compared as log10)
COMPARED = [(name, f"final/{name}", name in LOG10) for name in LOGGED] + [("train/bias_position", None, False)]
HEADLINE = ("test/acc", "test/uniform_acc", "train/nc1", "train/bias_position")  # what run/analyze print


class MissingReference(ValueError):
    """A reference loss asked for that no finished trial has; the message lists the losses there are."""


def bias_position(trials: pd.DataFrame) -> pd.Series:
    """(mean bias - mean negative score) / (mean positive - mean negative score) at the last epoch."""
    needed = ["final/train/bias_mean", "final/train/neg_score_mean", "final/train/pos_score_mean"]
    if not set(needed) <= set(trials):
        return pd.Series(np.nan, index=trials.index)
    bias, neg, pos = (pd.to_numeric(trials[c], errors="coerce") for c in needed)
    return (bias - neg) / (pos - neg)


def metric_values(trials: pd.DataFrame) -> pd.DataFrame:
    """One column per COMPARED metric (log10 where marked; a non-positive value has no log: NaN)."""
    out = pd.DataFrame(index=trials.index)
    for name, source, log in COMPARED:
        values = (
            bias_position(trials)
            if source is None
            else pd.to_numeric(trials[source], errors="coerce")
            if source in trials
            else pd.Series(np.nan, index=trials.index)
        )
        out[name] = np.log10(values.where(values > 0)) if log else values
    return out


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment: the i-th smallest of m p-values becomes
    max_{j <= i} min(1, (m - j + 1) p_(j)); NaN entries stay NaN and do not count in m."""
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    order = idx[np.argsort(p[idx], kind="stable")]
    m = order.size
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def no_spread(values: np.ndarray) -> bool:
    """All equal up to float64 rounding (CE's mean bias, a constant ratio): a t statistic would
    divide by rounding noise, so there is no test to run."""
    return bool(np.ptp(values) <= 1e-12 * max(1.0, float(np.max(np.abs(values)))))


def compare_values(a: pd.Series, b: pd.Series) -> dict:
    """One metric of a loss (a) against its reference (b), both indexed by the pairing key (the
    seed within a setting; finite values only): paired t (and Wilcoxon from 6 pairs) on the keys
    they share (one pair: the difference alone, no interval), else Welch's t-test on all of each."""
    shared = a.index.intersection(b.index)
    row = {
        "n_loss": a.size,
        "n_reference": b.size,
        "mean_diff": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "p": math.nan,
        "p_wilcoxon": math.nan,
    }
    if shared.size >= 1 and a.index.is_unique and b.index.is_unique:
        x, y = a[shared].to_numpy(), b[shared].to_numpy()
        row.update(test="paired t", n=int(shared.size), mean_diff=float(np.mean(x - y)))
        if shared.size == 1:  # one seed: a difference, no spread to test it against
            return row
        if no_spread(x - y):  # every pair differs alike: nothing to test, the interval is the point
            row.update(ci_low=row["mean_diff"], ci_high=row["mean_diff"])
            return row
        result = stats.ttest_rel(x, y)
        ci = result.confidence_interval(CONFIDENCE)
        row.update(p=float(result.pvalue), ci_low=float(ci.low), ci_high=float(ci.high))
        if shared.size >= MIN_WILCOXON:
            row["p_wilcoxon"] = float(stats.wilcoxon(x, y).pvalue)
        return row
    row.update(test="welch", n=int(min(a.size, b.size)))
    if a.size and b.size:
        row["mean_diff"] = float(a.mean() - b.mean())
    if a.size >= 2 and b.size >= 2 and not (no_spread(a.to_numpy()) and no_spread(b.to_numpy())):
        result = stats.ttest_ind(a.to_numpy(), b.to_numpy(), equal_var=False)
        ci = result.confidence_interval(CONFIDENCE)
        row.update(p=float(result.pvalue), ci_low=float(ci.low), ci_high=float(ci.high))
    elif not (a.size >= 2 and b.size >= 2):
        row["test"] = "none (fewer than 2 trials)"
    return row


def per_loss(done: pd.DataFrame, column: str) -> bool:
    """One value per loss and more than one in all: a value that travels with the loss (its own tuned
    configuration), not a setting to pair within."""
    values = done[column].astype(str)
    return values.nunique() > 1 and bool((values.groupby(done[LOSS_COLUMN]).nunique() == 1).all())


def _by_seed(values: pd.Series, cell: pd.DataFrame) -> pd.Series:
    """The finite values of these trials indexed by their seed (the pairing key within a setting)."""
    out = values.loc[cell.index]
    return (out.set_axis(cell["seed"]) if "seed" in cell else out).dropna()


def comparisons(trials: pd.DataFrame, references=REFERENCES, required: bool = False) -> pd.DataFrame:
    """One row per setting x loss x reference x metric (see the module docstring). With
    `required`, a reference no finished trial has is MissingReference; else it is skipped.
    `excluded` counts the trials of the two losses in that setting that gave no value (not
    finished, e.g. diverged, or NaN)."""
    everyone, setting = labelled(trials, every_status=True)
    finished_mask = is_finished(everyone)
    setting = [c for c in setting if not per_loss(everyone[finished_mask], c)]
    present = sorted(set(everyone.loc[finished_mask, LOSS_COLUMN]))
    missing = [r for r in references if r not in present]
    if required and missing:
        raise MissingReference(
            f"no finished trials with loss {', '.join(map(repr, missing))} to compare against; the losses in "
            f"these runs: {', '.join(present) or 'none'}"
        )
    values = metric_values(everyone)
    rows = []
    for key, cell in everyone.groupby(setting, dropna=False, sort=True) if setting else [((), everyone)]:
        key = key if isinstance(key, tuple) else (key,)
        done = cell[finished_mask.loc[cell.index]]
        for i, reference in enumerate(references):
            if reference not in set(done[LOSS_COLUMN]):
                continue
            ref = done[done[LOSS_COLUMN] == reference]
            # against a reference, the references listed after it too (bce - ce), not those before (ce - bce)
            before = set(references[: i + 1])
            for loss in (label for label in done[LOSS_COLUMN].drop_duplicates() if label not in before):
                mine = done[done[LOSS_COLUMN] == loss]
                involved = int(cell[LOSS_COLUMN].isin([loss, reference]).sum())
                for name, _, log in COMPARED:
                    a, b = _by_seed(values[name], mine), _by_seed(values[name], ref)
                    if a.empty and b.empty:
                        continue
                    row = {
                        **dict(zip(setting, key)),
                        "loss": loss,
                        "reference": reference,
                        "metric": name,
                        "scale": "log10" if log else "linear",
                    }
                    row.update(compare_values(a, b), excluded=involved - a.size - b.size)
                    rows.append(row)
    columns = [
        *setting,
        "loss",
        "reference",
        "metric",
        "scale",
        "test",
        "n",
        "n_loss",
        "n_reference",
        "mean_diff",
        "ci_low",
        "ci_high",
        "p",
        "p_wilcoxon",
        "p_holm",
        "excluded",
    ]
    table = pd.DataFrame(rows, columns=[c for c in columns if c != "p_holm"])
    table["p_holm"] = holm(table["p"]) if len(table) else pd.Series(dtype="float64")
    for column in ("n", "n_loss", "n_reference", "excluded"):
        table[column] = table[column].astype("int64")
    return table[columns]


def format_comparison(row: pd.Series, setting: list[str]) -> str:
    """`bce - ce  test/uniform_acc  +0.010 [+0.004, +0.016]  p=0.011  n=3` (with the setting first)."""
    where = " / ".join(
        f"{c.rsplit('.', 1)[-1]}={row[c]:.4g}" if isinstance(row[c], float) else f"{c.rsplit('.', 1)[-1]}={row[c]}"
        for c in setting
    )
    scale = " (log10)" if row["scale"] == "log10" else ""
    test = "" if row["test"] == "paired t" else f"  {row['test']}"
    return (
        f"{where + '  ' if where else ''}{row['loss']} - {row['reference']}  {display_name(row['metric'])}{scale}  "
        f"{row['mean_diff']:+.3g} {interval_text(row)}  p={p_text(row)}  n={row['n']}{test}"
    )


def interval_text(row: pd.Series) -> str:
    """A comparison's 95% interval, `[+0.004, +0.016]`, or why there is none."""
    if pd.isna(row["ci_low"]):
        return "[1 seed: no interval]" if row["n"] == 1 else "[no interval]"
    return f"[{row['ci_low']:+.3g}, {row['ci_high']:+.3g}]"


def p_text(row: pd.Series) -> str:
    """A comparison's p and its Holm-adjusted p, `0.011 (Holm 0.033)`, or `n/a`."""
    return "n/a" if pd.isna(row["p"]) else f"{row['p']:.2g} (Holm {row['p_holm']:.2g})"
