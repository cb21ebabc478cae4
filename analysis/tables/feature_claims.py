"""What the features are for, as claims any loss is held to against CE (docs/metrics.md#evaluations):
"the loss's test <use> is higher than CE's", one row per loss and use, from the evaluations its
trials logged at their last epoch. Paired over the seed within each setting like 7d
(analysis/tables/claims.py), and the p-values Holm-adjusted over every row of this family (every
loss and use): a verdict holds (or does not) only when its 95% interval is on one side of 0 AND its
Holm-adjusted p is below 0.05; otherwise it is inconclusive. Rows appear only for runs that logged
the evaluation (metrics.evaluations)."""

from __future__ import annotations

import math

import pandas as pd

from analysis.tables.compare import holm

# (claim id, logged column, statement): each use by the score that reads the learned threshold
# where there is a choice (the margin max_k S_k, with the bias).
USES = (
    ("open-set", "final/test/open_set/auroc_margin", "open-set AUROC (margin to the threshold) above CE's"),
    ("open-set", "final/test/open_set/oscr_margin", "open-set OSCR (margin) above CE's"),
    # the learned bias as the one threshold: BCE's argument for open-set use (Li et al. 2024)
    ("open-set", "final/test/open_set/threshold_acc", "open-set accuracy of the learned threshold above CE's"),
    ("ood", "final/test/ood/auroc_max_logit", "OOD AUROC (max logit) above CE's"),
    ("retrieval", "final/test/retrieval/recall_at_1", "test recall@1 above CE's"),
    ("verification", "final/test/verification/tar_at_far_1e-3", "test TAR at FAR 1e-3 above CE's"),
)
ALPHA = 0.05


def logged_uses(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """The uses whose column these runs logged (not all NaN)."""
    return [use for use in USES if use[1] in frame and pd.to_numeric(frame[use[1]], errors="coerce").notna().any()]


def feature_rows(frame: pd.DataFrame, losses: list[str], setting: list[str], where: str, row, pairs, compare) -> list:
    """The feature claims of every loss but CE, as claims-table rows (`row`, `pairs` and `compare`
    are the claims table's own builders, so the columns and the pairing are the same)."""
    uses = logged_uses(frame)
    if not uses:
        return []
    if "ce" not in losses:
        return [row(c, s, loss, "", why="no CE trials to compare with") for c, _, s in uses for loss in losses]
    out, tests = [], []
    for loss in losses:
        for claim, column, statement in uses:
            if loss == "ce":
                out.append(row(claim, statement, loss, "", why="CE is the reference"))
                continue
            result = compare(*pairs(frame, loss, setting, pd.to_numeric(frame[column], errors="coerce")))
            r = row(
                claim,
                statement,
                loss,
                f"{column.split('/', 2)[2]} - CE",
                result["mean_diff"],
                result["ci_low"],
                result["ci_high"],
                result["n"],
                "",
                f"{result['test']}{where}",
            )
            out.append(r)
            tests.append((r, result["p"]))
    adjusted = holm([p for _, p in tests]) if tests else []
    for (r, p), p_holm in zip(tests, adjusted):
        r["verdict"] = verdict(r["ci_low"], r["ci_high"], p_holm)
        if not math.isnan(p):
            r["why"] = f"{r['why']}, p {p:.2g} (Holm {p_holm:.2g})"
    return out


def verdict(low: float, high: float, p_holm: float) -> str:
    """holds: the interval above 0 and Holm's p below ALPHA; does not hold: below 0 likewise;
    inconclusive otherwise (one seed, or an interval or a p that more seeds would decide)."""
    if pd.isna(low) or pd.isna(high) or pd.isna(p_holm) or p_holm >= ALPHA:
        return "inconclusive"
    return "holds" if low > 0 else "does not hold" if high < 0 else "inconclusive"
