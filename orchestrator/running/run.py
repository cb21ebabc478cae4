"""Run a sweep, or resume one: the grid sweep as one Tune experiment here, a sweep with a `search:`
section through running/search.py."""

from __future__ import annotations

import time

from mlflow.tracking import MlflowClient
from ray import tune

from orchestrator.running.search import run_search
from orchestrator.running.session import (
    SweepOutcome,
    ensure_ray,
    fit_tuners,
    progress_for,
    quiet_ray,
    start_sweep,
    trainable,
    tune_run_config,
)
from orchestrator.running.storage import RunInfo
from orchestrator.sweep.spec import Sweep
from orchestrator.tracking.store import with_backoff
from orchestrator.tracking.tracker import MlflowTracker, journal_folder


def run_sweep(
    sweep: Sweep,
    tracking_uri: str,
    storage: str,
    max_concurrent: int | None = None,
    wait_for_resources: bool = False,
    verbose: bool = False,
) -> SweepOutcome:
    if sweep.spec.search is not None:
        return run_search(sweep, tracking_uri, storage, max_concurrent, wait_for_resources, verbose)
    run = start_sweep(sweep, tracking_uri, storage, wait_for_resources, verbose)
    trials = [t.name for t in sweep.trials]
    checkpoints = sweep.spec.checkpoint
    tuner = tune.Tuner(
        trainable(sweep),
        param_space={"trial": tune.grid_search(trials), "checkpoint_every": checkpoints.every},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=max_concurrent or sweep.spec.max_concurrent,
            # Reusing a trial's worker process for the next trial saves the ~5 s of process start
            # and torch import per trial; run_trial seeds and builds everything afresh each time.
            reuse_actors=True,
            trial_name_creator=MlflowTracker.trial_name,
            trial_dirname_creator=MlflowTracker.trial_name,
        ),
        run_config=tune_run_config(sweep, run.run_name, run.storage, run),
    )
    print(
        f"Running {len(trials)} trials of sweep {sweep.spec.name!r} (MLflow parent run {run.parent_run_id})", flush=True
    )
    print(f"Results:  {run.results_dir}  (if this driver dies: ncsweep resume {run.results_dir})", flush=True)
    return fit_tuners([tuner], run.client, run.tracker, run.results_dir, sweep.total, run.started, run.progress)


def resume_sweep(sweep: Sweep, info: RunInfo, results_dir: str, verbose: bool = False) -> SweepOutcome:
    """Continue an interrupted sweep in the same MLflow parent run: trials that ended stay ended,
    the others restart from their latest checkpoints (or from scratch if they had none)."""
    started = time.time()
    quiet_ray(verbose)
    ensure_ray()
    client = MlflowClient(info.tracking_uri)
    tracker = MlflowTracker(
        client, info.parent_run_id, sweep, journal_dir=journal_folder(results_dir, info.parent_run_id)
    )
    replayed = tracker.replay()  # the writes the store had not received when the last driver stopped
    if replayed:
        print(f"Wrote {replayed} journaled MLflow writes the store had not received", flush=True)
    ended = tracker.adopt_existing_runs()
    progress = progress_for(sweep, ended)
    tracker.on_done, tracker.on_result, tracker.on_start = progress.on_done, progress.on_result, progress.on_start
    with_backoff(lambda: client.update_run(info.parent_run_id, status="RUNNING"), "reopening the parent run")
    print(
        f"Resuming sweep {sweep.spec.name!r} (MLflow parent run {info.parent_run_id}): "
        f"{len(ended)} of {len(sweep.trials)} trials had ended",
        flush=True,
    )
    # The restored Tuner unpickles its callbacks as this process's tracker (see MlflowTracker).
    tuner = tune.Tuner.restore(results_dir, trainable(sweep), resume_unfinished=True, resume_errored=True)
    return fit_tuners([tuner], client, tracker, results_dir, len(sweep.trials), started, progress)
