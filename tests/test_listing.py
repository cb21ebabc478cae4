"""`ncsweep list`: every registered name of every family with its own keys, read from the
registries, and descriptions shortened at a word."""

from __future__ import annotations

import pytest

from orchestrator.cli.parser import main
from orchestrator.output.listing import FAMILIES, summary
from trainers.data import DATASETS
from trainers.heads import CLASSIFIERS
from trainers.losses import LOSSES
from trainers.models import MODELS

REGISTRIES = {"losses": LOSSES, "classifiers": CLASSIFIERS, "models": MODELS, "datasets": DATASETS}


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
    assert set(FAMILIES) == {*REGISTRIES, "metrics"}


def test_descriptions_are_cut_at_a_word_not_at_an_abbreviation():
    doc = "The CIFAR ResNet-32 (He et al. 2016, option-A shortcuts), 0.46M parameters.\n\nMore detail."
    assert summary(doc) == "The CIFAR ResNet-32 (He et al. 2016, option-A shortcuts), 0.46M parameters."
    long = summary("word " * 100, width=40)
    assert long.endswith(" ...") and len(long) <= 40 and "wor ..." not in long
