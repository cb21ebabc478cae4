"""A plain-text summary of a finished sweep, printed by `ncsweep run` and `ncsweep analyze`.

It shows, per trial, what the sweep varied and where the final biases sit relative to the scores,
which is what the paper's claim 7a is about: under CE (lambda_b = 0) the mean bias stays at its
initial value whatever the scores do; under BCE it ends between the negative and positive scores.
"""

from __future__ import annotations

import pandas as pd

SHOWN = {
    "final/train/bias_mean": "bias",
    "final/train/neg_score_mean": "neg score",
    "final/train/pos_score_mean": "pos score",
    "final/train/uniform_acc_at_bias": "train uacc@bias",
    "final/test/acc": "test acc",
    "final/test/uniform_acc": "test uacc",
    "final/train/nc1": "train nc1",
}
CONFIG_SKIP = {"seed"}


def varied_columns(trials: pd.DataFrame) -> list[str]:
    """Config columns (dotted names, no '/') whose value differs between trials."""
    config = [c for c in trials.columns if "." in c and "/" not in c and c not in CONFIG_SKIP]
    return [c for c in config if trials[c].astype(str).nunique() > 1]


def bias_inside_scores(trials: pd.DataFrame) -> pd.Series:
    """Does the mean final bias lie strictly between the mean negative and positive scores?"""
    return (trials["final/train/neg_score_mean"] < trials["final/train/bias_mean"]) & (trials["final/train/bias_mean"] < trials["final/train/pos_score_mean"])


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
        lines.append(f"CE : final mean bias - initial mean: max |diff| = {drift:.3g} over {len(ce)} trials (the bias stays put); bias between neg and pos scores in {inside}/{len(ce)}")
    if len(bce):
        inside = int(bias_inside_scores(bce).sum())
        lines.append(f"BCE: bias between the mean negative and positive scores in {inside}/{len(bce)} trials, whatever the init")
    return lines


def format_summary(trials: pd.DataFrame) -> str:
    table = summary_table(trials.sort_values("run_name"))
    text = table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    claim = claim_7a(trials)
    if claim:
        text += "\n\nPaper claim 7a (biases under CE vs BCE, lambda_b = 0):\n  " + "\n  ".join(claim)
    return text
