"""The team setup of docker/compose.yaml tested live: a real PostgreSQL (Debian's `postgresql`,
`initdb` into this test's tmp folder, 127.0.0.1 only, a random password) behind a real `mlflow
server` with the URI scheme and driver that docker/compose.yaml and the Dockerfile use. A sweep
runs through it while the database restarts; every run and every epoch is there once, and
`ncsweep analyze` reads them. Skipped with its reason where PostgreSQL or psycopg2 is absent
(`.ci/run` installs PostgreSQL; psycopg2-binary is a test dependency)."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from clusterkit import BIN, Runs, clean_env, run_command, start, stop_tree
from conftest import MlflowServer, free_port, tiny_sweep

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (Debian keeps them out of PATH)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def compose_backend_scheme() -> str:
    """The scheme of the MLflow backend URI in docker/compose.yaml (what the team stack runs)."""
    command = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]["mlflow"]["command"]
    args = command if isinstance(command, list) else command.split()
    return args[args.index("--backend-store-uri") + 1].split("://")[0]


class Postgres:
    """A PostgreSQL server of this test: its own data folder, 127.0.0.1 only, stopped by its pid.
    PostgreSQL refuses to run as root: as root, it runs as the `postgres` user."""

    def __init__(self, root: Path, password: str):
        self.bin, self.root, self.password, self.port = postgres_bin(), root, password, free_port()
        self.data, self.proc = root / "data", None
        self.user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def _as_owner(self) -> dict:
        if self.user is None:
            return {}
        uid, gid = self.user.pw_uid, self.user.pw_gid
        return {"user": uid, "group": gid, "extra_groups": []}

    def init(self) -> Postgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(self.root.parent, self.user.pw_uid, self.user.pw_gid)
        secret = self.root / "pwfile"
        secret.write_text(self.password + "\n")
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            os.chown(secret, self.user.pw_uid, self.user.pw_gid)
        secret.chmod(0o600)
        done = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "mlflow", f"--pwfile={secret}"]
            + ["-A", "scram-sha-256"],
            capture_output=True,
            text=True,
            **self._as_owner(),
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        return self

    def start(self) -> Postgres:
        args = [str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port)]
        args += ["-k", str(self.root)]  # its socket here, not in /var/run/postgresql
        with open(self.root / "postgres.log", "a") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **self._as_owner())
        deadline = time.time() + 60
        while subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
        ).returncode:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError((self.root / "postgres.log").read_text()[-2000:])
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def create_database(self, name: str) -> None:
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="mlflow", password=self.password, dbname="postgres"
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        connection.close()


@pytest.fixture
def postgres(tmp_path):
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)")
    pytest.importorskip("psycopg2", reason="psycopg2-binary (a test dependency) is not installed")
    # Its own temporary folder, not under pytest's: as root the server runs as `postgres`, which
    # cannot enter pytest's folders (mode 700, root's). Removed at the end.
    root = Path(tempfile.mkdtemp(prefix="ncsweep-pg-"))
    server = Postgres(root / "pg", secrets.token_hex(16))
    try:
        server.init().start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_sweep_through_mlflow_on_postgres_survives_a_database_restart(postgres, tmp_path):
    scheme = compose_backend_scheme()
    assert scheme == "postgresql+psycopg2"  # the driver the image installs (docker/Dockerfile)
    postgres.create_database("mlflow")
    uri = f"{scheme}://mlflow:{postgres.password}@127.0.0.1:{postgres.port}/mlflow"
    (tmp_path / "mlflow").mkdir()
    server = MlflowServer(tmp_path / "mlflow", backend=uri).start()
    sweep = tiny_sweep(
        tmp_path / "pg.yaml",
        "pg",
        base={
            "data": {"name": "synthetic", "num_classes": 3, "dim": 8, "train_per_class": 1500, "test_per_class": 20},
            "model": {"name": "mlp", "width": 16, "depth": 1},
            "train": {"epochs": 4, "batch_size": 8},
            "metrics": {"distribution_samples": 10},
        },
        seeds=[0],
    )
    log = tmp_path / "run.log"
    env = clean_env(HOME=str(tmp_path / "home"), NCSWEEP_TRACKING_MAX_WAIT_S="2", NCSWEEP_TRACKING_FLUSH_S="1")
    proc = start(run_command(sweep, server.url, tmp_path / "results"), tmp_path, env, log)
    runs = Runs(server.url, "test-pg")
    try:
        runs.wait(lambda children: any(len(runs.epochs(r)) >= 2 for r in children), 180, "two epochs", proc, log)
        postgres.stop()  # the database goes away under the server mid-sweep ...
        time.sleep(3)
        postgres.start()  # ... and comes back: same data, same port
        assert proc.wait(timeout=300) == 0, log.read_text()[-4000:]
        runs.assert_complete({"ce-s0", "bce-s0"}, epochs=4)  # every run once, every epoch once
        analyze = subprocess.run(
            [str(BIN / "ncsweep"), "analyze", "--experiment", "test-pg"]
            + ["--tracking-uri", server.url, "--out", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp_path,
        )
        assert analyze.returncode == 0, analyze.stderr[-3000:]
        import pandas as pd

        epochs = pd.read_parquet(tmp_path / "out" / "epochs.parquet")
        assert len(epochs) == 2 * 4 and not epochs.duplicated(["run_id", "epoch"]).any()
    finally:
        stop_tree(proc)
        server.stop()
