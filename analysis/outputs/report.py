"""One self-contained page per sweep, report.html: what a researcher reads first.

The sweep (file, trial counts, wall time, cost), the settings table (n, mean and 95% interval), the
paired comparisons with Holm-adjusted p, the paper's claims with verdicts and reasons, the figures
(the paper's metrics over epochs per setting with seed bands, the final bias against the mean
scores, per-layer collapse and the loss comparison where the sweep has them), and each setting's
child runs linked into MLflow's UI. Figures are embedded as data URIs and the style is inline, so
the page fetches nothing: it opens from the results folder, and inside MLflow's artifact viewer.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from analysis.figures.report import curves_figure, settings
from analysis.outputs.export import Exported
from analysis.outputs.formats import SIGNIFICANT, caption, presentable
from analysis.tables.compare import HEADLINE, interval_text, p_text
from analysis.tables.summary import trial_hours
from trainers.metrics import display_name

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
caption { caption-side: top; text-align: left; font-style: italic; padding: 0.3em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
dl { display: grid; grid-template-columns: 9em 1fr; gap: 0.2em 1em; } dt { font-weight: bold; } dd { margin: 0; }
"""


def png(source) -> str:
    """A data URI of a matplotlib figure (closed after) or of a PNG file."""
    if isinstance(source, Path):
        data = source.read_bytes()
    else:
        buffer = io.BytesIO()
        source.savefig(buffer, format="png", dpi=150)
        plt.close(source)
        data = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode()


def table_html(table: pd.DataFrame | None, name: str, title: str) -> str:
    if table is None or table.empty:
        return ""
    cells, bold = presentable(table)
    cells = cells.map(html.escape).mask(bold & (cells != ""), "<b>" + cells.map(html.escape) + "</b>")
    body = cells.to_html(index=False, escape=False, border=0, classes=f"table-{name}")
    body = body.replace(">", f"><caption>{html.escape(caption(name, table))}</caption>", 1)
    return f'<h2 id="{name}">{title}</h2>\n{body}'


def comparisons_html(table: pd.DataFrame | None) -> str:
    """The headline rows of the paired comparisons, one cell for the difference and its interval and
    one for p and Holm's p; the whole table is comparisons.md and comparisons.parquet."""
    if table is None or table.empty:
        return ""
    head = table[table["metric"].isin(HEADLINE)]
    setting = list(table.columns[: list(table.columns).index("loss")])
    rows = []
    for _, row in head.iterrows():
        significant = not pd.isna(row["p_holm"]) and row["p_holm"] < SIGNIFICANT
        difference = f"{row['mean_diff']:+.3g} {interval_text(row)}"
        rows.append(
            {
                **{c: row[c] for c in setting},
                "loss - reference": f"{row['loss']} - {row['reference']}",
                "metric": display_name(row["metric"]) + (" (log10)" if row.get("scale") == "log10" else ""),
                "n": row["n"],
                "difference [95% t interval]": f"<b>{difference}</b>" if significant else difference,
                "p (Holm)": p_text(row),
            }
        )
    shown = ", ".join(display_name(m) for m in HEADLINE)
    text = (
        f"Paired differences loss - reference over the n seeds both ran; Holm's correction spans all {len(table)} rows "
        f"of comparisons.md (every metric), of which the {len(head)} rows of {shown} are shown; "
        "bold: significant after Holm (p < 0.05)."
    )
    body = pd.DataFrame(rows).to_html(index=False, escape=False, border=0)
    return '<h2 id="comparisons">Paired comparisons</h2>\n' + body.replace(
        ">", f"><caption>{html.escape(text)}</caption>", 1
    )


def runs_html(trials: pd.DataFrame, run_url: str | None) -> str:
    """Each setting's child runs, linked into MLflow's UI when its address is known."""
    items = []
    for name, rows in settings(trials):
        links = []
        for run_id, run_name in rows[["run_id", "run_name"]].itertuples(index=False):
            label = html.escape(str(run_name))
            links.append(f'<a href="{html.escape(run_url.format(run_id=run_id))}">{label}</a>' if run_url else label)
        items.append(f"<li>{html.escape(name)}: {', '.join(links)}</li>")
    return '<h2 id="runs">Child runs per setting</h2>\n<ul>\n' + "\n".join(items) + "\n</ul>" if items else ""


def report_html(exported: Exported, title: str, about: Mapping[str, str], run_url: str | None = None) -> str:
    figures = [
        ("The paper's metrics over epochs, per setting", curves_figure(exported.trials, exported.epochs)),
        ("Final bias against the mean negative and positive scores (claim 7a)", exported.scores_figure),
        ("Losses compared", exported.losses_figure),
        ("Collapse across depth", exported.layers_figure),
    ]
    facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in about.items() if v)
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<dl>{facts}</dl>",
        table_html(exported.settings, "settings", "Settings"),
        comparisons_html(exported.comparisons),
        table_html(exported.claims, "claims", "The paper's claims on these runs"),
        *(
            f'<h2>{html.escape(name)}</h2>\n<img alt="{html.escape(name)}" src="{png(figure)}">'
            for name, figure in figures
            if figure is not None and (not isinstance(figure, Path) or figure.is_file())
        ),
        runs_html(exported.trials, run_url),
    ]
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style>'
    return (
        f"<!DOCTYPE html>\n<html><head>{head}</head>\n<body>\n"
        + "\n".join(p for p in parts if p)
        + "\n</body></html>\n"
    )


def write_report(
    exported: Exported, out_dir: Path, title: str, about: Mapping[str, str], run_url: str | None = None
) -> Path:
    path = Path(out_dir) / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(exported, title, about, run_url))
    return path


def describe_sweep(trials: pd.DataFrame) -> dict[str, str]:
    """What the trials table says of the sweep: trial counts by status and the trial hours."""
    counts = trials["status"].value_counts() if "status" in trials else pd.Series(dtype=int)
    return {
        "trials": f"{len(trials)}: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        "trial hours": f"{trial_hours(trials):.3g} (the trials' wall times added up)",
    }
