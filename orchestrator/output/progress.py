"""What a running sweep shows: a line per ended trial, and where it stands.

On a terminal, a live view (rich): counts by status, one line per running trial (name, epoch/total,
latest test accuracy, node) and the sweep's ETA. Elsewhere (a Ray Job's log, CI) a compact progress
line every `interval` seconds instead, with the same counts and `ETA`.

The ETA is (epochs still to run) x (mean epoch time observed so far) / (trials running at once): the
epochs of the running trials' remainders plus every pending trial's, spread over the observed
concurrency. It is None until an epoch time has been seen.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import TextIO

INTERVAL_S = float(os.environ.get("NCSWEEP_PROGRESS_INTERVAL_S", "30"))  # between progress lines off a terminal


@dataclass
class Running:
    epoch: int = 0
    test_acc: float | None = None
    node: str = ""


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
    epoch_seconds: list[float] = field(default_factory=list)
    most_at_once: int = 1
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

    def on_result(self, name: str, result: dict) -> None:
        state = self.running.setdefault(name, Running())
        state.epoch = int(result.get("epoch", state.epoch))
        if isinstance(result.get("test/acc"), float):
            state.test_acc = result["test/acc"]
        state.node = str(result.get("node_id", state.node))[:8]
        if isinstance(result.get("time/epoch_s"), float):
            self.epoch_seconds.append(result["time/epoch_s"])
        self.most_at_once = max(self.most_at_once, len(self.running))

    def on_done(self, name: str, status: str, last: dict) -> None:
        self.running.pop(name, None)
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

    def eta_seconds(self) -> float | None:
        if not self.epoch_seconds:
            return None
        left = sum(max(self.epochs[n] - s.epoch, 0) for n, s in self.running.items() if n in self.epochs)
        left += sum(e for n, e in self.epochs.items() if n not in self.ended and n not in self.running)
        mean = sum(self.epoch_seconds) / len(self.epoch_seconds)
        return left * mean / max(self.most_at_once, 1)

    def line(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        done = sum(self.epochs[n] for n in self.ended if n in self.epochs) + sum(s.epoch for s in self.running.values())
        eta = self.eta_seconds()
        return (
            f"progress: {counts}; epochs {done}/{sum(self.epochs.values())}; ETA "
            f"{format_duration(eta) if eta is not None else 'unknown'}"
        )

    def render(self):
        from rich.table import Table

        table = Table(title=self.line(), title_justify="left", expand=False)
        for column in ("running trial", "epoch", "test acc", "node"):
            table.add_column(column)
        for name, state in sorted(self.running.items()):
            acc = f"{state.test_acc:.4f}" if state.test_acc is not None else ""
            table.add_row(name, f"{state.epoch}/{self.epochs.get(name, '?')}", acc, state.node)
        return table

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
