"""A model or a dataset written by following docs/extending.md ("Add your own model", "Add your own
dataset") is one new file and nothing else: copy the project, add exactly the page's file, and
the console entry point lists it, validates a sweep that uses it and trains a trial with it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from clusterkit import clean_env, cli
from test_plugin_loss import PACKAGES, changed_files

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {
    # section, package folder, `ncsweep list` family, the trial that uses it (as --set pairs)
    "model": (
        "## Add your own model",
        "trainers/models",
        "models",
        {"data.name": "digits", "model.bottleneck": "9", "train.epochs": "15"},
    ),
    "dataset": (
        "## Add your own dataset",
        "trainers/data",
        "datasets",
        {"model.name": "mlp", "model.width": "32", "train.epochs": "40"},
    ),
}


def readme_example(section: str, folder: str) -> tuple[str, str]:
    """(file name, code) of the example in a section of docs/extending.md."""
    text = ROOT.joinpath("docs/extending.md").read_text().split(section + "\n", 1)[1].split("\n#", 1)[0]
    name = re.search(rf"`{folder}/(\w+\.py)`", text).group(1)
    return name, re.search(r"```python\n(.*?)```", text, re.S).group(1)


@pytest.mark.parametrize("family", FAMILIES)
def test_readme_plugin_is_one_new_file_listed_validated_and_trained(family, tmp_path):
    section, folder, listing, settings = FAMILIES[family]
    name, code = readme_example(section, folder)
    copy = tmp_path / "project"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / folder / name).write_text(code)
    assert changed_files(ROOT, copy) == [f"{folder}/{name}"]
    plugin = re.search(r'name: Literal\["(\w+)"\]', code).group(1)
    key = "model.name" if family == "model" else "data.name"
    env = clean_env(PYTHONPATH=str(copy))  # the copy, not the installed project

    ncsweep = cli(tmp_path, env, timeout=300)

    listed = ncsweep("list", listing)
    assert listed.returncode == 0 and f"  {plugin}: " in listed.stdout, listed.stdout + listed.stderr
    sweep = tmp_path / "plugin.yaml"
    sweep.write_text(
        yaml.safe_dump(
            {
                "name": "plugin",
                "base": {"data": {"name": "digits"}, "model": {"name": "mlp"}},
                "grid": {key: ["digits" if family == "dataset" else "mlp", plugin]},
            }
        )
    )
    checked = ncsweep("validate", str(sweep))
    assert checked.returncode == 0 and checked.stdout.startswith(f"{sweep}: 2 trials"), checked.stdout + checked.stderr
    sets = [arg for k, v in {key: plugin, **settings}.items() for arg in ("--set", f"{k}={v}")]
    trained = ncsweep("train", *sets)
    assert trained.returncode == 0 and trained.stdout.strip().endswith("finished"), trained.stdout + trained.stderr
    acc = float(re.search(r"^  acc\s+\S+\s+(\S+)$", trained.stdout, re.M).group(1))  # the final table: train, test
    assert acc >= 0.8, trained.stdout  # digits through a 9-unit bottleneck; iris with an MLP
    typed = "model.bottleneck" if family == "model" else "data.test_fraction"
    bad = ncsweep("train", *sets, "--set", f"{typed}=0")
    assert bad.returncode == 2 and bad.stderr.startswith(f"error: --set: {typed}: Input should be greater than"), (
        bad.stderr
    )
