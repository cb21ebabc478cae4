"""MLflow logging from the driver (DESIGN.md "MLflow model"): a parent run per sweep execution,
one nested child run per trial, per-epoch metrics with step = epoch, a status tag.

Trials report to Ray Tune; this Tune callback runs in the driver and is the only MLflow writer, so
workers need no MLflow access. We write our own callback rather than Ray's MLflowLoggerCallback
because that one has no parent run, names runs after Tune's ids, logs Tune's bookkeeping as
metrics and knows nothing of a "diverged" status.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Callable

from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient
from ray.tune import Callback

from analysis.runs import (
    BEST_EPOCH_TAG, BEST_PREFIX, COMMIT_TAG, CONFIG_TAG, DISTRIBUTIONS_ARTIFACT, METRIC_PREFIXES, PARENT_TAG,
    SHA_TAG, STATUS_TAG, SWEEP_TAG, TRIAL_TAG,
)  # fmt: skip
from analysis.export import best_epoch
from orchestrator.spec import Sweep
from trainers.loop import DISTRIBUTIONS

MAX_PARAMS_PER_CALL = 100  # MLflow's log_batch limit


def resolve_tracking_uri(cli: str | None, spec: str | None) -> str:
    """--tracking-uri > spec tracking_uri > MLFLOW_TRACKING_URI > MLflow's default (./mlflow.db).

    A relative sqlite path is made absolute so the printed `mlflow ui` command works anywhere.
    """
    uri = cli or spec or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + str(Path(uri.removeprefix("sqlite:///")).resolve())
    return uri


def git_commit(where: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def ensure_experiment(client: MlflowClient, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    return experiment.experiment_id if experiment else client.create_experiment(name)


def start_parent_run(client: MlflowClient, sweep: Sweep, run_name: str) -> str:
    """The sweep's parent run: tags that identify the file and the code, the YAML as an artifact."""
    experiment_id = ensure_experiment(client, sweep.spec.experiment)
    tags = {
        SWEEP_TAG: sweep.spec.name,
        SHA_TAG: sweep.sha256,
        COMMIT_TAG: git_commit(Path(__file__).parent),
        "ncsweep.trials": str(len(sweep.trials)),
        "mlflow.note.content": sweep.spec.description,
    }
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    client.log_artifact(run.info.run_id, str(sweep.path))
    return run.info.run_id


class MlflowTracker(Callback):
    """Tune callback: one child run per trial under `parent_run_id`, one metric batch per report."""

    def __init__(self, client: MlflowClient, parent_run_id: str, sweep: Sweep, on_done: Callable[[str, str, dict], None] | None = None):
        self.client = client
        self.parent_run_id = parent_run_id
        self.experiment_id = client.get_run(parent_run_id).info.experiment_id
        self.sweep_name = sweep.spec.name
        self.trials = {t.name: t for t in sweep.trials}
        self.run_ids: dict[str, str] = {}
        self.statuses: dict[str, str] = {}
        self.histories: dict[str, dict[int, dict[str, float]]] = {}  # name -> epoch -> split metrics
        self.on_done = on_done

    @staticmethod
    def trial_name(trial) -> str:
        return trial.config["trial"]["name"]

    def on_trial_start(self, iteration, trials, trial, **info):
        name = self.trial_name(trial)
        if name in self.run_ids:  # a restarted trial continues its own child run
            return
        spec = self.trials[name]
        tags = {
            PARENT_TAG: self.parent_run_id, TRIAL_TAG: name, SWEEP_TAG: self.sweep_name, STATUS_TAG: "running",
            CONFIG_TAG: json.dumps(spec.config.model_dump(mode="json"), sort_keys=True),
        }  # fmt: skip
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        self.run_ids[name] = run.info.run_id
        params = [Param(k, json.dumps(v) if isinstance(v, list) else str(v)) for k, v in spec.config.flat().items()]
        for i in range(0, len(params), MAX_PARAMS_PER_CALL):
            self.client.log_batch(run.info.run_id, params=params[i : i + MAX_PARAMS_PER_CALL])

    def on_trial_result(self, iteration, trials, trial, result, **info):
        name = self.trial_name(trial)
        run_id = self.run_ids[name]
        step, now = int(result["epoch"]), int(time.time() * 1000)
        values = {k: float(v) for k, v in result.items() if k.startswith(METRIC_PREFIXES) and isinstance(v, (int, float))}
        self.client.log_batch(run_id, metrics=[Metric(key, value, now, step) for key, value in values.items()])
        if isinstance(result.get(DISTRIBUTIONS), str):
            self.client.log_text(run_id, result[DISTRIBUTIONS], DISTRIBUTIONS_ARTIFACT)
        split_values = {k: v for k, v in values.items() if k.startswith(("train/", "test/"))}
        self.histories.setdefault(name, {}).setdefault(step, {}).update(split_values)

    def _log_best(self, name: str, run_id: str) -> None:
        """best/<split>/<metric> at the epoch the paper reports (best test accuracy; the same rule
        the Parquet export applies to the full histories)."""
        history = self.histories.get(name, {})
        epoch = best_epoch(history)
        if epoch is None:
            return
        now = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(BEST_PREFIX + key, value, now, epoch) for key, value in history[epoch].items()],
            tags=[RunTag(BEST_EPOCH_TAG, str(epoch))],
        )

    def on_trial_complete(self, iteration, trials, trial, **info):
        diverged = bool((trial.last_result or {}).get("diverged"))
        self._finish(trial, "diverged" if diverged else "finished", RunStatus.FINISHED)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._finish(trial, "error", RunStatus.FAILED)

    def _finish(self, trial, status: str, run_status: int) -> None:
        name = self.trial_name(trial)
        run_id = self.run_ids.get(name)
        self.statuses[name] = status
        if run_id is not None:
            self._log_best(name, run_id)
            self.client.set_tag(run_id, STATUS_TAG, status)
            self.client.set_terminated(run_id, RunStatus.to_string(run_status))
        if self.on_done:
            details = dict(trial.last_result or {})
            if status == "error":
                details["error_file"] = getattr(trial, "error_file", None)
            self.on_done(name, status, details)
