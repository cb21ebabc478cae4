"""Summary tables as Markdown and LaTeX (`analyze --format md,latex`): mean ± the half-width of the
95% interval per metric, a caption saying so, bold only for a difference significant after Holm,
through pandas' writers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.outputs.formats import to_latex, to_markdown
from analysis.tables.seeds import seed_stats
from orchestrator.cli.parser import main


def table() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "loss": ["ce"] * 3 + ["bce"] * 3 + ["mae"],
            "acc": [0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.2],
            "nc1": [0.3, 0.2, 0.25, 0.1, 0.12, 0.11, 0.9],
            "bias": [5.0, 5.0, 5.0, 0.3, 0.4, 0.5, 1.0],
        }
    )
    return seed_stats(frame, ["loss"], {"test_acc": "acc", "train_nc1": "nc1", "train_bias": "bias"})


def comparisons() -> pd.DataFrame:
    """Three rows as analysis/tables/compare.py writes them: significant after Holm, not, one seed."""
    nan = np.nan
    return pd.DataFrame(
        {
            "loss": ["bce", "bce", "focal"],
            "reference": ["ce", "ce", "ce"],
            "metric": ["test/uniform_acc", "test/acc", "test/acc"],
            "n": [5, 5, 1],
            "mean_diff": [0.0123, 0.0011, 0.002],
            "ci_low": [0.008, -0.003, nan],
            "ci_high": [0.016, 0.005, nan],
            "p": [0.001, 0.42, nan],
            "p_holm": [0.003, 0.42, nan],
        }
    )


def cells(text: str, *first: str) -> list[str]:
    """The cells of the table row whose first cells are `first`."""
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in text.splitlines() if line.startswith("|")]
    return next(row for row in rows if row[: len(first)] == list(first))


def test_markdown_cells_are_mean_and_interval_under_a_caption_and_nothing_is_bold():
    text = to_markdown(table(), "settings")
    caption, blank, header, *_ = text.splitlines()
    assert caption.startswith("Table: ") and "mean ± half-width of the 95% t interval over the n seeds" in caption
    assert "n = 1: no interval" in caption and blank == ""
    assert [cell.strip() for cell in header.split("|")[1:-1]] == ["loss", "n", "test acc", "train nc1", "train bias"]
    assert cells(text, "bce") == ["bce", "3", "0.96 ± 0.025", "0.11 ± 0.025", "0.4 ± 0.25"]
    assert cells(text, "mae")[1:3] == ["1 seed: no interval", "0.2"]  # said once, where n is
    assert "**" not in text  # the highest mean is no finding by itself


def test_comparisons_bold_only_what_holm_keeps_and_say_where_one_seed_has_no_interval():
    text = to_markdown(comparisons(), "comparisons")
    assert "Holm-adjusted over all 3 rows of this table" in text.splitlines()[0]
    significant = cells(text, "bce", "ce", "test uniform acc")  # the metric under its display name
    not_significant, one_seed = cells(text, "bce", "ce", "test acc"), cells(text, "focal")
    assert significant[4:7] == ["**0.0123**", "**0.008**", "**0.016**"]
    assert "**" not in "".join(not_significant)  # p_holm 0.42, as bce vs ce test accuracy in the issue
    assert one_seed[5:] == ["1 seed: no interval"] * 4


def test_latex_is_a_captioned_table_through_pandas_styler():
    text = to_latex(comparisons(), "comparisons")
    assert text.startswith("\\begin{table}[htbp]") and "\\caption{Paired differences" in text
    assert "\\toprule" in text and "p\\_holm" in text and "\\textbf{0.0123}" in text and "\\textbf{0.0011}" not in text
    plain = to_latex(table(), "settings")
    assert "0.96 $\\pm$ 0.025" in plain and "±" not in plain and "\\textbf" not in plain


def test_an_unknown_format_is_bad_input_before_anything_is_read(tmp_path, capsys):
    assert (
        main(
            [
                "analyze",
                "--experiment",
                "x",
                "--out",
                str(tmp_path / "out"),
                "--format",
                "md,docx",
                "--tracking-uri",
                f"sqlite:///{tmp_path}/none.db",
            ]
        )
        == 2
    )
    assert "--format md,docx: unknown format 'docx'; allowed: md, latex" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "none.db").exists()


def test_one_display_name_per_metric_from_the_registry():
    """Every form a metric takes (a logged key, a final/best column, a Parquet column name, a table
    header) reads the same to a person, and the tables, printed lines and figures use that name."""
    from analysis.figures.plotting import axis_label
    from analysis.tables.compare import format_comparison
    from analysis.tables.summary import SHOWN
    from trainers.metrics import METRICS, display_name

    for form in ("test/uniform_acc", "final/test/uniform_acc", "best/test/uniform_acc", "test_uniform_acc"):
        assert display_name(form) == "test uniform acc"
    assert display_name("train/bias_mean") == "train bias" and display_name("train/nc2_h") == "train nc2 (features)"
    for m in METRICS:  # every registered metric has a name, and the name leads back to it
        assert display_name(f"test/{m.key}") == f"test {m.name}" == display_name(f"test {m.name}")
    assert SHOWN["final/test/uniform_acc"] == "test uniform acc" and SHOWN["final/train/bias_mean"] == "train bias"
    row = comparisons().iloc[0].to_dict() | {"scale": "linear", "test": "paired t", "p_wilcoxon": float("nan")}
    assert "  test uniform acc  " in format_comparison(pd.Series(row), [])
    assert axis_label("train/nc1", log=True) == "train nc1 (log scale)"


def test_an_empty_comparisons_table_is_a_header_not_a_crash():
    """A sweep without its reference losses (no CE or BCE to compare against) has no comparison rows."""
    text = to_markdown(comparisons().iloc[0:0], "comparisons")
    assert "| loss" in text and "reference" in text and "**" not in text
