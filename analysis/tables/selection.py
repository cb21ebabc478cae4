"""Which trials a table counts and how they group: finished (or stopped, when asked) trials, the
setting keys, the swept axes, the losses in the paper's order."""

from __future__ import annotations

import pandas as pd

# data.imbalance_factor only matters for cifar100_lt; it is kept whenever the column has a value,
# and groupby(dropna=False) keeps the balanced datasets (NaN factor) as their own groups.
GROUP_KEYS = ["data.name", "data.imbalance_factor", "model.name", "optim.name", "train.augment"]


SWEEP_AXES = ["classifier.bias_init_mean", "regularization.lambda_b", "train.batch_size"]


LOSS_KEY = "loss.name"


LOSS_ORDER = ("ce", "bce")


def normalized(trials: pd.DataFrame) -> pd.DataFrame:
    """A copy whose config columns mean what they say: every config carries an imbalance factor,
    but it only means something for the long-tail data; elsewhere it would print as a spurious
    group ("digits / imbalance_factor=100"), so it is NaN there."""
    out = trials.copy()
    if "data.imbalance_factor" in out and "data.name" in out:
        out.loc[out["data.name"] != "cifar100_lt", "data.imbalance_factor"] = float("nan")
    return out


def is_finished(trials: pd.DataFrame) -> pd.Series:
    return trials["status"] == "finished" if "status" in trials else pd.Series(True, index=trials.index)


def counting_stopped(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials with those a scheduler stopped early (status "stopped") counted as finished: their
    final epoch is the one they were stopped at (`ncsweep analyze --include-stopped`)."""
    if "status" not in trials:
        return trials
    return trials.assign(status=trials["status"].replace("stopped", "finished"))


def finished(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials the paper would report: status == "finished" (all rows when there is no status)."""
    out = normalized(trials)
    return out[is_finished(out)].copy()


def group_keys(trials: pd.DataFrame) -> list[str]:
    """The GROUP_KEYS this table has, skipping absent or all-NaN columns (older configs)."""
    return [key for key in GROUP_KEYS if key in trials and trials[key].notna().any()]


def varied_axes(trials: pd.DataFrame) -> list[str]:
    """The SWEEP_AXES that take more than one value among these trials."""
    return [axis for axis in SWEEP_AXES if axis in trials and trials[axis].nunique() > 1]


def axis_trials(trials: pd.DataFrame, axis: str) -> pd.DataFrame:
    """The trials of the sweeps that vary `axis`.

    Several sweeps may share one export (the bias-init sweep at lambda_b = 0 and the bias-decay
    sweep at init 10): a bias-decay row must not pool the init sweep's trials that happen to share
    its lambda_b. Without a `sweep` column all trials count.
    """
    if axis not in trials:
        return trials.iloc[0:0]
    if "sweep" not in trials:
        return trials
    spread = trials.groupby("sweep", dropna=False)[axis].transform("nunique")
    return trials[spread > 1]


def ordered_losses(values) -> list[str]:
    """CE, then BCE, then any other loss by name: the paper always puts CE first."""
    present = {v for v in values if isinstance(v, str)}
    return [loss for loss in LOSS_ORDER if loss in present] + sorted(present - set(LOSS_ORDER))
