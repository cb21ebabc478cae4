"""A plain-text summary of a finished sweep, printed by `ncsweep run` and `ncsweep analyze`.

It shows what the sweep varied and where the final biases sit relative to the scores, which is
what the paper's claim 7a is about: under CE (lambda_b = 0) the mean bias stays at its initial
value whatever the scores do; under BCE it ends between the negative and positive scores. A sweep
with seeds, or with more trials than a screen holds, is summarized per setting (seed statistics:
mean ± the half-width of the 95% t interval); the per-trial table is one flag away and always in
trials.parquet.
"""

from __future__ import annotations

import pandas as pd

from analysis.tables.seeds import mean_ci, seed_stats
from trainers.metrics import display_name

SCREENFUL = 30  # more trials than this: one row per setting, not per trial

# What the summary and the settings table show, under each metric's one display name (the registry's).
SHOWN = {
    column: display_name(column)
    for column in (
        "final/train/bias_mean",
        "final/train/neg_score_mean",
        "final/train/pos_score_mean",
        "final/train/uniform_acc_at_bias",
        "final/test/acc",
        "final/test/uniform_acc",
        "final/train/nc1",
    )
}
CONFIG_SKIP = {"seed"}


def varied_columns(trials: pd.DataFrame) -> list[str]:
    """Config columns (dotted names, no '/') whose value differs between trials, less a variant's
    own key that follows from its name (sce's loss.alpha 0.1 and nce_rce's 1.0 are two losses'
    defaults: loss.name already says which)."""
    config = [c for c in trials.columns if "." in c and "/" not in c and c not in CONFIG_SKIP]
    varied = [c for c in config if trials[c].astype(str).nunique() > 1]

    def follows_from_name(column: str) -> bool:
        name = f"{column.split('.', 1)[0]}.name"
        if column == name or name not in varied:
            return False
        return bool((trials.astype({column: str}).groupby(name)[column].nunique() <= 1).all())

    return [c for c in varied if not follows_from_name(c)]


def trial_hours(trials: pd.DataFrame) -> float:
    """The trials' wall times added up, in hours: what a sweep cost in trial time."""
    return float(trials["wall_time_s"].sum()) / 3600 if "wall_time_s" in trials else 0.0


def bias_inside_scores(trials: pd.DataFrame) -> pd.Series:
    """Does the mean final bias lie strictly between the mean negative and positive scores?"""
    return (trials["final/train/neg_score_mean"] < trials["final/train/bias_mean"]) & (
        trials["final/train/bias_mean"] < trials["final/train/pos_score_mean"]
    )


def summary_table(trials: pd.DataFrame) -> pd.DataFrame:
    keep = ["run_name", "status", *varied_columns(trials), *[c for c in SHOWN if c in trials]]
    table = trials[keep].rename(columns=SHOWN)
    if {"final/train/bias_mean", "final/train/neg_score_mean", "final/train/pos_score_mean"} <= set(trials):
        table["bias in (neg,pos)"] = bias_inside_scores(trials).map({True: "yes", False: "no"})
    return table


def claim_7a(trials: pd.DataFrame) -> list[str]:
    """Claim 7a read off the trials (empty when the sweep did not vary loss and bias init)."""
    needed = {"loss.name", "classifier.bias_init_mean", "final/train/bias_mean", "regularization.lambda_b"}
    if not needed <= set(trials) or trials["classifier.bias_init_mean"].nunique() < 2:
        return []
    done = trials[(trials["status"] == "finished") & (trials["regularization.lambda_b"] == 0)]
    lines = []
    ce, bce = done[done["loss.name"] == "ce"], done[done["loss.name"] == "bce"]
    if len(ce):
        drift = (ce["final/train/bias_mean"] - ce["classifier.bias_init_mean"]).abs().max()
        inside = int(bias_inside_scores(ce).sum())
        lines.append(
            f"CE : final mean bias - initial mean: max |diff| = {drift:.3g} over {len(ce)} trials (the bias "
            f"stays put); bias between neg and pos scores in {inside}/{len(ce)}"
        )
    if len(bce):
        inside = int(bias_inside_scores(bce).sum())
        lines.append(
            f"BCE: bias between the mean negative and positive scores in {inside}/{len(bce)} trials, whatever the init"
        )
    return lines


def settings_table(trials: pd.DataFrame, statuses: pd.Series | None = None) -> pd.DataFrame:
    """One row per setting (what varied, the seed aside): its trials by status (`statuses` when
    given: the logged ones, where `trials` counts stopped trials as finished) and the seed
    statistics of each SHOWN metric over its finished trials."""
    setting = varied_columns(trials)
    frame = trials.assign(_all="all") if not setting else trials
    if statuses is not None:
        frame = frame.assign(_counted=statuses)
    by = setting or ["_all"]
    done = frame[frame["status"] == "finished"] if "status" in frame else frame
    stats = seed_stats(done, by, {label: column for column, label in SHOWN.items() if column in done})
    if "status" in frame:
        counts = (
            frame.groupby(by, dropna=False)["_counted" if statuses is not None else "status"]
            .agg(lambda s: ", ".join(f"{n} {k}" for k, n in s.value_counts().items()))
            .rename("trials")
        )
        stats = stats.merge(counts.reset_index(), on=by, how="outer")
    if {"final/train/bias_mean", "final/train/neg_score_mean", "final/train/pos_score_mean"} <= set(done):
        inside = (
            done.assign(_inside=bias_inside_scores(done))
            .groupby(by, dropna=False)["_inside"]
            .agg(lambda s: f"{int(s.sum())}/{len(s)}")
        )
        stats = stats.merge(inside.rename("bias in (neg,pos)").reset_index(), on=by, how="left")
    return stats.drop(columns=["_all"], errors="ignore")


def per_setting(trials: pd.DataFrame) -> bool:
    """Summarize per setting: the sweep has seeds, or more trials than a screen holds."""
    return ("seed" in trials and trials["seed"].nunique() > 1) or len(trials) > SCREENFUL


def format_settings(trials: pd.DataFrame) -> str:
    table = settings_table(trials)
    setting = varied_columns(trials)
    shown = table[[*setting, *([c for c in ("trials",) if c in table])]].copy()
    for label in SHOWN.values():
        if f"{label}_mean" in table:
            shown[label] = [mean_ci(row, label) for _, row in table.iterrows()]
    if "bias in (neg,pos)" in table:
        shown["bias in (neg,pos)"] = table["bias in (neg,pos)"]
    return shown.to_string(index=False)


def format_summary(trials: pd.DataFrame, per_trial: bool = False) -> str:
    """The per-trial table (or, for a sweep with seeds or many trials and without `per_trial`, the
    per-setting one) and the claim-7a lines."""
    if per_setting(trials) and not per_trial:
        text = (
            f"Per setting ({len(trials)} trials; mean ± half-width of the 95% t interval over seeds; per "
            "trial: --per-trial, or trials.parquet):\n"
        )
        text += format_settings(trials)
    else:
        table = summary_table(trials.sort_values("run_name"))
        text = table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    claim = claim_7a(trials)
    if claim:
        text += "\n\nPaper claim 7a (biases under CE vs BCE, lambda_b = 0):\n  " + "\n  ".join(claim)
    return text
