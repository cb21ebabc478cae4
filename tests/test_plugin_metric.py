"""A metric written by following docs/extending.md ("Add your own metric") is one new file and nothing
else: copy the project, add exactly the page's file to trainers/metrics/, run a sweep with
per-layer metrics through the console entry point, real Ray and MLflow, and read its key (per split
and per layer) back from MLflow. Also: docs/metrics.md's metric table is the registry's."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clusterkit import Runs, clean_env, run_command, run_to_end
from conftest import tiny_sweep
from test_plugin_loss import PACKAGES, changed_files

from orchestrator.output.listing import metrics_markdown

ROOT = Path(__file__).resolve().parents[1]


def readme_metric() -> tuple[str, str, str]:
    """(file name, code, key) of the example in docs/extending.md's "Add your own metric" section."""
    section = (
        ROOT.joinpath("docs/extending.md").read_text().split("## Add your own metric\n", 1)[1].split("\n## ", 1)[0]
    )
    name = re.search(r"`trainers/metrics/(\w+\.py)`", section).group(1)
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    key = re.search(r'@metric\("(\w+)"', code).group(1)
    return name, code, key


def test_readme_metric_table_is_the_registry():
    section = ROOT.joinpath("docs/metrics.md").read_text()
    assert metrics_markdown() in section, (
        "docs/metrics.md's metric table differs from `ncsweep list metrics --markdown`"
    )


@pytest.mark.integration
def test_readme_metric_is_one_new_file_and_lands_in_mlflow(tmp_path):
    copy = tmp_path / "project"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    name, code, key = readme_metric()
    (copy / "trainers" / "metrics" / name).write_text(code)
    assert changed_files(ROOT, copy) == [f"trainers/metrics/{name}"]
    env = clean_env(PYTHONPATH=str(copy))  # the copy, not the installed project: Ray's workers inherit it

    listed = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "list", "metrics"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"  {key} [{name.removesuffix('.py')}, per layer]: tr(Sigma_W) / tr(Sigma_B)" in listed.stdout, (
        listed.stdout + listed.stderr
    )

    sweep = tiny_sweep(tmp_path / "plugin.yaml", "plugin-metric", grid={"loss.name": ["ce"]})
    text = sweep.read_text().replace("  train:", "  metrics: {layers: stages}\n  train:")
    sweep.write_text(text)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = run_command(sweep, uri, tmp_path / "results")
    code, output = run_to_end(args, copy, env, tmp_path / "run.log")
    assert code == 0, output
    (run,) = Runs(uri, "test-plugin-metric").children()
    metrics = run.data.metrics
    for logged in (
        f"train/{key}",
        f"test/{key}",
        f"train/layers/hidden1/{key}",
        "train/layers/hidden1/nc1",
        "layers/hidden1/depth",
    ):
        assert logged in metrics, (logged, sorted(metrics))
    assert metrics[f"train/{key}"] > 0 and math.isfinite(metrics[f"train/{key}"])
    assert metrics[f"train/layers/hidden1/{key}"] == pytest.approx(
        metrics[f"train/{key}"]
    )  # a depth-1 MLP: its one layer is the features
    assert "fig_layers.png" in output  # written, and where it is printed
