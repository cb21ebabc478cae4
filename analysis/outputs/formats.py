"""Tables people paste into papers and notes: every summary table also as Markdown and LaTeX.

A metric with seed statistics (`<metric>_mean`, `_ci_low`, ... from analysis/tables/seeds.py)
becomes one cell, `mean ± half-width of its 95% t interval`; a row of one seed says `1 seed: no
interval` once, in its n column (its cells are the plain values). Every table carries a caption
saying what the interval is, what n counts and, for the paired comparisons, over how many rows
Holm's correction runs. Bold marks only a difference that is significant after Holm (p_holm < 0.05,
the comparisons table): a highest mean is not a finding when its interval overlaps the next one's,
so the means tables have no bold. Written by pandas' own writers: DataFrame.to_markdown and
Styler.to_latex.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.tables.seeds import STATS, mean_ci
from trainers.metrics import display_name

FORMATS = {"md": ".md", "latex": ".tex"}
SIGNIFICANT = 0.05  # Holm-adjusted p below this: bold
INTERVAL = "mean ± half-width of the 95% t interval over the n seeds of the row (n = 1: no interval)"
CAPTIONS = {
    "settings": "Final-epoch metrics per setting (finished trials): " + INTERVAL + ".",
    "losses": "Final-epoch metrics per loss and setting: " + INTERVAL + ".",
    "comparisons": (
        "Paired differences loss - reference over the n seeds both ran: mean_diff with its 95% t interval "
        "[ci_low, ci_high]; p: two-sided paired t-test; p_wilcoxon: signed-rank test (n >= 6); p_holm: Holm-adjusted "
        "over all {rows} rows of this table; bold: p_holm < 0.05. log10 rows compare log10 of the metric."
    ),
    "claims": (
        "The paper's claims tested on these runs: each statistic with its 95% interval, n the trials or seed pairs "
        "it rests on, and the verdict (holds, does not hold, inconclusive)."
    ),
}
DEFAULT_CAPTION = "Per row: " + INTERVAL + "."


def caption(name: str, table: pd.DataFrame) -> str:
    return CAPTIONS.get(name, DEFAULT_CAPTION).format(rows=len(table))


def _plain(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if pd.isna(value) else f"{value:.4g}"
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def presentable(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells as text, which cells are bold): metrics with seed statistics as mean ± half-width; in
    a comparisons table (p_holm) the difference and its interval of a significant row; a row of one
    seed without an interval says so where the interval would be."""
    names = [
        c.removesuffix("_mean")
        for c in table.columns
        if c.endswith("_mean") and f"{c.removesuffix('_mean')}_ci_low" in table
    ]
    stat_columns = {f"{n}_{s}" for n in names for s in STATS}
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column in stat_columns and not column.endswith("_mean"):
            continue
        if column in stat_columns:  # <name>_mean: the cell of the whole statistic
            name = column.removesuffix("_mean")
            out[display_name(name)] = [
                mean_ci(row, name).removesuffix(" (1 seed: no interval)") for _, row in table.iterrows()
            ]
        elif column == "n" and names:  # the seed count of a table of seed statistics
            out[column] = ["1 seed: no interval" if n == 1 else _plain(n) for n in table[column]]
        elif column == "metric":
            out[column] = [display_name(v) for v in table[column]]
        else:
            out[column] = [_plain(v) for v in table[column]]
    bold = pd.DataFrame(False, index=table.index, columns=out.columns)
    if "p_holm" in table and "n" in table:
        one_seed = (table["n"] == 1) & table["ci_low"].isna()
        for column in ("ci_low", "ci_high", "p", "p_holm"):
            if column in out:
                out.loc[one_seed, column] = "1 seed: no interval"
        significant = pd.to_numeric(table["p_holm"], errors="coerce") < SIGNIFICANT
        for column in ("mean_diff", "ci_low", "ci_high"):
            if column in bold:
                bold[column] = significant.to_numpy()
    return out, bold


def to_markdown(table: pd.DataFrame, name: str = "") -> str:
    cells, bold = presentable(table)
    cells = cells.astype(str)  # an empty table's columns come back float: "**" + float fails
    body = cells.mask(bold & (cells != ""), "**" + cells + "**").to_markdown(index=False)
    return f"Table: {caption(name, table)}\n\n{body}"


def to_latex(table: pd.DataFrame, name: str = "") -> str:
    cells, bold = presentable(table)
    styler = cells.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    styler = styler.apply(lambda column: np.where(bold[column.name], "textbf:--rwrap;", ""), axis=0)
    text = styler.to_latex(hrules=True, caption=caption(name, table).replace("%", r"\%"), position="htbp")
    return text.replace("±", r"$\pm$")


def write_formats(tables: dict[str, pd.DataFrame], out_dir: Path, formats: list[str]) -> list[Path]:
    """<name>.md and/or <name>.tex for each table; the paths written."""
    written = []
    for name, table in tables.items():
        for fmt in formats:
            path = Path(out_dir) / f"{name}{FORMATS[fmt]}"
            path.write_text((to_markdown(table, name) if fmt == "md" else to_latex(table, name)) + "\n")
            written.append(path)
    return written
