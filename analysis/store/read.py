"""MLflow runs -> two pandas tables -> Parquet with explicit pyarrow schemas.

trials.parquet: one row per trial (child run): ids, status, every config parameter as a typed
column (dotted names, e.g. `loss.name`), wall time, `final/<split>/<metric>` at the last epoch and
`best/<split>/<metric>` at the best-test-accuracy epoch (the paper's model selection).
epochs.parquet: one row per trial x epoch with every logged metric.

The metric columns follow the metric registry (trainers/metrics, read without torch): every
registered key of each split present, float64, in the registry's order, even where no run logged
it (an older store), so the schema of a sweep's tables does not depend on which runs it holds.
"""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from analysis.store.history import ArtifactGone, read_history, store_histories
from analysis.store.layout import (
    CONFIG_TAG,
    DISTRIBUTIONS_ARTIFACT,
    HISTORY_ARTIFACT,
    PARENT_TAG,
    STATUS_TAG,
    SWEEP_TAG,
    TRIAL_TAG,
    best_epoch,
)

READERS = 8  # history artifacts downloaded at once


class NoRuns(LookupError):
    """Nothing to export: no such experiment, or no trial runs under it / the parent."""


def child_runs(client: MlflowClient, experiment: str, parent_run_id: str | None = None) -> list:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise NoRuns(f"no MLflow experiment named {experiment!r} at {client.tracking_uri}")
    query = f"tags.`{PARENT_TAG}` = '{parent_run_id}'" if parent_run_id else f"tags.`{TRIAL_TAG}` LIKE '%'"
    runs, token = [], None
    while True:
        page = client.search_runs(
            [found.experiment_id], query, max_results=1000, page_token=token, order_by=["attributes.start_time ASC"]
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    if not runs:
        raise NoRuns(
            f"no trial runs in experiment {experiment!r}"
            + (f" under parent run {parent_run_id}" if parent_run_id else "")
        )
    return runs


def _plain(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config JSON -> dotted columns, lists as JSON text. (Like trainers.config.flatten, but
    analysis reads MLflow alone and must not import the trainer.)"""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = _plain(value)
    return out


def tables(
    client: MlflowClient,
    experiment: str,
    parent_run_id: str | None = None,
    use_artifacts: bool = True,
    notes: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """trials and epochs tables. Each run's history comes from its history artifact (one download)
    when it has one, else from the tracking store, read in bulk (`use_artifacts=False` reads every
    run from the store). Runs whose artifact is gone are said in `notes`."""

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per run otherwise
    trial_rows, epoch_rows = [], []
    runs = child_runs(client, experiment, parent_run_id)
    gone: list[str] = []

    def artifact(run) -> dict | None:
        try:
            return read_history(client, run, Path(scratch)) if use_artifacts else None
        except ArtifactGone:
            gone.append(run.info.run_id)
            return None

    with tempfile.TemporaryDirectory() as scratch:
        # Downloads in parallel: against a tracking server each is a round trip.
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            found = list(pool.map(artifact, runs))
    from_store = store_histories(client, [run for run, history in zip(runs, found) if history is None])
    if gone and notes is not None:
        notes.append(
            f"{len(gone)} of {len(runs)} runs have no {HISTORY_ARTIFACT} where their tag says (a store copied "
            "without its artifacts, or a pruned "
            "artifact store): their metrics were read from the tracking store, the same values"
        )
    for run, history in zip(runs, found):
        info, tags = run.info, run.data.tags
        history = history if history is not None else from_store[info.run_id]
        epochs = sorted(history)
        best = best_epoch(history)
        end = info.end_time or info.start_time
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "sweep": tags.get(SWEEP_TAG),
            "parent_run_id": tags.get(PARENT_TAG),
            "status": tags.get(STATUS_TAG),
            "wall_time_s": (end - info.start_time) / 1000.0,
            "epochs": epochs[-1] if epochs else 0,
            "best_epoch": best,
        }
        row.update(_flatten(json.loads(tags.get(CONFIG_TAG, "{}"))))
        for key in sorted({k for values in history.values() for k in values}):
            last = max((e for e in epochs if key in history[e]), default=None)
            row[f"final/{key}"] = history[last][key] if last is not None else None
            row[f"best/{key}"] = history[best].get(key) if best is not None else None
        trial_rows.append(row)
        for epoch in epochs:
            epoch_rows.append({"run_id": info.run_id, "run_name": info.run_name, "epoch": epoch, **history[epoch]})
    return pd.DataFrame(trial_rows), pd.DataFrame(epoch_rows)


def load_distributions(client: MlflowClient, run_ids, scratch: Path) -> dict[str, dict]:
    """run_id -> the trial's final distributions artifact (bias vector, score samples); runs
    without one (errored before their last epoch) are left out."""
    out: dict[str, dict] = {}
    for run_id in run_ids:
        if not any(f.path == DISTRIBUTIONS_ARTIFACT for f in client.list_artifacts(run_id)):
            continue
        local = client.download_artifacts(run_id, DISTRIBUTIONS_ARTIFACT, str(scratch))
        out[run_id] = json.loads(Path(local).read_text())
    return out
