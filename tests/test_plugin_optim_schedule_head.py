"""An optimizer, a schedule and a classifier head written by following docs/extending.md are one new
file each and nothing else: copy the project, add exactly the page's three files, and the CLI lists
them, validates their keys, and trains a trial that uses all three (in this process: no Ray, no
MLflow). Also: such a trial's config holds the keys of the variants it uses, and only those."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clusterkit import clean_env, cli
from test_plugin_loss import PACKAGES, ROOT, changed_files

SECTIONS = {"optimizer": "trainers/optim", "schedule": "trainers/schedules", "classifier head": "trainers/heads"}


def example(section: str) -> tuple[str, str]:
    """(path, code) of the example in docs/extending.md's "Add your own <section>"."""
    text = (
        ROOT.joinpath("docs/extending.md").read_text().split(f"## Add your own {section}\n", 1)[1].split("\n## ", 1)[0]
    )
    path = re.search(r"`(trainers/\w+/\w+\.py)`", text).group(1)
    return path, re.search(r"```python\n(.*?)```", text, re.S).group(1)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("project")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    for section, folder in SECTIONS.items():
        path, code = example(section)
        assert path.startswith(folder + "/"), (section, path)
        (copy / path).write_text(code)
    return copy


def names() -> dict[str, str]:
    return {section: Path(example(section)[0]).stem for section in SECTIONS}


def ncsweep(project: Path, *args: str) -> subprocess.CompletedProcess:
    return cli(project, clean_env(PYTHONPATH=str(project)), timeout=300)(*args)


def test_each_example_is_one_new_file(project):
    assert sorted(changed_files(ROOT, project)) == sorted(example(section)[0] for section in SECTIONS)


def test_the_examples_are_listed_with_their_keys(project):
    listed = ncsweep(project, "list", "optimizers", "schedules", "classifiers")
    assert listed.returncode == 0, listed.stderr
    assert "  nesterov: " in listed.stdout and "momentum=0.9" in listed.stdout
    assert "  exponential: " in listed.stdout and "gamma=0.95" in listed.stdout
    assert "  tempered: " in listed.stdout and "temperature=2.0" in listed.stdout


def test_a_key_of_another_variant_is_bad_input_naming_the_allowed_keys(project):
    bad = ncsweep(
        project,
        "train",
        "--set",
        "data.name=synthetic",
        "--set",
        "schedule.name=exponential",
        "--set",
        "schedule.milestones=[2]",
    )
    assert bad.returncode == 2, bad.stderr
    assert (
        "schedule.milestones: unknown key for schedule 'exponential'; allowed keys: gamma, name, warmup_epochs"
        in bad.stderr
    )


def test_a_trial_trains_with_all_three_and_records_only_their_keys(project):
    sets = [
        "data.name=synthetic",
        "train.epochs=3",
        "optim.name=nesterov",
        "optim.lr=0.05",
        "schedule.name=exponential",
        "schedule.gamma=0.5",
        "classifier.name=tempered",
    ]
    args = [a for s in sets for a in ("--set", s)]
    good = ncsweep(project, "train", *args)
    assert good.returncode == 0 and good.stdout.strip().endswith("finished"), good.stdout + good.stderr
    code = (
        "import json; from trainers.config import TrialConfig\n"
        "tree = {}\n"
        f"for s in {sets!r}:\n"
        "    key, _, value = s.partition('='); node = tree\n"
        "    *parents, leaf = key.split('.')\n"
        "    for p in parents: node = node.setdefault(p, {})\n"
        "    node[leaf] = json.loads(value) if value[0].isdigit() else value\n"
        "c = TrialConfig.model_validate(tree)\n"
        "print(json.dumps({'flat': c.flat(), 'factors': [c.schedule.factor(e, 3) for e in range(3)]}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=clean_env(PYTHONPATH=str(project)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    keys = {k for k in got["flat"] if k.split(".")[0] in ("optim", "schedule", "classifier")}
    assert {"optim.momentum", "schedule.gamma", "classifier.temperature"} <= keys
    assert not keys & {
        "optim.betas",
        "optim.base_batch_size",
        "schedule.milestones",
        "schedule.min_lr",
        "schedule.warmup_epochs",
    }
    assert got["factors"] == pytest.approx([1.0, 0.5, 0.25])
