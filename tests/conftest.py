"""Shared fixtures: a real local Ray instance and a real `mlflow server` on 127.0.0.1.

Every process a fixture starts, it stops by its id: Ray through ray.shutdown() (which stops the
processes that ray.init started), the MLflow server by killing its process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent

# Tests talk to 127.0.0.1 only: no usage reports from MLflow or Ray (inherited by subprocesses).
os.environ.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "RAY_USAGE_STATS_ENABLED": "0"})


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

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server process (sqlite backend, proxied artifacts) on 127.0.0.1."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    cmd = [
        str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"mlflow server did not start:\n{(root / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
