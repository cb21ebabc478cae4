"""The driver's MLflow writes as a journal on disk: what lets training go on while the store is down.

Every write the tracker decides on is one JSON line appended to `tracking_journal.jsonl` in the
sweep's results folder (a local folder when the results go to remote storage); one background
thread applies the lines to the store in order, with backoff through an outage, and records in
`tracking_journal.done` how many it has applied. So:

- the queue is on disk, not in memory: an outage of any length holds one record in memory, and
  neither stops the trials (they report to Tune, Tune's loop appends a line) nor loses a write;
- a Tune snapshot waits for the journal to reach the disk (an fsync), never for the store: the
  snapshot and the journal agree on what was reported, and `ncsweep resume` applies the lines the
  store had not received before it reads the child runs (`replay`);
- a line applied twice stores nothing twice: a run is created once per trial (the replay finds
  the child runs that exist), metrics carry their own timestamp and step (MLflow keeps one copy of
  an identical metric), params, tags, artifacts and statuses are set to the same value again.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag

from analysis.store.history import log_history
from analysis.store.layout import STATUS_TAG
from orchestrator.tracking.store import with_backoff

JOURNAL, DONE = "tracking_journal.jsonl", "tracking_journal.done"


class Journal:
    """An append-only file of JSON records, numbered from 0 in file order, and the count applied."""

    def __init__(self, folder: Path | str):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path, self.done_path = folder / JOURNAL, folder / DONE
        self.written = sum(1 for _ in self._lines()) if self.path.exists() else 0
        self._out = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - open for the sweep's life
        self._lock = threading.Lock()

    def _lines(self) -> Iterator[str]:
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):  # a line cut by a crash mid-write was never a whole record
                    yield line

    def append(self, record: dict) -> None:
        """Add a record; it reaches the OS at once (the writer thread reads the file), the disk at `sync`."""
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._out.write(line)
            self._out.flush()
            self.written += 1

    def sync(self) -> None:
        """Everything appended is on the disk (what a Tune snapshot waits for)."""
        with self._lock:
            self._out.flush()
            os.fsync(self._out.fileno())

    def close(self) -> None:
        with self._lock:
            self._out.close()

    def applied(self) -> int:
        try:
            return int(self.done_path.read_text() or 0)
        except FileNotFoundError:
            return 0

    def mark_applied(self, count: int) -> None:
        temporary = self.done_path.with_suffix(".tmp")
        temporary.write_text(str(count))
        os.replace(temporary, self.done_path)


class JournalWriter:
    """Applies the journal's records to the store in order on one thread, from the first record
    not applied yet; `flush()` waits until every appended record is applied."""

    def __init__(self, journal: Journal, apply: Callable[[dict], None]):
        self.journal, self.apply = journal, apply
        self.applied = journal.applied()
        self._error: BaseException | None = None
        self._stopped = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="ncsweep-mlflow-writer", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def waiting(self) -> int:
        return self.journal.written - self.applied

    def _work(self) -> None:
        with open(self.journal.path, encoding="utf-8") as f:
            for _ in range(self.applied):
                f.readline()
            while True:
                with self._changed:
                    if self._stopped:  # what is not applied yet stays in the journal, for a resume
                        return
                position = f.tell()
                line = f.readline()
                if not line.endswith("\n"):  # nothing new yet (or half a line): wait for the next append
                    f.seek(position)
                    with self._changed:
                        if not self._stopped:
                            self._changed.wait(timeout=0.5)
                    continue
                record = json.loads(line)
                try:
                    with_backoff(lambda: self.apply(record), record.get("what", "writing"), waiting=self.waiting)
                except BaseException as exc:  # noqa: BLE001 - handed to flush(), in the driver's thread
                    # The store gave up for good: stop here. This record and the later ones stay in
                    # the journal, not applied, for `ncsweep resume` (a later one alone would be inconsistent).
                    with self._changed:
                        self._error = exc
                        self._changed.notify_all()
                    return
                self.applied += 1
                self.journal.mark_applied(self.applied)
                with self._changed:
                    self._changed.notify_all()

    def flush(self, timeout: float | None = None) -> int:
        """Wait until every appended record is applied (at most `timeout` seconds); the number still
        waiting. Raises a write that failed for good (after `with_backoff` gave up)."""
        with self._changed:
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.waiting() <= 0 or self._error is not None, timeout=timeout)
        if self._error is not None:
            raise self._error
        return self.waiting()

    def stop(self) -> None:
        """End the thread before its next record (the one being applied, if any, is finished; the
        rest stays in the journal). A driver that ends its sweep stops its writer: another tracker on
        the same journal later in this process (an in-process resume) must be the only one applying
        it, or an old writer could reopen a run after the new one ended it."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self._thread.join(timeout=5)


def apply_record(client, experiment_id: str, run_ids: dict[str, str], record: dict) -> None:
    """One journal record on the store: `create` makes the trial's child run (unless `run_ids`
    already has it: a replayed creation finds the run it made before a crash) and fills run_ids;
    the others write to that run."""
    op, name = record["op"], record["trial"]
    if op == "create":
        if name not in run_ids:
            run_ids[name] = client.create_run(experiment_id, run_name=name, tags=record["tags"]).info.run_id
        return
    run_id = run_ids[name]
    if op == "batch":
        metrics = [Metric(key, value, timestamp, step) for key, value, timestamp, step in record.get("metrics", [])]
        tags = [RunTag(k, v) for k, v in record.get("tags", {}).items()]
        params = [Param(k, v) for k, v in record.get("params", {}).items()]
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    elif op == "reopen":
        client.set_tag(run_id, STATUS_TAG, "running")
        client.update_run(run_id, status="RUNNING")
    elif op == "text":
        client.log_text(run_id, record["text"], record["path"])
    elif op == "dict":
        client.log_dict(run_id, record["dict"], record["path"])
    elif op == "history":
        log_history(client, run_id, {int(step): values for step, values in record["history"].items()})
    elif op == "end":
        client.set_terminated(run_id, record["status"])
    else:
        raise ValueError(f"unknown journal record {op!r}")
