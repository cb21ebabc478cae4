"""`ncsweep list`: every registered name of every family with its own keys, read from the
registries, and descriptions shortened at a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli.parser import main
from orchestrator.output.listing import BEGIN, END, FAMILIES, REGISTRIES, family_markdown, summary

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("family", sorted(REGISTRIES))
def test_every_registered_name_is_listed_with_its_keys(family, capsys):
    assert main(["list", family]) == 0
    out = capsys.readouterr().out
    for cls in REGISTRIES[family].variants():
        assert f"  {' | '.join(cls.names())}: " in out, cls
        for key in cls.keys():
            if key != "name":
                assert f"{key}=" in out or f" {key}" in out, (cls, key)


def test_every_family_is_listable():
    assert set(FAMILIES) == {*REGISTRIES, "augmentations", "metrics", "evaluations"}


def test_descriptions_are_cut_at_a_word_not_at_an_abbreviation():
    doc = "The CIFAR ResNet-32 (He et al. 2016, option-A shortcuts), 0.46M parameters.\n\nMore detail."
    assert summary(doc) == "The CIFAR ResNet-32 (He et al. 2016, option-A shortcuts), 0.46M parameters."
    long = summary("word " * 100, width=40)
    assert long.endswith(" ...") and len(long) <= 40 and "wor ..." not in long


def test_the_docs_tables_of_every_family_are_the_registries():
    """docs/plugins.md and docs/metrics.md hold `ncsweep list FAMILY --markdown` for every family;
    a name or key added without `make docs` fails here."""
    pages = {page.name: page.read_text() for page in DOCS.glob("*.md")}
    found = set()
    for name, text in pages.items():
        for family in FAMILIES:
            if BEGIN.format(family) in text:
                block = text.split(BEGIN.format(family), 1)[1].split(END, 1)[0].strip()
                assert block == family_markdown(family), f"docs/{name}: the {family} table is stale; run `make docs`"
                found.add(family)
    assert found == set(FAMILIES)


def test_markdown_lists_every_name_and_key(capsys):
    assert main(["list", "optimizers", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| `sgd` |" in out and "`momentum` (`0.9`)" in out and "| `adamw` |" in out and "`betas`" in out


def claims_rows(loss: str, stays: str, between: str) -> list[dict]:
    from analysis.tables.behaviour import BETWEEN, STAYS

    return [
        {"claim": "7a", "statement": STAYS, "loss": loss, "verdict": stays},
        {"claim": "7a", "statement": BETWEEN, "loss": loss, "verdict": between},
        {"claim": "7d", "statement": "test uniform acc above CE's", "loss": loss, "verdict": "holds"},
    ]


def test_a_loss_side_of_the_divide_is_read_off_its_two_7a_verdicts(tmp_path):
    import pandas as pd

    from analysis.outputs.behaviour import behaviour_table

    cases = {
        "ce": ("holds", "does not hold", "like CE: stays at its init"),
        "bce": ("does not hold", "holds", "like BCE: between the scores"),
        "mse": ("does not hold", "does not hold", "neither: moves, not between the scores"),
        "mae": ("inconclusive", "does not hold", "inconclusive"),
        "odd": ("holds", "holds", "both"),
    }
    folder = tmp_path / "digits-claims-20261204-120000"
    folder.mkdir()
    rows = [row for loss, (s, b, _) in cases.items() for row in claims_rows(loss, s, b)]
    pd.DataFrame(rows).to_parquet(folder / "claims.parquet")
    later = tmp_path / "other-20261204-130000"
    later.mkdir()
    pd.DataFrame(claims_rows("ce", "does not hold", "holds")).to_parquet(later / "claims.parquet")
    table = behaviour_table([folder / "claims.parquet", later / "claims.parquet"])
    assert dict(zip(table["loss"], table["behaviour"])) == {loss: want for loss, (_, _, want) in cases.items()}
    assert set(table["sweep"]) == {folder.name}  # ce's row from the first table that has it


def test_the_losses_table_says_each_loss_side_on_claim_7a_from_the_committed_file():
    from orchestrator.output.listing import CLAIMS_7A, bias_behaviour

    seen = bias_behaviour()
    assert CLAIMS_7A.exists() and seen, "docs/claims_7a.csv: python -m analysis.outputs.behaviour (docs/statistics.md)"
    table = family_markdown("losses")
    assert table.splitlines()[0].endswith("| bias on digits (claim 7a) |")
    # UniFace is left out of the claims sweeps on purpose (docs/statistics.md: started above the
    # scores its official clip stops all learning); every other loss has its row
    for loss in REGISTRIES["losses"].names():
        assert (loss in seen) != (loss == "uniface"), f"{loss}: docs/claims_7a.csv"
    assert "| `uniface` |" in table and table.split("| `uniface` |")[1].splitlines()[0].endswith("| not run |")
    assert "like CE: stays at its init (`digits-claims`)" in seen["ce"]
    assert "like BCE: between the scores (`digits-claims`)" in seen["bce"]
