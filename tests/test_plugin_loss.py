"""A loss written by following docs/extending.md ("Add your own loss") is one new file and nothing else:
copy the project, add exactly the page's file to trainers/losses/, and run a sweep that uses it
through the console entry point, real Ray and MLflow. Also the in-process view: `ncsweep list`
and validation know the new name, its key is typed, and the loss trains."""

from __future__ import annotations

import filecmp
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from clusterkit import Runs, clean_env, cli, run_command, run_to_end
from conftest import tiny_sweep

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trainers", "orchestrator", "analysis")


def readme_loss() -> tuple[str, str]:
    """(file name, code) of the example in docs/extending.md's "Add your own loss" section."""
    section = ROOT.joinpath("docs/extending.md").read_text().split("## Add your own loss\n", 1)[1].split("\n## ", 1)[0]
    name = re.search(r"`trainers/losses/(\w+\.py)`", section).group(1)
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return name, code


@pytest.fixture
def project_with_new_loss(tmp_path) -> Path:
    copy = tmp_path / "project"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    name, code = readme_loss()
    (copy / "trainers" / "losses" / name).write_text(code)
    return copy


def changed_files(original: Path, copy: Path) -> list[str]:
    """Files that differ or exist on one side only, recursively (caches ignored)."""
    out: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        out.extend(f"{prefix}{n}" for n in [*cmp.diff_files, *cmp.left_only, *cmp.right_only] if n != "__pycache__")
        for sub, child in cmp.subdirs.items():
            if sub != "__pycache__":
                walk(child, f"{prefix}{sub}/")

    for package in PACKAGES:
        walk(filecmp.dircmp(original / package, copy / package), f"{package}/")
    return out


def test_readme_loss_is_one_new_file_and_trains_in_a_sweep(project_with_new_loss, tmp_path):
    copy = project_with_new_loss
    name, _ = readme_loss()
    assert changed_files(ROOT, copy) == [f"trainers/losses/{name}"]
    loss_name = name.removesuffix(".py")
    sweep = tiny_sweep(tmp_path / "plugin.yaml", "plugin", grid={"loss.name": ["ce", loss_name]})
    env = clean_env(PYTHONPATH=str(copy))  # the copy, not the installed project: Ray's workers inherit it
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = run_command(sweep, uri, tmp_path / "results")
    code, output = run_to_end(args, copy, env, tmp_path / "run.log")
    assert code == 0, output
    runs = Runs(uri, "test-plugin")
    children = {r.data.params["loss.name"]: r for r in runs.children()}
    assert set(children) == {"ce", loss_name}, output
    plugin = children[loss_name]
    assert plugin.data.tags["ncsweep.status"] == "finished"
    assert plugin.data.params["loss.margin"] == "1.0" and "loss.margin" not in children["ce"].data.params
    assert len(runs.epochs(plugin)) == 3 and plugin.data.metrics["train/loss"] >= 0.0
    assert plugin.data.metrics["train/bias_residual"] >= 0.0  # the bias gradient by autograd
    # Two losses compared: the run writes the loss table next to trials.parquet and prints it.
    losses = pq.read_table(next((tmp_path / "results").glob("plugin-*/losses.parquet"))).to_pandas()
    assert list(losses["loss"]) == ["ce", loss_name] and list(losses["n"]) == [1, 1]


def test_readme_loss_is_listed_validated_and_typed(project_with_new_loss, tmp_path):
    copy = project_with_new_loss
    loss_name = readme_loss()[0].removesuffix(".py")
    env = clean_env(PYTHONPATH=str(copy))

    ncsweep = cli(tmp_path, env, timeout=120)

    listed = ncsweep("list", "losses")
    assert listed.returncode == 0 and f"  {loss_name}: " in listed.stdout and "margin=1.0" in listed.stdout
    bad = ncsweep("train", "--set", f"loss.name={loss_name}", "--set", "loss.margin=-1", "--set", "data.name=synthetic")
    assert bad.returncode == 2 and "--set: loss.margin: Input should be greater than 0" in bad.stderr
    good = ncsweep(
        "train",
        "--set",
        f"loss.name={loss_name}",
        "--set",
        "loss.margin=2",
        "--set",
        "data.name=synthetic",
        "--set",
        "train.epochs=3",
    )
    assert good.returncode == 0 and good.stdout.strip().endswith("finished"), good.stdout + good.stderr
