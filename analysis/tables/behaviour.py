"""Which side of the CE / BCE divide a loss falls on for the bias claim 7a, read off a claims table
(analysis/tables/claims.py): the one-line answer docs/plugins.md's losses table gives per loss."""

from __future__ import annotations

import pandas as pd

from analysis.tables.claims import FAILS, HOLDS, INCONCLUSIVE, STATEMENTS

STAYS, BETWEEN = STATEMENTS[("7a", "stays")], STATEMENTS[("7a", "between")]


def side(stays: str, between: str) -> str:
    """CE's bias stays at its init (its gradient sums to zero over the classes); BCE's ends between
    the mean negative and positive scores whatever the init. A loss can show one, both or neither."""
    if stays == HOLDS and between == HOLDS:
        return "both"
    if stays == HOLDS:
        return "like CE: stays at its init"
    if between == HOLDS:
        return "like BCE: between the scores"
    if INCONCLUSIVE in (stays, between):
        return "inconclusive"
    if stays == FAILS and between == FAILS:
        return "neither: moves, not between the scores"
    return "not testable"


def bias_behaviour(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per loss of the table's 7a rows: loss, behaviour (`side`), and the two verdicts."""
    rows = []
    sevens = claims[claims["claim"] == "7a"]
    for loss, part in sevens.groupby("loss", sort=False):
        verdict = dict(zip(part["statement"], part["verdict"]))
        stays, between = verdict.get(STAYS, ""), verdict.get(BETWEEN, "")
        rows.append({"loss": loss, "behaviour": side(stays, between), "stays": stays, "between": between})
    return pd.DataFrame(rows, columns=["loss", "behaviour", "stays", "between"])
