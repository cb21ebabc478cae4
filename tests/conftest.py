"""Shared fixtures: a real local Ray instance and a real `mlflow server` on 127.0.0.1.

Every process a fixture starts, it stops by its id: Ray through ray.shutdown() (which stops the
processes that ray.init started), the MLflow server by killing its process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent

# Tests talk to 127.0.0.1 only: no usage reports from MLflow or Ray (inherited by subprocesses).
os.environ.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "RAY_USAGE_STATS_ENABLED": "0"})
# Tests write only under temporary folders: a local Ray with token auth writes ~/.ray/auth_token,
# so HOME is a folder of the session's own (every subprocess a test starts inherits it).
TEST_HOME = tempfile.mkdtemp(prefix="ncsweep-test-home-")
os.environ["HOME"] = TEST_HOME
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(TEST_HOME, ".hypothesis")  # not ./.hypothesis in the checkout
# Ray's temporary folder of this test process (each of pytest-xdist's workers imports this file):
# `ray.init()` without an address joins the cluster whose address file it finds there
# (ray_current_cluster), so two workers sharing /tmp/ray would run one's sweep on the other's
# cluster. Short, because Ray's unix sockets live under it.
RAY_TMP = tempfile.mkdtemp(prefix="ncsweep-ray-", dir="/tmp")
os.environ["RAY_TMPDIR"] = RAY_TMP
# The token a local Ray started by a test uses, private as ncsweep writes it (the `ray_local`
# fixture's ray.init would otherwise write a world-readable one, and every later run would warn).
from orchestrator.cluster.ray_token import ensure_local_token  # noqa: E402

ensure_local_token()


@pytest.fixture(scope="session", autouse=True)
def _remove_test_home():
    yield
    shutil.rmtree(TEST_HOME, ignore_errors=True)
    shutil.rmtree(RAY_TMP, ignore_errors=True)


def nan_equal(metrics: dict) -> dict:
    """The metrics with every NaN as the string "nan", so that two reports compare equal when
    the same metrics are undefined in both (NaN != NaN)."""
    return {k: "nan" if isinstance(v, float) and v != v else v for k, v in metrics.items()}


def tiny_sweep(path: Path, name: str = "tiny", **overrides) -> Path:
    """A sweep of small synthetic trials: seconds each on a CPU."""
    spec = {
        "name": name,
        "experiment": f"test-{name}",
        "base": {
            "data": {"name": "synthetic", "num_classes": 4, "dim": 8, "train_per_class": 30, "test_per_class": 10},
            "model": {"name": "mlp", "width": 16, "depth": 1},
            "train": {"epochs": 3, "batch_size": 32},
        },
        "grid": {"loss.name": ["ce", "bce"]},
        "seeds": [0],
        "resources": {"cpu": 1, "gpu": 0},
    }
    spec.update(overrides)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def ray_local():
    import ray

    if not ray.is_initialized():  # an in-process sweep of an earlier test may have started this process's Ray
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)  # never a stray cluster
    yield ray
    ray.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """A real `mlflow server` process on 127.0.0.1 (sqlite backend, proxied artifacts) that a test
    can stop and start again on the same port and store, to play an outage."""

    def __init__(self, root: Path, port: int | None = None, workers: int = 1, backend: str | None = None):
        self.root, self.port, self.workers = root, port or free_port(), workers
        self.backend = backend or f"sqlite:///{root / 'mlflow.db'}"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> MlflowServer:
        cmd = [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--backend-store-uri",
            self.backend,
            "--artifacts-destination",
            str(self.root / "artifacts"),
        ]
        with open(self.root / "server.log", "a") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root
            )
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f"mlflow server did not start:\n{(self.root / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        self.proc = None


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server process on 127.0.0.1 for the whole session; yields its URL."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    try:
        yield server.url
    finally:
        server.stop()


def pytest_collection_modifyitems(config, items):
    """The tests that start Ray, MLflow, Slurm or PostgreSQL processes first (in their file order):
    with `make test`'s two workers, the long ones overlap at the start and the short ones even out
    the end, instead of one long test finishing alone."""
    items.sort(key=lambda item: item.get_closest_marker("integration") is None)
