"""MLflow logging from the driver (docs/design.md#mlflow-layout): a parent run per sweep execution,
one nested child run per trial, per-epoch metrics with step = epoch, a status tag.

Trials report to Ray Tune; this Tune callback runs in the driver and is the only MLflow writer, so
workers need no MLflow access. It decides what to write in Tune's loop and appends each write to a
journal on disk (journal.py) that one thread applies to the store with backoff: trials never wait
on the store, a Tune snapshot waits for the disk only, and an outage of any length pauses logging
without holding the writes in memory or losing one.

Exactly one value per epoch: a trial retried after a failure (or resumed after a driver crash)
re-reports the epochs since its last checkpoint; those the child run already has are skipped, and a
resumed sweep reads what each child run has from MLflow itself (`adopt_existing_runs`), the one
record that is never stale. We write our own callback rather than Ray's MLflowLoggerCallback
because that one has no parent run, names runs after Tune's ids, logs Tune's bookkeeping as
metrics and knows nothing of a "diverged" status.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlflow.entities import Metric, RunStatus, RunTag
from mlflow.tracking import MlflowClient
from ray.tune import Callback

from analysis.store.history import store_histories
from analysis.store.layout import (
    BEST_ARTIFACT,
    BEST_EPOCH_TAG,
    CONFIG_TAG,
    DISTRIBUTIONS_ARTIFACT,
    GROUP_TAG,
    METRIC_PREFIXES,
    PARENT_TAG,
    STATUS_TAG,
    SWEEP_TAG,
    TRIAL_TAG,
    best_epoch,
)
from analysis.store.read import NoRuns, child_runs
from orchestrator.sweep.spec import Sweep
from orchestrator.tracking.journal import Journal, JournalWriter, apply_record
from orchestrator.tracking.store import with_backoff
from trainers.report import DISTRIBUTIONS

MAX_PARAMS_PER_CALL = 100  # MLflow's log_batch limit
MAX_METRICS_PER_CALL = 900  # MLflow allows 1,000 entries (metrics + tags) per log_batch
# A trial's epochs reach MLflow at most this many seconds after they were reported. Within it, a
# trial's fast epochs go as one batch: a store write costs a fixed ~6 ms on sqlite (a round trip
# on a server) plus a little per value, and with hundreds of small trials those fixed costs were
# a third of the driver's CPU, taken from the trials on a small machine.
FLUSH_ENV = "NCSWEEP_TRACKING_FLUSH_S"


@dataclass
class Pending:
    """A trial's reported values not yet handed to the writer."""

    since: float  # time.monotonic() of the oldest
    metrics: list[Metric] = field(default_factory=list)
    tags: list[RunTag] = field(default_factory=list)
    first: int = 0
    last: int = 0


# The tracker of this driver process by parent run id. Tune pickles its callbacks into the
# experiment folder; ours pickles as a reference to this table, so `ncsweep resume` hands the
# restored Tuner a tracker that has just read the child runs from MLflow instead of a stale copy.
_LIVE: dict[str, MlflowTracker] = {}
RUNNING_STATUS = "running"
INTERRUPTED_STATUS = "interrupted"  # stopped by SIGINT/SIGTERM; a resume continues it
STOPPED_STATUS = "stopped"  # ended early by the scheduler (ASHA): not an error
FINAL_STATUSES = ("finished", "diverged", "error", STOPPED_STATUS)
NODE_TAG, RESUMED_TAG = "ncsweep.ray_node_id", "ncsweep.resumed_from_epoch"
INTERRUPT_WAIT_S = 30  # how long a stopped sweep waits for the store before leaving the rest to `resume`


def journal_folder(results_dir: str, parent_run_id: str) -> Path:
    """Where the journal of a sweep lives: its results folder when that is on this machine, else a
    folder of this machine's temporary directory named after the parent run (resumed from here)."""
    if "://" in results_dir and not results_dir.startswith("file://"):
        return Path(tempfile.gettempdir()) / f"ncsweep-journal-{parent_run_id}"
    return Path(results_dir.removeprefix("file://"))


def _live_tracker(parent_run_id: str) -> MlflowTracker:
    if parent_run_id not in _LIVE:
        raise RuntimeError(
            f"no tracker for MLflow parent run {parent_run_id} in this process; continue a sweep with `ncsweep "
            "resume DIR`"
        )
    return _LIVE[parent_run_id]


