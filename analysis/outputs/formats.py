"""Tables people paste into papers and notes: every summary table also as Markdown and LaTeX.

A metric with seed statistics (`<metric>_mean`, `_ci_low`, ... from analysis/seeds.py) becomes one
cell, `mean ± half-width of its 95% t interval`, and the best cell of each such column is bold:
the highest for accuracies, NC4, NCC and compactness, the lowest for the collapse measures that
fall to 0 at collapse (nc1-3, cdnv, the equinorm/equiangular/maxangle family, distinctiveness) and
the loss; other columns (biases, scores) have no best. Written by pandas' own writers:
DataFrame.to_markdown and Styler.to_latex.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.tables.seeds import STATS, mean_ci

FORMATS = {"md": ".md", "latex": ".tex"}
HIGHER = ("acc", "nc4", "compactness")
LOWER = ("nc1", "nc2", "nc3", "cdnv", "equinorm", "equiangular", "maxangle", "gnc2", "distinctiveness", "loss")


def direction(name: str) -> int:
    """+1 when higher is better, -1 when lower is, 0 when neither (a bias, a score)."""
    if any(word in name for word in LOWER):
        return -1
    return 1 if any(word in name for word in HIGHER) else 0


def presentable(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells as text, which cells are best): metrics with seed statistics as mean ± half-width."""
    names = [
        c.removesuffix("_mean")
        for c in table.columns
        if c.endswith("_mean") and f"{c.removesuffix('_mean')}_ci_low" in table
    ]
    stat_columns = {f"{n}_{s}" for n in names for s in STATS}
    out = pd.DataFrame(index=table.index)
    best = pd.DataFrame(False, index=table.index, columns=[])
    for column in table.columns:
        if column in stat_columns and not column.endswith("_mean"):
            continue
        if column in stat_columns:  # <name>_mean: the cell of the whole statistic
            name = column.removesuffix("_mean")
            out[name] = [mean_ci(row, name) for _, row in table.iterrows()]
            sign, means = direction(name), pd.to_numeric(table[column], errors="coerce")
            best[name] = (means == (means.max() if sign > 0 else means.min())) & means.notna() if sign else False
        else:
            values = table[column]
            out[column] = [
                f"{v:.4g}" if isinstance(v, (float, np.floating)) and not pd.isna(v) else ("" if pd.isna(v) else str(v))
                for v in values
            ]
            best[column] = False
    return out, best[out.columns]


def to_markdown(table: pd.DataFrame) -> str:
    cells, best = presentable(table)
    return cells.mask(best, "**" + cells + "**").to_markdown(index=False)


def to_latex(table: pd.DataFrame) -> str:
    cells, best = presentable(table)
    styler = cells.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    styler = styler.apply(lambda column: np.where(best[column.name], "textbf:--rwrap;", ""), axis=0)
    return styler.to_latex(hrules=True).replace("±", r"$\pm$")


def write_formats(tables: dict[str, pd.DataFrame], out_dir: Path, formats: list[str]) -> list[Path]:
    """<name>.md and/or <name>.tex for each table; the paths written."""
    written = []
    for name, table in tables.items():
        for fmt in formats:
            path = Path(out_dir) / f"{name}{FORMATS[fmt]}"
            path.write_text((to_markdown(table) if fmt == "md" else to_latex(table)) + "\n")
            written.append(path)
    return written
