"""Run an expanded sweep on Ray Tune: one Tune trial per `Trial`, logged to MLflow by the driver.

Tune owns scheduling, placement, retries, checkpoints and restore; we hand it our explicit list of
configs as a grid of one key, so Tune's trial i is our trial i. A sweep's results folder
(`<storage>/<sweep>-<timestamp>`) holds Tune's experiment state, each trial's checkpoints and our
RUN_INFO record, so `ncsweep resume FOLDER` can continue it after the driver died.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import ray
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from ray import tune

from analysis.store.layout import STATUS_TAG
from orchestrator.cluster.capacity import check_fits
from orchestrator.cluster.ray_token import ensure_local_token
from orchestrator.output.progress import SweepProgress
from orchestrator.running.storage import RunInfo, join, normalize, write_run_info
from orchestrator.running.trainable import train_trial
from orchestrator.sweep.spec import Sweep
from orchestrator.tracking.parent import start_parent_run
from orchestrator.tracking.store import new_sqlite_file, with_backoff
from orchestrator.tracking.tracker import INTERRUPTED_STATUS, STOPPED_STATUS, MlflowTracker, journal_folder

# Tune snapshots its experiment state at most every this many seconds ("auto" waits >= 10 s). After
# a driver crash, trials resume from the checkpoints the last snapshot knew; a sweep-sized state
# costs milliseconds to write, so snapshot often.
os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "5")
# Tune's default result loggers (CSV, JSON, TensorBoard) would write every result of every trial a
# second time, in the driver's loop that the trials wait on (a quarter of the overhead of a sweep
# of small trials); MLflow and the history artifacts already hold every value.
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
# Tune warns when checkpoints force snapshots more often than that; with small trials they do, harmlessly.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


@dataclass
class SweepOutcome:
    parent_run_id: str
    results_dir: str
    total: int
    statuses: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    interrupted: bool = False  # stopped by SIGINT/SIGTERM; `ncsweep resume results_dir` continues it
    samples: dict = field(default_factory=dict)  # a search's trial name -> search.Sample
    exported: object = None  # the tables read back once it ended (analysis.export.Exported)

    @property
    def ok(self) -> bool:
        """Every trial finished or was stopped early by the scheduler (a diverged, errored or
        never-run trial makes the sweep not ok)."""
        return len(self.statuses) == self.total and all(
            s in ("finished", STOPPED_STATUS) for s in self.statuses.values()
        )


def ensure_ray() -> None:
    """Join the cluster in RAY_ADDRESS (Ray sets it for the driver of a Ray job), else start a local
    Ray of this run's own, protected by a private token (orchestrator/ray_token.py). `local`, not
    Ray's default: without an address Ray joins whatever cluster `ray start` last recorded in its
    temporary folder, on a shared node another user's or a finished job's (docs/slurm.md)."""
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        if not address:
            ensure_local_token()
        ray.init(address=address or "local", logging_level=logging.WARNING, log_to_driver=False)


def open_store_while_ray_starts(client: MlflowClient, uri: str) -> threading.Thread | None:
    """Starting a local Ray takes ~5 s of mostly waiting on its processes, and opening a new sqlite
    store ~1-3 s (MLflow creates and migrates its tables): do the second during the first. Only for
    a local Ray, whose resources the CLI has already checked, so a sweep that cannot run still
    writes nothing. Errors are left to the first real call, which retries and reports them."""
    if new_sqlite_file(uri) is None or ray.is_initialized() or os.environ.get("RAY_ADDRESS"):
        return None

    def touch() -> None:
        try:
            client.search_experiments(max_results=1)
        except Exception:  # noqa: BLE001 - reported by the first real call
            pass

    thread = threading.Thread(target=touch, name="ncsweep-open-store", daemon=True)
    thread.start()
    return thread


def quiet_ray(verbose: bool) -> int:
    """Ray Tune's own console output (configuration box, TensorBoard hint, per-trial tables) and
    MLflow's store set-up and run-link lines are off unless `verbose`: ncsweep's progress view says
    what matters. Also MLflow's client retries (see below). Returns Tune's verbosity."""
    # MLflow's REST client retries a refused connection up to 7 times, over minutes, without a word:
    # a 20 s outage then passes unseen. Two quick retries ride out a blip; beyond that the driver's
    # own backoff (mlflow_store.with_backoff) retries and says when the store stops and answers again.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    if verbose:
        return 2
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # "View run ... at: URL", twice per trial
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"  # the legacy reporter, which verbose=0 silences entirely
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # With Tune's result files off (see TUNE_DISABLE_AUTO_CALLBACK_LOGGERS) its ResultGrid warns
    # once per trial that it found none; MLflow holds every result.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    # A local Ray turns token auth on by itself and says so on every start: nothing to act on.
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    return 0


def progress_for(sweep: Sweep, ended: dict[str, str] | None = None) -> SweepProgress:
    return SweepProgress({t.name: t.config.train.epochs for t in sweep.trials}, dict(ended or {}))


def trainable(sweep: Sweep):
    resources = {"cpu": sweep.spec.resources.cpu, "gpu": sweep.spec.resources.gpu}
    configs = {t.name: t.config.model_dump(mode="json") for t in sweep.trials}
    return tune.with_resources(tune.with_parameters(train_trial, configs=configs), resources)


def check_cluster_fits(sweep: Sweep) -> None:
    """On a joined cluster: BadInput when no alive node can hold one trial (see capacity.check_fits)."""

    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    res = sweep.spec.resources
    check_fits(res.cpu, res.gpu, nodes, f"the Ray cluster ({len(nodes)} nodes)", str(sweep.path))


@dataclass
class Started:
    """A sweep execution under way: its MLflow parent run, results folder, tracker and progress view."""

    client: MlflowClient
    parent_run_id: str
    run_name: str
    storage: str
    results_dir: str  # <storage>/<run_name>
    tracker: MlflowTracker
    progress: SweepProgress
    started: float
    verbosity: int


def start_sweep(
    sweep: Sweep,
    tracking_uri: str,
    storage: str,
    wait_for_resources: bool,
    verbose: bool,
    progress: SweepProgress | None = None,
) -> Started:
    """Ray up, the parent run created, RUN_INFO written: what every sweep execution begins with."""
    started = time.time()
    verbosity = quiet_ray(verbose)
    run_name = f"{sweep.spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    storage = normalize(storage)
    client = MlflowClient(tracking_uri)
    opening = open_store_while_ray_starts(client, tracking_uri)
    ensure_ray()
    if not wait_for_resources:
        check_cluster_fits(sweep)  # before the parent run: a sweep that cannot start writes nothing
    if opening is not None:
        opening.join()
    # Every store call of the driver retries with backoff: MLflow's own client retries only briefly (quiet_ray).
    parent_run_id = with_backoff(lambda: start_parent_run(client, sweep, run_name), "starting the sweep's parent run")
    results_dir = join(storage, run_name)
    write_run_info(results_dir, RunInfo(str(sweep.path), sweep.text, tracking_uri, parent_run_id))
    progress = progress or progress_for(sweep)
    tracker = MlflowTracker(
        client,
        parent_run_id,
        sweep,
        on_done=progress.on_done,
        on_result=progress.on_result,
        on_start=progress.on_start,
        journal_dir=journal_folder(results_dir, parent_run_id),
    )
    return Started(client, parent_run_id, run_name, storage, results_dir, tracker, progress, started, verbosity)


def tune_run_config(sweep: Sweep, name: str, storage: str, run: Started) -> tune.RunConfig:
    """Tune's run settings of a sweep: where its state goes, our tracker, checkpoints and retries."""
    checkpoints = sweep.spec.checkpoint
    return tune.RunConfig(
        name=name,
        storage_path=storage,
        callbacks=[run.tracker],
        verbose=run.verbosity,
        checkpoint_config=tune.CheckpointConfig(num_to_keep=checkpoints.keep),
        failure_config=tune.FailureConfig(max_failures=sweep.spec.failure.max_retries),
    )


