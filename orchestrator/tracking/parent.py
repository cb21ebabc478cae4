"""A sweep's parent run in MLflow: its experiment (created with the model-training kind and its artifacts
beside an sqlite store), the run with the sweep's file, hash and commit, and, when the sweep ends,
its summary: counts, wall time, cost, the best trial and the tables."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient

from analysis.store.layout import (
    BEST_TRIAL_TAG,
    COMMIT_TAG,
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    FIGURES_DIR,
    SHA_TAG,
    SUMMARY_PREFIX,
    SWEEP_TAG,
    TABLES_DIR,
    shared_view,
)
from orchestrator.cluster.cost import bill
from orchestrator.sweep.spec import Sweep
from orchestrator.tracking.store import with_backoff


def git_commit(where: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def artifact_location(tracking_uri: str, name: str) -> str | None:
    """Where a new experiment of an sqlite store keeps its artifacts: beside the database file
    (<folder>/mlruns/<name>), not MLflow's default ./mlruns of whatever folder the run started in, so
    a store moves and is read as one piece. None (MLflow's default) for other stores."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///").split("?")[0])
    return (database.resolve().parent / "mlruns" / re.sub(r"[^A-Za-z0-9._-]", "_", name)).as_uri()


def ensure_experiment(client: MlflowClient, name: str) -> str:
    """The experiment's id, created if missing (its artifacts beside an sqlite database); an
    experiment without MLflow's kind tag gets model development (one that has a kind keeps it:
    the user chose it)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        where = artifact_location(client.tracking_uri, name)
        return client.create_experiment(name, artifact_location=where, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    return experiment.experiment_id


def start_parent_run(client: MlflowClient, sweep: Sweep, run_name: str) -> str:
    """The sweep's parent run: tags that identify the file and the code, the YAML as an artifact."""
    experiment_id = ensure_experiment(client, sweep.spec.experiment)
    tags = {
        SWEEP_TAG: sweep.spec.name,
        SHA_TAG: sweep.sha256,
        COMMIT_TAG: git_commit(Path(__file__).parent),
        "ncsweep.trials": str(sweep.total),
        "mlflow.note.content": sweep.spec.description,
    }
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    client.log_artifact(run.info.run_id, str(sweep.path))
    client.set_experiment_tag(experiment_id, *shared_view(run.info.run_id))  # what the printed link opens
    return run.info.run_id


def publish_summary(
    client: MlflowClient,
    parent_run_id: str,
    counts: dict[str, int],
    wall_s: float,
    trials,
    files: list[Path],
    gpu: float = 0.0,
) -> None:
    """A sweep at a glance in the MLflow UI: its parent run gets the counts by status, the wall time,
    what it cost (sweep/trial_hours, sweep/gpu_hours: orchestrator/cost.py) and the best trial
    (highest final test accuracy among the finished) as metrics and tags, and the Parquet tables
    and figures as artifacts (tables/, figures/)."""
    metrics = {f"{SUMMARY_PREFIX}trials_{status}": float(n) for status, n in counts.items()}
    metrics[f"{SUMMARY_PREFIX}wall_s"] = float(wall_s)
    metrics.update(
        {f"{SUMMARY_PREFIX}{key}": value for key, value in bill(trials, gpu).items()}
    )  # trial_hours, gpu_hours
    tags = []
    done = trials[trials["status"] == "finished"] if "status" in trials else trials.iloc[0:0]
    if "final/test/acc" in done and done["final/test/acc"].notna().any():
        best = done.loc[done["final/test/acc"].idxmax()]
        metrics[f"{SUMMARY_PREFIX}best_test_acc"] = float(best["final/test/acc"])
        tags.append(RunTag(BEST_TRIAL_TAG, str(best["run_name"])))
    now = int(time.time() * 1000)
    batch = [Metric(k, v, now, 0) for k, v in metrics.items()]
    with_backoff(lambda: client.log_batch(parent_run_id, metrics=batch, tags=tags), "logging the sweep summary")
    for path in files:
        folder = FIGURES_DIR if path.suffix == ".png" else TABLES_DIR
        with_backoff(lambda: client.log_artifact(parent_run_id, str(path), folder), f"logging {path.name}")
