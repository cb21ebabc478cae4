"""Summary tables as Markdown and LaTeX (`analyze --format md,latex`): mean ± the half-width of the
95% interval per metric, the best cell of each metric column in bold, through pandas' writers."""

from __future__ import annotations

import pandas as pd

from analysis.outputs.formats import direction, to_latex, to_markdown
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


def test_markdown_cells_are_mean_and_interval_and_the_best_is_bold():
    text = to_markdown(table())
    lines = text.splitlines()
    assert [cell.strip() for cell in lines[0].split("|")[1:-1]] == ["loss", "n", "test_acc", "train_nc1", "train_bias"]
    bce = next(line for line in lines if "| bce" in line)
    assert "**0.96 ± 0.025**" in bce and "**0.11 ± 0.025**" in bce  # the highest accuracy, the lowest nc1
    assert "**" not in next(line for line in lines if "| ce " in line)
    assert "0.2 (1 seed)" in next(line for line in lines if "| mae" in line)  # one seed: no interval, said so
    assert "0.4 ± 0.25" in bce and "**0.4" not in bce  # a bias has no best


def test_latex_escapes_and_bolds_with_pandas_styler():
    text = to_latex(table())
    assert text.startswith("\\begin{tabular}") and "\\toprule" in text and "test\\_acc" in text
    assert "\\textbf{0.96 $\\pm$ 0.025}" in text and "±" not in text


def test_which_way_is_best():
    assert [
        direction(n)
        for n in ("test_acc", "test_uniform_acc", "test_nc4", "train_nc1", "train_cdnv", "loss", "train_bias")
    ] == [1, 1, 1, -1, -1, -1, 0]


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
