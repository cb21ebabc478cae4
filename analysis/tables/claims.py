"""The paper's claims (docs/science.md#claims) tested on any loss, with a statistic, its 95% interval
and a verdict: holds, does not hold, inconclusive (the interval straddles the threshold: more
seeds would decide), or not testable from these runs (and why).

Each row tests one statement on one loss. For CE and BCE the `paper` column says what the paper
states (holds / does not hold), so a run that reproduces it reads `agrees`; for the other losses
the rows say which of the two behaviours the loss shows.

- 7a (trials at lambda_b = 0 over >= 2 values of classifier.bias_init_mean):
  "bias stays at its init": the slope of the final mean bias on its initial mean, within
  SLOPE_TOLERANCE of 1 (CE: the bias gradient sums to 0 over the classes, so SGD never moves it);
  "bias between the scores": every trial ends with its mean bias between the mean negative and
  positive scores, whatever the init (BCE).
- 7b (trials at one init over >= 2 values of regularization.lambda_b, at the largest):
  "bias decays to 0": |final mean bias| / |initial mean| below DECAYED (CE);
  "bias still between the scores": every trial's bias between the scores (BCE).
- 7c: train nc1 below CE's at epochs 5, 10, 20 (paired on every other config value and the seed,
  log10: "collapses faster than CE"); the last epoch is reported, the paper claims nothing there.
- 7d: test uniform accuracy above CE's (paired), with test accuracy no more than ACC_TOLERANCE below.
7c and 7d use the trials at the default bias (init 0, lambda_b 0) when a sweep also varies those,
as the paper's classification and NC experiments do. Runs that logged evaluations
(metrics.evaluations) also get the feature claims of analysis/tables/feature_claims.py: open-set,
OOD, retrieval and verification above CE's, paired the same way, Holm-adjusted.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.tables.compare import CONFIDENCE, compare_values
from analysis.tables.feature_claims import feature_rows, logged_uses
from analysis.tables.losses import LOSS_COLUMN, labelled
from analysis.tables.seeds import describe
from analysis.tables.selection import ordered_losses
from analysis.tables.summary import bias_inside_scores
from analysis.tables.text import text_table

INIT, DECAY, BIAS_MODE = "classifier.bias_init_mean", "regularization.lambda_b", "classifier.bias"
SLOPE_TOLERANCE = 0.05  # "stays at its init": the slope's interval within [0.95, 1.05]
DECAYED = 0.1  # "decays to 0": under 10% of the initial mean bias
ACC_TOLERANCE = 0.01  # 7d's "comparable accuracy": at most 1 point below CE
EPOCHS_7C = (5, 10, 20)
HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE = "holds", "does not hold", "inconclusive", "not testable"
# What the paper states for its two losses: (claim, statement) -> {loss: verdict}.
PAPER = {
    ("7a", "stays"): {"ce": HOLDS, "bce": None},
    ("7a", "between"): {"ce": FAILS, "bce": HOLDS},
    ("7b", "decays"): {"ce": HOLDS, "bce": None},
    ("7b", "between"): {"ce": None, "bce": HOLDS},
    ("7c", "5"): {"bce": HOLDS},
    ("7c", "10"): {"bce": HOLDS},
    ("7c", "20"): {"bce": HOLDS},
    ("7d", "uniform"): {"bce": HOLDS},
}
STATEMENTS = {
    ("7a", "stays"): "bias stays at its init (CE)",
    ("7a", "between"): "bias between the scores, any init (BCE)",
    ("7b", "decays"): "bias decays to 0 at the largest lambda_b (CE)",
    ("7b", "between"): "bias between the scores at the largest lambda_b (BCE)",
    ("7d", "uniform"): f"test uniform acc above CE's, acc within {ACC_TOLERANCE}",
}


BIAS_COLUMNS = ("final/train/bias_mean", "final/train/neg_score_mean", "final/train/pos_score_mean")


def _missing(frame: pd.DataFrame, columns) -> str:
    """Why a claim cannot be read off these trials for want of metrics ('' when all are there), or
    for want of a bias: a head without one (classifier.bias none) logs a mean bias of 0."""
    if BIAS_MODE in frame and len(frame) and (frame[BIAS_MODE] == "none").all():
        return f"the head has no bias ({BIAS_MODE}: none)"
    absent = [c for c in columns if c not in frame or frame[c].isna().all()]
    return f"these runs logged no {', '.join(absent)}" if absent else ""


def _row(
    claim: str,
    key: str,
    loss: str,
    statistic: str,
    value=math.nan,
    low=math.nan,
    high=math.nan,
    n: int = 0,
    verdict: str = UNTESTABLE,
    why: str = "",
) -> dict:
    statement = STATEMENTS.get((claim, key)) or (
        f"train nc1 below CE's at epoch {key}" if claim == "7c" else key  # a feature claim: the key is its statement
    )
    paper = PAPER.get((claim, key), {}).get(loss)
    agrees = (
        ""
        if paper is None or verdict == UNTESTABLE
        else "agrees"
        if verdict == paper
        else "undecided"
        if verdict == INCONCLUSIVE
        else "differs"
    )
    return {
        "claim": claim,
        "statement": statement,
        "loss": loss,
        "statistic": statistic,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "n": n,
        "verdict": verdict,
        "paper": paper or "",
        "agrees": agrees,
        "why": why,
    }


def _interval_verdict(
    low: float, high: float, holds_if_below: float | None = None, holds_if_above: float | None = None
) -> str:
    """holds when the whole interval is on the claimed side of the threshold, does not hold when it
    is on the other side, inconclusive when it straddles it."""
    if pd.isna(low) or pd.isna(high):
        return INCONCLUSIVE
    if holds_if_below is not None:
        return HOLDS if high < holds_if_below else FAILS if low > holds_if_below else INCONCLUSIVE
    return HOLDS if low > holds_if_above else FAILS if high < holds_if_above else INCONCLUSIVE


def _between(frame: pd.DataFrame, claim: str, key: str, loss: str) -> dict:
    inside = bias_inside_scores(frame).dropna() if len(frame) else pd.Series(dtype=bool)
    k, n = int(inside.sum()), int(inside.size)
    ci = stats.binomtest(k, n).proportion_ci(CONFIDENCE) if n else None
    verdict = HOLDS if n and k == n else FAILS  # "whatever the init": one trial outside refutes it
    return _row(
        claim,
        key,
        loss,
        "fraction between",
        k / n if n else math.nan,
        ci.low if ci else math.nan,
        ci.high if ci else math.nan,
        n,
        verdict,
        f"{k} of {n} trials",
    )


def claim_7a(done: pd.DataFrame, loss: str) -> list[dict]:
    testable = {INIT, DECAY} <= set(done)
    frame = done[(done[LOSS_COLUMN] == loss) & (done[DECAY] == 0)] if testable else done.iloc[0:0]
    why = _missing(frame if len(frame) else done, BIAS_COLUMNS) if testable else ""
    if not testable or frame[INIT].nunique() < 2 or why:
        why = why or f"needs trials at {DECAY} = 0 over at least 2 values of {INIT}"
        return [_row("7a", k, loss, "", why=why) for k in ("stays", "between")]
    x, y = frame[INIT].astype(float), pd.to_numeric(frame["final/train/bias_mean"], errors="coerce")
    ok = y.notna()
    fit = stats.linregress(x[ok], y[ok])
    n = int(ok.sum())
    if n > 2:
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 2) * fit.stderr
        low, high = fit.slope - half, fit.slope + half
    else:
        low = high = math.nan
    verdict = (
        HOLDS
        if (low >= 1 - SLOPE_TOLERANCE and high <= 1 + SLOPE_TOLERANCE)
        else FAILS
        if (high < 1 - SLOPE_TOLERANCE or low > 1 + SLOPE_TOLERANCE)
        else INCONCLUSIVE
    )
    stays = _row(
        "7a",
        "stays",
        loss,
        "slope final/init",
        fit.slope,
        low,
        high,
        n,
        verdict,
        f"holds within {SLOPE_TOLERANCE} of 1",
    )
    return [stays, _between(frame, "7a", "between", loss)]


def claim_7b(done: pd.DataFrame, loss: str) -> list[dict]:
    frame = done[done[LOSS_COLUMN] == loss] if {INIT, DECAY} <= set(done) else done.iloc[0:0]
    # the trials of the bias-decay sweep: one init, several lambda_b (the init sweep sits at lambda_b 0)
    swept = [init for init, g in frame.groupby(INIT) if g[DECAY].nunique() >= 2 and init != 0] if len(frame) else []
    why = (
        _missing(frame, BIAS_COLUMNS)
        if swept
        else f"needs trials at one nonzero {INIT} over at least 2 values of {DECAY}"
    )
    if why:
        return [_row("7b", k, loss, "", why=why) for k in ("decays", "between")]
    frame = frame[frame[INIT] == swept[0]]
    largest = frame[frame[DECAY] == frame[DECAY].max()]
    ratio = (pd.to_numeric(largest["final/train/bias_mean"], errors="coerce").abs() / abs(swept[0])).dropna()
    d = describe(ratio)
    at = f"{DECAY} = {largest[DECAY].iloc[0]:g}, init {swept[0]:g}"
    verdict = (
        _interval_verdict(d["ci_low"], d["ci_high"], holds_if_below=DECAYED)
        if d["n"] > 1
        else (HOLDS if d["mean"] < DECAYED else FAILS)
    )
    decays = _row(
        "7b",
        "decays",
        loss,
        "|bias| / |init|",
        d["mean"],
        d["ci_low"],
        d["ci_high"],
        d["n"],
        verdict,
        f"{at}; holds below {DECAYED}",
    )
    between = _between(largest, "7b", "between", loss)
    between["why"] += f" at {at}"
    return [decays, between]


def _default_bias(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The trials at bias init 0 and lambda_b 0 when the sweep varies those; else all."""
    mask = pd.Series(True, index=frame.index)
    for column in (INIT, DECAY):
        if column in frame and frame[column].nunique() > 1:
            mask &= frame[column] == 0
    return (frame[mask], " (at bias init 0, lambda_b 0)") if not mask.all() else (frame, "")


