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
    assert set(FAMILIES) == {*REGISTRIES, "augmentations", "metrics"}


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
