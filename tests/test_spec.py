"""Sweep files: expansion, names, and the shipped sweeps' trial counts."""

from pathlib import Path

import pytest
from conftest import tiny_sweep

from orchestrator.cli.parser import main
from orchestrator.errors import BadInput
from orchestrator.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "path, count",
    [("sweeps/digits/bias_init.yaml", 36), ("sweeps/digits/bias_decay.yaml", 24), ("sweeps/digits/batch_size.yaml", 28), ("sweeps/digits/claims.yaml", 275), ("sweeps/quickstart.yaml", 6)],
)
def test_shipped_sweeps_validate_with_their_trial_counts(path, count, capsys):
    assert main(["validate", str(ROOT / path)]) == 0
    assert f"{count} trials" in capsys.readouterr().out
    assert len(load_sweep(ROOT / path).trials) == count


def test_grid_times_cases_times_seeds(tmp_path):
    path = tiny_sweep(
        tmp_path / "s.yaml",
        grid={"loss.name": ["ce", "bce"], "classifier.bias_init_mean": [0, 5]},
        cases=[{"optim.name": "sgd"}, {"optim.name": "adamw", "optim.lr": 0.001}],
        seeds=[0, 1],
    )
    sweep = load_sweep(path)
    assert len(sweep.trials) == 16
    names = [t.name for t in sweep.trials]
    assert len(set(names)) == 16 and names[0] == "ce-init0-sgd-s0" and "bce-init5-adamw-s1" in names
    adamw = [t.config for t in sweep.trials if t.config.optim.name == "adamw"]
    assert all(c.optim.lr == 0.001 for c in adamw)
    assert all(c.data.name == "synthetic" for c in adamw)  # base survives
    assert set(sweep.varied()) == {"loss.name", "classifier.bias_init_mean", "optim.name", "optim.lr", "seed"}


def test_no_grid_is_one_trial_per_seed(tmp_path):
    path = tiny_sweep(tmp_path / "s.yaml", seeds=[3, 4])
    spec = path.read_text().replace("grid:\n  loss.name:\n  - ce\n  - bce\n", "")
    path.write_text(spec)
    assert [t.config.seed for t in load_sweep(path).trials] == [3, 4]


def test_a_key_in_both_grid_and_cases_is_rejected(tmp_path):
    path = tiny_sweep(tmp_path / "s.yaml", cases=[{"loss.name": "ce"}])
    with pytest.raises(BadInput, match=r"cases\[0\]\.loss\.name: set by both grid and cases"):
        load_sweep(path)