def _pairs(frame: pd.DataFrame, loss: str, setting: list[str], column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The loss's and CE's values indexed by (setting..., seed): pairs match on every config value but the loss."""
    keys = [*setting, "seed"] if "seed" in frame else setting

    def index(part: pd.DataFrame) -> pd.Series:
        values = column.loc[part.index]
        return values.set_axis(pd.MultiIndex.from_frame(part[keys].astype(str))).dropna() if keys else values.dropna()

    return index(frame[frame[LOSS_COLUMN] == loss]), index(frame[frame[LOSS_COLUMN] == "ce"])


def claim_7c(done: pd.DataFrame, epochs: pd.DataFrame, loss: str, setting: list[str]) -> list[dict]:
    frame, where = _default_bias(done)
    rows = []
    if loss == "ce" or "ce" not in set(frame[LOSS_COLUMN]):
        why = "CE is the reference" if loss == "ce" else "no CE trials to compare with"
        return [_row("7c", str(e), loss, "", why=why) for e in (*EPOCHS_7C, "last")]
    last = int(frame["epochs"].min()) if "epochs" in frame and frame["epochs"].notna().any() else None
    for epoch in (*EPOCHS_7C, "last"):
        at = last if epoch == "last" else epoch
        logged = (
            epochs[(epochs["epoch"] == at) & epochs["run_id"].isin(frame["run_id"])]
            if "train/nc1" in epochs and at
            else epochs.iloc[0:0]
        )
        nc1 = (
            frame["run_id"].map(logged.set_index("run_id")["train/nc1"])
            if len(logged)
            else pd.Series(np.nan, index=frame.index)
        )
        if nc1.notna().sum() == 0:
            why = (
                f"trials end before epoch {at}"
                if last is not None and at and at > last
                else f"train/nc1 not logged at epoch {at} (metrics.every)"
            )
            rows.append(_row("7c", str(epoch), loss, "", why=why))
            continue
        a, b = _pairs(frame, loss, setting, np.log10(nc1.where(nc1 > 0)))
        result = compare_values(a, b)
        verdict = _interval_verdict(result["ci_low"], result["ci_high"], holds_if_below=0.0)
        row = _row(
            "7c",
            str(epoch),
            loss,
            "log10 nc1 - CE",
            result["mean_diff"],
            result["ci_low"],
            result["ci_high"],
            result["n"],
            verdict,
            f"{result['test']}{where}",
        )
        if epoch == "last":
            row["statement"] = f"train nc1 below CE's at the last epoch ({at})"
        rows.append(row)
    return rows


def claim_7d(done: pd.DataFrame, loss: str, setting: list[str]) -> list[dict]:
    frame, where = _default_bias(done)
    if (
        loss == "ce"
        or "ce" not in set(frame[LOSS_COLUMN])
        or _missing(frame, ("final/test/uniform_acc", "final/test/acc"))
    ):
        why = (
            "CE is the reference"
            if loss == "ce"
            else _missing(frame, ("final/test/uniform_acc", "final/test/acc")) or "no CE trials to compare with"
        )
        return [_row("7d", "uniform", loss, "", why=why)]
    uniform = compare_values(
        *_pairs(frame, loss, setting, pd.to_numeric(frame["final/test/uniform_acc"], errors="coerce"))
    )
    acc = compare_values(*_pairs(frame, loss, setting, pd.to_numeric(frame["final/test/acc"], errors="coerce")))
    verdict = _interval_verdict(uniform["ci_low"], uniform["ci_high"], holds_if_above=0.0)
    if verdict == HOLDS and not acc["ci_low"] >= -ACC_TOLERANCE:
        verdict = FAILS if acc["ci_high"] < -ACC_TOLERANCE else INCONCLUSIVE
    acc_ci = "" if pd.isna(acc["ci_low"]) else f" [{acc['ci_low']:+.3g}, {acc['ci_high']:+.3g}]"
    why = f"acc - CE {acc['mean_diff']:+.3g}{acc_ci}, {uniform['test']}{where}"
    return [
        _row(
            "7d",
            "uniform",
            loss,
            "uniform acc - CE",
            uniform["mean_diff"],
            uniform["ci_low"],
            uniform["ci_high"],
            uniform["n"],
            verdict,
            why,
        )
    ]


def claims_table(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Every claim for every loss of these runs (finished trials), in the paper's loss order."""
    done, setting = labelled(trials)
    setting = [c for c in setting if c not in (INIT, DECAY)]
    rows = []
    losses = ordered_losses(done[LOSS_COLUMN]) if len(done) else []
    for loss in losses:
        rows += (
            claim_7a(done, loss)
            + claim_7b(done, loss)
            + claim_7c(done, epochs, loss, setting)
            + claim_7d(done, loss, setting)
        )
    if len(done):
        frame, where = _default_bias(done)
        rows += feature_rows(frame, list(losses), setting, where, _row, _pairs, compare_values)
    columns = [
        "claim",
        "statement",
        "loss",
        "statistic",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "verdict",
        "paper",
        "agrees",
        "why",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table["n"] = table["n"].astype("int64")
    return table


def can_test_claims(trials: pd.DataFrame) -> bool:
    """Whether the runs can test a claim: they vary the loss and one of the claims' axes, or logged
    an evaluation that a feature claim reads."""
    done, _ = labelled(trials)
    return (
        len(done) > 0
        and done[LOSS_COLUMN].nunique() > 1
        and (any(c in done and done[c].nunique() > 1 for c in (INIT, DECAY)) or bool(logged_uses(done)))
    )


def format_claims(table: pd.DataFrame) -> str:
    """The testable rows as a table (statistic [95% interval], n, verdict, what the paper states),
    then each claim these runs cannot test, once per reason, with the losses it concerns."""
    testable = table[table["verdict"] != UNTESTABLE]
    lines = []
    if len(testable):
        rows = []
        for _, r in testable.iterrows():
            ci = "" if pd.isna(r["ci_low"]) else f" [{r['ci_low']:.3g}, {r['ci_high']:.3g}]"
            paper = f"{r['paper']}: {r['agrees']}" if r["paper"] else ""
            rows.append(
                [
                    r["claim"],
                    r["loss"],
                    r["statement"],
                    f"{r['statistic']} {r['value']:.3g}{ci}",
                    str(r["n"]),
                    r["verdict"],
                    paper,
                    r["why"],
                ]
            )
        lines.append(
            text_table(
                ["claim", "loss", "statement", "estimate [95% interval]", "n", "verdict", "the paper", "note"],
                rows,
                indent="",
            )
        )
    untestable = table[table["verdict"] == UNTESTABLE]
    for (claim, why), rows in untestable.groupby(["claim", "why"], sort=False):
        lines.append(f"{claim}: not testable for {', '.join(dict.fromkeys(rows['loss']))}: {why}")
    return "\n".join(lines)