class StopOnSignal:
    """SIGINT (Ctrl-C) or SIGTERM stop the sweep the way Tune stops on its own SIGUSR1: trials are
    stopped, the experiment state saved, and fit() returns, so the driver can mark what was running
    as interrupted and say how to resume. A second signal aborts at once."""

    def __init__(self):
        self.received: int | None = None

    def __enter__(self):
        os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"  # ours instead: the same for both signals
        self.previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _handle(self, sig, frame):
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = sig
        print(
            f"\n{signal.Signals(sig).name}: stopping the trials and saving the sweep's state (again to abort at once)",
            flush=True,
        )
        signal.raise_signal(signal.SIGUSR1)  # Tune's graceful stop

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False


def fit_tuners(
    tuners,
    client: MlflowClient,
    tracker: MlflowTracker,
    results_dir: str,
    total: int,
    started: float,
    progress: SweepProgress,
) -> SweepOutcome:
    """Fit each tuner in turn (a search has one per grid x cases point; the iterable may build
    them lazily), until one is stopped by a signal; then end the parent run."""
    progress.start()
    stop = StopOnSignal()
    try:
        with stop:
            for tuner in tuners:
                tuner.fit()
                if stop.received is not None:
                    break
    finally:
        try:
            progress.stop()
            tracker.flush()  # the queued MLflow writes of the last results (and of an interrupt's)
            outcome = SweepOutcome(
                tracker.parent_run_id,
                results_dir,
                total,
                dict(tracker.statuses),
                time.time() - started,
                stop.received is not None,
            )
            if outcome.interrupted:
                tracker.mark_interrupted()
                with_backoff(
                    lambda: client.set_tag(outcome.parent_run_id, STATUS_TAG, INTERRUPTED_STATUS),
                    "tagging the parent run",
                )
            status = RunStatus.KILLED if outcome.interrupted else RunStatus.FINISHED if outcome.ok else RunStatus.FAILED
            with_backoff(
                lambda: client.set_tag(outcome.parent_run_id, "ncsweep.wall_s", f"{outcome.wall_s:.1f}"),
                "tagging the parent run",
            )
            with_backoff(
                lambda: client.set_terminated(outcome.parent_run_id, RunStatus.to_string(status)),
                "ending the parent run",
            )
        finally:
            tracker.close()  # its writer thread: an in-process resume starts its own
    return outcome
