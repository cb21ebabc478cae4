"""What a running sweep shows: a line per ended trial, and where it stands.

On a terminal, a live view (rich): counts by status, one line per running trial (name, epoch/total,
latest test accuracy, node) and the sweep's ETA. Elsewhere (a Ray Job's log, CI) a compact progress
line every `interval` seconds instead, with the same counts and `ETA`.

The ETA comes from wall-clock time measured per trial, so everything a trial spends counts: its
start-up (a worker, the data, the model) and its metric passes, not only the training steps. Each
trial's epoch time is the time between its reports over the epochs they cover; its start-up is the
time from its start to its first report, less the epochs that report covers. Then:

    running trial: (its epochs left) x (epoch time)
    pending trial: start-up + (its epochs) x (epoch time)
    ETA = max(the longest running remainder, (all of that) / (trials running at once))

It is None until some trial has reported twice (one report cannot tell start-up from epochs).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

INTERVAL_S = float(os.environ.get("NCSWEEP_PROGRESS_INTERVAL_S", "30"))  # between progress lines off a terminal
WIDTH = 100  # the progress line fits a 100-column terminal


@dataclass
class Running:
    epoch: int = 0
    test_acc: float | None = None
    node: str = ""
    started: float | None = None  # clock time of its start (None: started before this view began)
    first: tuple[float, int] | None = None  # (clock time, epoch) of its first report
    last: tuple[float, int] | None = None  # ... and of its latest


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{secs:02d}s" if minutes else f"{secs}s")


@dataclass
class SweepProgress:
    epochs: dict[str, int]  # trial name -> epochs it runs
    ended: dict[str, str] = field(default_factory=dict)  # trial name -> final status
    stream: TextIO | None = None  # None: sys.stdout as it is when written to (not at import)
    interval: float = INTERVAL_S
    running: dict[str, Running] = field(default_factory=dict)
    most_at_once: int = 1
    clock: Callable[[], float] = time.monotonic
    epoch_s: list[tuple[float, int]] = field(default_factory=list)  # ended trials' (seconds, epochs) between reports
    startup_s: list[float] = field(default_factory=list)  # ended or running trials' start-up seconds
    _live: object = None
    _stop: threading.Event = field(default_factory=threading.Event)

    # -- fed by the tracker -------------------------------------------------------------
    def claim(self, slot_prefix: str, name: str, epochs: int) -> None:
        """A search's trial got its name: it takes one of the placeholder slots `<prefix>#<i>`
        that stood for the trials not yet sampled (a new dict: the progress thread may be reading)."""
        table = dict(self.epochs)
        slot = next((key for key in table if key.startswith(slot_prefix + "#")), None)
        if slot is not None:
            del table[slot]
        table[name] = epochs
        self.epochs = table

    def on_start(self, name: str) -> None:
        """A trial (or its retry) starts: its start-up is timed from here."""
        if name in self.ended:
            return
        state = self.running.setdefault(name, Running())
        state.started, state.first = self.clock(), None
        self.most_at_once = max(self.most_at_once, len(self.running))

    def on_result(self, name: str, result: dict) -> None:
        if name in self.ended:  # a late report of a trial that has ended: it stays out of the live table
            return
        now = self.clock()
        state = self.running.setdefault(name, Running())
        state.epoch = int(result.get("epoch", state.epoch))
        if isinstance(result.get("test/acc"), float):
            state.test_acc = result["test/acc"]
        state.node = str(result.get("node_id", state.node))[:8]
        if state.first is None:
            state.first = (now, state.epoch)
            if state.started is not None:
                self.startup_s.append(now - state.started)  # one epoch too, taken out in startup()
        state.last = (now, state.epoch)
        self.most_at_once = max(self.most_at_once, len(self.running))

    def on_done(self, name: str, status: str, last: dict) -> None:
        state = self.running.pop(name, None)
        if state is not None and state.first and state.last and state.last[1] > state.first[1]:
            self.epoch_s.append((state.last[0] - state.first[0], state.last[1] - state.first[1]))
        self.ended[name] = status
        key = "test/acc" if "test/acc" in last else "train/acc"
        extra = f"  {key} {last[key]:.4f}" if isinstance(last.get(key), float) else ""
        if last.get("error_file"):
            extra += f"  (traceback: {last['error_file']})"
        self._print(
            f"[{len(self.ended)}/{len(self.epochs)}] {name}: {status} after {last.get('epoch', 0)} epochs{extra}"
        )

    # -- what it shows --------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for status in self.ended.values():
            out[status] = out.get(status, 0) + 1
        out["running"] = len(self.running)
        out["pending"] = len(self.epochs) - len(self.ended) - len(self.running)
        return out

    def epoch_seconds(self) -> float | None:
        """Wall seconds per epoch, metric passes included: the time between reports over the epochs
        they cover, pooled over the ended and the running trials that reported twice."""
        spans = list(self.epoch_s)
        for state in self.running.values():
            if state.first and state.last and state.last[1] > state.first[1]:
                spans.append((state.last[0] - state.first[0], state.last[1] - state.first[1]))
        epochs = sum(e for _, e in spans)
        return sum(s for s, _ in spans) / epochs if epochs else None

    def startup(self, epoch_s: float) -> float:
        """Mean seconds from a trial's start to its first report, less that report's one epoch."""
        if not self.startup_s:
            return 0.0
        return max(0.0, sum(self.startup_s) / len(self.startup_s) - epoch_s)

    def eta_seconds(self) -> float | None:
        epoch_s = self.epoch_seconds()
        if epoch_s is None:
            return None
        remainders = [max(self.epochs[n] - s.epoch, 0) * epoch_s for n, s in self.running.items() if n in self.epochs]
        pending = [e for n, e in self.epochs.items() if n not in self.ended and n not in self.running]
        work = sum(remainders) + sum(self.startup(epoch_s) + e * epoch_s for e in pending)
        return max(max(remainders, default=0.0), work / max(self.most_at_once, 1))

    def line(self) -> str:
        """One line of at most WIDTH columns: counts by status, epochs done, the ETA."""
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        done = sum(self.epochs[n] for n in self.ended if n in self.epochs) + sum(s.epoch for s in self.running.values())
        eta = self.eta_seconds()
        tail = (
            f"; epochs {done}/{sum(self.epochs.values())}; ETA {format_duration(eta) if eta is not None else 'unknown'}"
        )
        head = f"progress: {counts}"
        if len(head) + len(tail) > WIDTH:
            head = head[: WIDTH - len(tail) - 3] + "..."
        return head + tail

    def render(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(expand=False)
        for column in ("running trial", "epoch", "test acc", "node"):
            table.add_column(column)
        for name, state in sorted(self.running.items()):
            acc = f"{state.test_acc:.4f}" if state.test_acc is not None else ""
            table.add_row(name, f"{state.epoch}/{self.epochs.get(name, '?')}", acc, state.node)
        # The line above the table, not as its title: rich wraps a title at the table's width.
        return Group(Text(self.line(), no_wrap=True, overflow="ellipsis"), table)

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def start(self) -> None:
        if self.out.isatty():
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                get_renderable=self.render, console=Console(file=self.out), refresh_per_second=2, transient=True
            )
            self._live.start()
            return
        threading.Thread(target=self._lines, daemon=True, name="ncsweep-progress").start()

    def stop(self) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _lines(self) -> None:
        while not self._stop.wait(self.interval):
            self._print(self.line())

    def _print(self, text: str) -> None:
        if self._live is not None:
            self._live.console.print(text, highlight=False)
        else:
            print(text, file=self.out, flush=True)
