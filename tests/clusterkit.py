"""Helpers for the cluster tests: slow-enough sweeps, processes stopped by id, MLflow polling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from conftest import tiny_sweep
from mlflow.tracking import MlflowClient

BIN = Path(sys.executable).parent
EPOCHS = 6


def slow_sweep(path: Path, name: str, seeds=(0, 1), **overrides) -> Path:
    """Trials of about a second per epoch on this CPU (1500 steps), checkpointed every epoch: slow
    enough to kill a node or the driver in the middle of one."""
    base = {
        "data": {"name": "synthetic", "num_classes": 4, "dim": 16, "train_per_class": 3000, "test_per_class": 50},
        "model": {"name": "mlp", "width": 32, "depth": 1},
        "train": {"epochs": EPOCHS, "batch_size": 8},
        "metrics": {"distribution_samples": 20},
    }
    settings = {"base": base, "seeds": list(seeds), "checkpoint": {"every": 1, "keep": 2}, **overrides}
    return tiny_sweep(path, name, **settings)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS")}
    env.update(extra)
    return env


def run_command(sweep: Path, uri: str, results: Path) -> list[str]:
    """`ncsweep run SWEEP` as `python -m orchestrator.cli` of this interpreter (so PYTHONPATH picks
    the project copy), with its tracking store and results folder."""
    return [
        sys.executable,
        "-m",
        "orchestrator.cli",
        "run",
        str(sweep),
        "--tracking-uri",
        uri,
        "--storage",
        str(results),
    ]


def cli(cwd: Path, env: dict[str, str], timeout: float = 120):
    """A function running `ncsweep ARGS...` (as `python -m orchestrator.cli`) in `cwd` with `env`."""

    def ncsweep(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "orchestrator.cli", *args]
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)

    return ncsweep


def start(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A process in its own session, so it and everything it starts can be stopped together."""
    with open(log, "w") as out:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def run_to_end(args: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float = 300) -> tuple[int, str]:
    """Run a console command in its own session to its end (or the timeout), stop whatever it left
    behind (a local Ray), and return its exit code and output."""
    proc = start(args, cwd, env, log)
    try:
        proc.wait(timeout=timeout)
    finally:
        stop_tree(proc)
    return proc.returncode, log.read_text()


def stop_tree(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Stop `proc`, its descendants (by pid) and its process group."""
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for p in family:
        try:
            p.send_signal(sig)
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    psutil.wait_procs(family, timeout=30)
    proc.wait(timeout=30)


class Runs:
    """The child runs of one experiment, read from MLflow as the sweep goes."""

    def __init__(self, uri: str, experiment: str):
        self.uri, self.experiment, self._client = uri, experiment, None
        self.sqlite = uri.startswith("sqlite:")

    @property
    def client(self) -> MlflowClient:
        """Made on first use: a client of a sqlite URI creates the store at once (see `wait`)."""
        if self._client is None:
            self._client = MlflowClient(self.uri)
        return self._client

    def children(self) -> list:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is None:
            return []
        return [
            r
            for r in self.client.search_runs([found.experiment_id], max_results=1000)
            if "ncsweep.trial" in r.data.tags
        ]

    def parents(self) -> list:
        found = self.client.get_experiment_by_name(self.experiment)
        return [r for r in self.client.search_runs([found.experiment_id]) if "ncsweep.trial" not in r.data.tags]

    def epochs(self, run) -> list[int]:
        return [m.step for m in self.client.get_metric_history(run.info.run_id, "optim/batch_loss")]

    def wait(self, condition, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(
                    f"process ended ({proc.returncode}) while waiting for "
                    f"{what}:\n{log.read_text()[-3000:] if log else ''}"
                )
            # A sqlite store is created (its tables migrated) by the driver: a client of the test that
            # opened it meanwhile would migrate it at the same time. Read it once the driver has said
            # "Running" (its parent run exists, so its tables do).
            if self.sqlite and log is not None and "Running " not in (log.read_text() if log.exists() else ""):
                time.sleep(0.5)
                continue
            value = condition(self.children())
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:] if log else ''}")

    def assert_complete(self, trial_names: set[str], epochs: int = EPOCHS) -> dict:
        """Every trial finished, exactly one child run each, one value per epoch per metric."""
        runs = self.children()
        names = sorted(r.data.tags["ncsweep.trial"] for r in runs)
        assert names == sorted(trial_names), names  # one child run per trial, none twice
        for run in runs:
            assert run.data.tags["ncsweep.status"] == "finished", (run.info.run_name, run.data.tags["ncsweep.status"])
            for key in run.data.metrics:
                if key.startswith("best/"):
                    continue
                steps = [m.step for m in self.client.get_metric_history(run.info.run_id, key)]
                assert len(steps) == len(set(steps)), (run.info.run_name, key, steps)  # no epoch twice
                if key.startswith("optim/"):
                    assert sorted(steps) == list(range(1, epochs + 1)), (run.info.run_name, key, steps)
        return {r.data.tags["ncsweep.trial"]: r for r in runs}
