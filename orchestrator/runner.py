"""Run an expanded sweep on Ray Tune: one Tune trial per `Trial`, logged to MLflow by the driver.

Tune owns scheduling, placement, retries and results storage; we hand it our explicit list of
configs as a grid of one key, so Tune's trial i is our trial i.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import ray
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from ray import tune

from orchestrator.spec import Sweep
from orchestrator.tracking import MlflowTracker, start_parent_run
from trainers import TrialConfig, run_trial
from trainers.loop import DISTRIBUTIONS


def train_trial(tune_config: dict) -> None:
    """The Tune trainable: a plain function that rebuilds the typed config and reports each epoch.

    The final distributions travel as one JSON string: Tune's result loggers would otherwise
    flatten thousands of list entries into columns.
    """
    config = TrialConfig.model_validate(tune_config["trial"]["config"])

    def report(epoch: int, metrics: dict) -> None:
        result = {**metrics, "epoch": epoch}
        if DISTRIBUTIONS in result:
            result[DISTRIBUTIONS] = json.dumps(result[DISTRIBUTIONS])
        tune.report(result)

    run_trial(config, report)


@dataclass
class SweepOutcome:
    parent_run_id: str
    results_dir: Path
    total: int
    statuses: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Every trial finished (a diverged, errored or never-run trial makes the sweep not ok)."""
        return len(self.statuses) == self.total and all(s == "finished" for s in self.statuses.values())


def ensure_ray() -> None:
    """Join the cluster in RAY_ADDRESS (or the one this Ray job runs in), else start a local Ray."""
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), logging_level=logging.WARNING, log_to_driver=False)


def progress_printer(total: int):
    done = 0

    def on_done(name: str, status: str, last: dict) -> None:
        nonlocal done
        done += 1
        key = "test/acc" if "test/acc" in last else "train/acc"
        extra = f"  {key} {last[key]:.4f}" if isinstance(last.get(key), float) else ""
        if last.get("error_file"):
            extra += f"  (traceback: {last['error_file']})"
        print(f"[{done}/{total}] {name}: {status} after {last.get('epoch', 0)} epochs{extra}", flush=True)

    return on_done


def run_sweep(sweep: Sweep, tracking_uri: str, storage: Path, max_concurrent: int | None = None) -> SweepOutcome:
    started = time.time()
    run_name = f"{sweep.spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    ensure_ray()
    client = MlflowClient(tracking_uri)
    parent_run_id = start_parent_run(client, sweep, run_name)
    tracker = MlflowTracker(client, parent_run_id, sweep, on_done=progress_printer(len(sweep.trials)))
    resources = {"cpu": sweep.spec.resources.cpu, "gpu": sweep.spec.resources.gpu}
    trials = [{"name": t.name, "config": t.config.model_dump(mode="json")} for t in sweep.trials]
    tuner = tune.Tuner(
        tune.with_resources(train_trial, resources),
        param_space={"trial": tune.grid_search(trials)},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=max_concurrent or sweep.spec.max_concurrent,
            # Reusing a trial's worker process for the next trial saves the ~5 s of process start
            # and torch import per trial; run_trial seeds and builds everything afresh each time.
            reuse_actors=True,
            trial_name_creator=MlflowTracker.trial_name,
            trial_dirname_creator=MlflowTracker.trial_name,
        ),
        run_config=tune.RunConfig(name=run_name, storage_path=str(storage.resolve()), callbacks=[tracker], verbose=0),
    )
    print(f"Running {len(trials)} trials of sweep {sweep.spec.name!r} (MLflow parent run {parent_run_id})", flush=True)
    try:
        tuner.fit()
    finally:
        outcome = SweepOutcome(parent_run_id, storage.resolve() / run_name, len(trials), dict(tracker.statuses), time.time() - started)
        status = RunStatus.FINISHED if outcome.ok else RunStatus.FAILED
        client.set_tag(parent_run_id, "ncsweep.wall_s", f"{outcome.wall_s:.1f}")
        client.set_terminated(parent_run_id, RunStatus.to_string(status))
    return outcome