class MlflowTracker(Callback):
    """Tune callback: one child run per trial under `parent_run_id`, one metric batch per epoch."""

    def __init__(
        self,
        client: MlflowClient,
        parent_run_id: str,
        sweep: Sweep,
        on_done: Callable[[str, str, dict], None] | None = None,
        on_result: Callable[[str, dict], None] | None = None,
        on_start: Callable[[str], None] | None = None,
        journal_dir: Path | str | None = None,
    ):
        self.client = client
        self.parent_run_id = parent_run_id
        parent = with_backoff(lambda: client.get_run(parent_run_id), "reading the parent run")
        self.experiment_id = parent.info.experiment_id
        # Groups are per sweep run: "Group by" on a second run of the same sweep must not pool the two.
        # The setting first: the UI cuts long group names at the end.
        self.group_suffix = f" in {parent.info.run_name}"
        self.experiment_name = sweep.spec.experiment
        self.sweep_name = sweep.spec.name
        self.trials = {t.name: t for t in sweep.trials}
        self.started: set[str] = set()  # trials whose child run exists or is being created
        self.run_ids: dict[str, str] = {}  # filled in by the writer as it creates the runs
        self.logged: dict[str, int] = {}  # name -> last epoch in its child run
        self.attempt: dict[str, tuple[str, int]] = {}  # name -> (node, resumed-from epoch) last tagged
        self.statuses: dict[str, str] = {}
        # name -> epoch -> every logged metric, kept until the trial ends (best/ and the history
        # artifact are written from it, then it is dropped: memory stays bounded by the trials running)
        self.histories: dict[str, dict[int, dict[str, float]]] = {}
        self.diverged: set[str] = set()
        self.on_done = on_done
        self.on_result = on_result  # every epoch's report, for the progress view
        self.on_start = on_start  # every start of a trial (a retry too), for the progress view's timing
        self.journal = Journal(journal_dir or Path(tempfile.mkdtemp(prefix="ncsweep-journal-")))
        self._writer: JournalWriter | None = None  # started at the first write (after a resume's replay)
        self.flush_s = float(os.environ.get(FLUSH_ENV, 5))
        self.pending: dict[str, Pending] = {}
        # A search's trials are not known before Tune samples them: `resolve` turns a Tune trial
        # into its `Trial` (name, config, group) the first time it is seen (orchestrator/search.py).
        self.resolve: Callable[[object], object] | None = None
        self.names: dict[str, str] = {}  # Tune trial id -> name, for resolved trials
        _LIVE[parent_run_id] = self

    def __reduce__(self):
        return _live_tracker, (self.parent_run_id,)

    @property
    def writer(self) -> JournalWriter:
        if self._writer is None:
            self._writer = JournalWriter(self.journal, self._apply)
        return self._writer

    def flush(self, timeout: float | None = None) -> int:
        """Write every trial's pending values and wait until every journaled write is in the store
        (at most `timeout` seconds); the number still waiting. Raises a write that failed for good."""
        self._send_pending()
        return self.writer.flush(timeout)

    def on_experiment_end(self, trials, **info):
        self.flush()

    def close(self) -> None:
        """Stop the writer thread and close the journal (the sweep is over; what the store has not
        received stays journaled for `ncsweep resume`)."""
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
        self.journal.close()

    def get_state(self) -> None:
        """Tune asks for this while it snapshots its experiment state, before the snapshot goes to
        the storage that `ncsweep resume` reads. A resumed sweep neither reruns the trials the
        snapshot has as ended nor re-reports the epochs before their checkpoints, so everything
        reported so far must be recorded first: in the journal on disk (an fsync), not in the store,
        so an outage does not hold the snapshot, and with it the trials, still. `ncsweep resume`
        applies what the store had not received (`replay`) before it reads MLflow."""
        self._send_pending()
        self.journal.sync()
        return None

    def on_step_end(self, iteration, trials, **info):
        """Tune's loop turns several times a second: hand on the values that have waited long enough."""
        now = time.monotonic()
        for name in [n for n, p in self.pending.items() if now - p.since >= self.flush_s]:
            self._send(name)

    def _send_pending(self) -> None:
        for name in list(self.pending):
            self._send(name)

    def _send(self, name: str, metrics: list[Metric] = (), tags: list[RunTag] = ()) -> None:
        """Journal the trial's pending values (plus `metrics` and `tags`) as few log_batch calls."""
        pending = self.pending.pop(name, None) or Pending(0.0)
        metrics, tags = pending.metrics + list(metrics), pending.tags + list(tags)
        epochs = f"epoch {pending.first}" if pending.first == pending.last else f"epochs {pending.first}-{pending.last}"
        for start in range(0, max(len(metrics), 1), MAX_METRICS_PER_CALL):
            chunk, chunk_tags = metrics[start : start + MAX_METRICS_PER_CALL], tags if start == 0 else []
            if chunk or chunk_tags:
                self._record(
                    "batch",
                    name,
                    f"logging {epochs} of {name}",
                    metrics=[[m.key, m.value, m.timestamp, m.step] for m in chunk],
                    tags={t.key: t.value for t in chunk_tags},
                )

    def _record(self, op: str, name: str, what: str, **fields) -> None:
        """Journal one write for trial `name`'s child run; the writer applies it (`_apply`)."""
        self.journal.append({"op": op, "trial": name, "what": what, **fields})
        self.writer.notify()

    def _apply(self, record: dict) -> None:
        """One journaled write, on the store (the writer's thread; also a resume's replay)."""
        apply_record(self.client, self.experiment_id, self.run_ids, record)

    def replay(self) -> int:
        """Apply the journaled writes the store had not received when the last driver stopped (a
        resumed sweep, before `adopt_existing_runs`): the child runs that exist are found by their
        trial tag, so nothing is created twice. Returns how many records it applied."""
        waiting = self.journal.written - self.journal.applied()
        if waiting <= 0:
            return 0
        try:
            runs = with_backoff(
                lambda: child_runs(self.client, self.experiment_name, self.parent_run_id), "listing child runs"
            )
        except NoRuns:
            runs = []
        for run in runs:
            self.run_ids.setdefault(run.data.tags.get(TRIAL_TAG), run.info.run_id)
        self.writer.flush()
        return waiting

    @staticmethod
    def trial_name(trial) -> str:
        return trial.config["trial"]

    def name_of(self, trial) -> str:
        """The trial's name: in its config for an expanded sweep, resolved once for a search's."""
        if "trial" in trial.config:
            return trial.config["trial"]
        name = self.names.get(trial.trial_id)
        if name is None:
            resolved = self.resolve(trial)
            self.trials[resolved.name] = resolved
            name = self.names[trial.trial_id] = resolved.name
        return name

    def adopt_existing_runs(self) -> dict[str, str]:
        """Continue the child runs already under the parent run (a resumed sweep): their run ids,
        their last logged epoch, their histories (for best/), and the status of those that ended.
        Returns name -> status of the trials that already ended."""
        try:
            runs = with_backoff(
                lambda: child_runs(self.client, self.experiment_name, self.parent_run_id), "listing child runs"
            )
        except NoRuns:
            return {}
        runs = [run for run in runs if run.data.tags.get(TRIAL_TAG) in self.trials]
        histories = with_backoff(
            lambda: store_histories(self.client, runs), "reading the trials' histories"
        )  # one read per metric, all runs
        for run in runs:
            name = run.data.tags.get(TRIAL_TAG)
            if name in self.started:
                continue
            self.run_ids[name] = run.info.run_id
            self.started.add(name)
            history = histories[run.info.run_id]
            self.logged[name] = max(history, default=0)
            self.histories[name] = history
            status = run.data.tags.get(STATUS_TAG)
            if status in FINAL_STATUSES and run.info.status != "RUNNING":
                self.statuses[name] = status
        return dict(self.statuses)

    def on_trial_start(self, iteration, trials, trial, **info):
        name = self.name_of(trial)
        if self.on_start:
            self.on_start(name)
        if name in self.started:  # a retried or resumed trial continues its own child run
            if name not in self.statuses:
                self._record("reopen", name, f"reopening the run of {name}")
            return
        self.started.add(name)
        spec = self.trials[name]
        tags = {
            PARENT_TAG: self.parent_run_id,
            TRIAL_TAG: name,
            GROUP_TAG: spec.group + self.group_suffix,
            SWEEP_TAG: self.sweep_name,
            STATUS_TAG: RUNNING_STATUS,
            CONFIG_TAG: json.dumps(spec.config.model_dump(mode="json"), sort_keys=True),
        }

        self._record("create", name, f"creating the run of {name}", tags=tags)
        params = [(k, json.dumps(v) if isinstance(v, list) else str(v)) for k, v in spec.config.flat().items()]
        for i in range(0, len(params), MAX_PARAMS_PER_CALL):
            chunk = dict(params[i : i + MAX_PARAMS_PER_CALL])
            self._record("batch", name, f"logging the params of {name}", params=chunk)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        name = self.name_of(trial)
        if "epoch" not in result:  # Tune's own end-of-trial record, e.g. after a resume at the last epoch
            return
        step = int(result["epoch"])
        if self.on_result:
            self.on_result(name, result)
        if step <= self.logged.get(name, 0):  # re-reported after a restart: the run has it already
            return
        now = int(time.time() * 1000)
        values = {
            k: float(v) for k, v in result.items() if k.startswith(METRIC_PREFIXES) and isinstance(v, (int, float))
        }
        metrics = [Metric(key, value, now, step) for key, value in values.items()]
        attempt = (str(result.get("node_id", "")), int(result.get("resumed_from", 0)))
        tags = []
        if self.attempt.get(name) != attempt:  # where this attempt runs, and the epoch it resumed after
            tags = [RunTag(NODE_TAG, attempt[0])] + ([RunTag(RESUMED_TAG, str(attempt[1]))] if attempt[1] else [])
            self.attempt[name] = attempt
        pending = self.pending.setdefault(name, Pending(time.monotonic(), first=step))
        pending.metrics += metrics
        pending.tags += tags
        pending.last = step
        if isinstance(result.get(DISTRIBUTIONS), str):
            text = result[DISTRIBUTIONS]
            self._record("text", name, f"logging the distributions of {name}", text=text, path=DISTRIBUTIONS_ARTIFACT)
        if result.get("diverged"):
            self.diverged.add(name)
        self.logged[name] = step
        self.histories.setdefault(name, {}).setdefault(step, {}).update(values)

    def mark_interrupted(self) -> list[str]:
        """The sweep was stopped: child runs of trials that had not ended get status KILLED and
        ncsweep.status interrupted (a resume reopens them). Waits INTERRUPT_WAIT_S at most for the
        store: what it has not received by then stays in the journal for `ncsweep resume`. Returns
        the names."""
        names = [n for n in self.started if n not in self.statuses]
        for name in names:
            self._send(name, tags=[RunTag(STATUS_TAG, INTERRUPTED_STATUS)])
            self._record("end", name, f"ending the run of {name}", status=RunStatus.to_string(RunStatus.KILLED))
        self.journal.sync()
        left = self.flush(timeout=INTERRUPT_WAIT_S)
        if left:
            print(f"{left} MLflow writes wait in {self.journal.path}: `ncsweep resume` writes them first", flush=True)
        return names

    def _best(self, name: str) -> tuple[dict | None, list[RunTag]]:
        """The metrics of the epoch the paper reports (best test accuracy; the same rule the Parquet
        export applies to the full histories), for best.json, and the tag naming that epoch. Not
        logged as metrics: as one-point `best/*` series they filled MLflow's chart view first (64
        single-point charts sorted before the curves); the trials table has them as best/ columns."""
        history = self.histories.get(name, {})
        epoch = best_epoch(history)
        if epoch is None:
            return None, []
        values = {k: v for k, v in history[epoch].items() if k.startswith(("train/", "val/", "test/"))}
        return {"epoch": epoch, "rule": "the epoch of the highest test/acc (train/acc without a test split)",
                "metrics": values}, [RunTag(BEST_EPOCH_TAG, str(epoch))]  # fmt: skip

    def on_trial_complete(self, iteration, trials, trial, **info):
        name = self.name_of(trial)
        diverged = name in self.diverged or bool((trial.last_result or {}).get("diverged"))
        if diverged:
            status = "diverged"
        elif self.logged.get(name, 0) < self.trials[name].config.train.epochs:
            status = STOPPED_STATUS  # the scheduler ended it before its last epoch
        else:
            status = "finished"
        self._finish(trial, status, RunStatus.FINISHED)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._finish(trial, "error", RunStatus.FAILED)

    def _finish(self, trial, status: str, run_status: int) -> None:
        name = self.name_of(trial)
        self.statuses[name] = status
        if name in self.started:
            best, tags = self._best(name)
            self._send(name, [], tags + [RunTag(STATUS_TAG, status)])  # the last epochs and the status at once
            if best is not None:
                self._record("dict", name, f"logging the best epoch of {name}", dict=best, path=BEST_ARTIFACT)
            if name in self.histories:
                history = self.histories.pop(name)
                self._record("history", name, f"logging the history of {name}", history=history)
            self._record("end", name, f"ending the run of {name}", status=RunStatus.to_string(run_status))
        if self.on_done:
            details = dict(trial.last_result or {})
            details["epoch"] = self.logged.get(name, details.get("epoch", 0))
            if status == "error":
                details["error_file"] = getattr(trial, "error_file", None)
            self.on_done(name, status, details)
