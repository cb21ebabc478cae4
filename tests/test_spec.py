"""Sweep files: expansion, names, and the shipped sweeps' trial counts."""

from pathlib import Path

import pytest
import yaml
from conftest import tiny_sweep

from orchestrator.cli.parser import main
from orchestrator.errors import BadInput
from orchestrator.sweep.spec import load_sweep
from trainers.config import TrialConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "path, count",
    [
        ("sweeps/digits/bias_init.yaml", 36),
        ("sweeps/digits/bias_decay.yaml", 24),
        ("sweeps/digits/batch_size.yaml", 28),
        ("sweeps/digits/claims.yaml", 600),
        ("sweeps/digits/claims_heads.yaml", 135),
        ("sweeps/quickstart.yaml", 6),
    ],
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
    # Each optimizer's own keys vary too: present in its trials, absent (None) in the others'.
    assert set(sweep.varied()) == {
        "loss.name",
        "classifier.bias_init_mean",
        "optim.name",
        "optim.lr",
        "optim.momentum",
        "optim.betas",
        "seed",
    }


def test_no_grid_is_one_trial_per_seed(tmp_path):
    path = tiny_sweep(tmp_path / "s.yaml", seeds=[3, 4])
    spec = path.read_text().replace("grid:\n  loss.name:\n  - ce\n  - bce\n", "")
    path.write_text(spec)
    assert [t.config.seed for t in load_sweep(path).trials] == [3, 4]


def test_a_key_in_both_grid_and_cases_is_rejected(tmp_path):
    path = tiny_sweep(tmp_path / "s.yaml", cases=[{"loss.name": "ce"}])
    with pytest.raises(BadInput, match=r"cases\[0\]\.loss\.name: set by both grid and cases"):
        load_sweep(path)


# The keys no quickstart trial uses: another optimizer's, the cosine schedule's, a warmup, DA1's and DA2's.
NOT_THE_QUICKSTARTS = (
    "optim.betas",
    "optim.base_batch_size",
    "schedule.warmup_epochs",
    "schedule.min_lr",
    "train.crop_padding",
    "train.rotate",
)


def test_the_quickstart_trials_record_only_the_keys_that_apply_to_them():
    sweep = load_sweep(Path(__file__).resolve().parents[1] / "sweeps" / "quickstart.yaml")
    for trial in sweep.trials:
        flat = trial.config.flat()
        assert not set(flat) & set(NOT_THE_QUICKSTARTS) and not any(k.startswith("mixup.") for k in flat), trial.name
        assert {"optim.momentum", "schedule.milestones", "schedule.gamma"} <= set(flat)


def test_a_variant_records_its_own_keys_and_refuses_anothers(tmp_path, capsys):
    base = yaml.safe_load(tiny_sweep(tmp_path / "tiny.yaml").read_text())["base"]
    cosine = tiny_sweep(tmp_path / "cosine.yaml", base={**base, "schedule": {"name": "cosine", "milestones": [2]}})
    assert main(["validate", str(cosine), "--no-data-check"]) == 2
    assert (
        "schedule.milestones: unknown key for schedule 'cosine'; allowed keys: min_lr, name, warmup_epochs"
        in capsys.readouterr().err
    )
    crop = tiny_sweep(tmp_path / "crop.yaml", base={**base, "train": {"epochs": 2, "crop_padding": 2}})
    assert main(["validate", str(crop), "--no-data-check"]) == 2
    assert "train.crop_padding: a key of train.augment 'da1', 'da1+da2', not of 'none'" in capsys.readouterr().err
    adamw = TrialConfig.model_validate(
        {"optim": {"name": "adamw"}, "schedule": {"name": "cosine", "warmup_epochs": 2}}
    ).flat()
    assert "optim.betas" in adamw and "optim.momentum" not in adamw and adamw["schedule.warmup_epochs"] == 2
    da2 = TrialConfig.model_validate(
        {"data": {"name": "cifar10"}, "model": {"name": "resnet18"}, "train": {"augment": "da1+da2"}}
    ).flat()
    assert da2["train.crop_padding"] == 4 and da2["mixup.prob"] == 0.8
