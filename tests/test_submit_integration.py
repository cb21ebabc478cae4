"""`ncsweep submit` against a real `ray start --head` on this host, with token authentication on,
logging to a real MLflow server that goes down for a while in the middle of the sweep."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from clusterkit import BIN, Runs, clean_env, start, stop_tree
from conftest import MlflowServer, free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ray_head(tmp_path):
    """`ray start --head --block` in its own session, token auth on, dashboard on 127.0.0.1.

    Its own --temp-dir: `ray start` records its address in <temp-dir>/ray_current_cluster, where
    every later `ray.init()` on this machine would look (and, once this head is stopped, hang).
    A short path, because Ray's unix sockets live under it."""
    temp_dir = tempfile.mkdtemp(prefix="ncsweep-ray-", dir="/tmp")
    token = secrets.token_hex(16)
    dashboard = free_port()
    env = clean_env(
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN=token,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",  # the job's `python` is this environment's
        # The job's driver: MLflow's client fails at once, so ncsweep's own backoff rides out the outage.
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        NCSWEEP_TRACKING_MAX_WAIT_S="2",  # try every 2 s at most
    )
    args = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        "--port",
        str(free_port()),
        "--dashboard-host",
        "127.0.0.1",
        "--dashboard-port",
        str(dashboard),
        "--num-cpus",
        "2",
        "--disable-usage-stats",
        "--temp-dir",
        temp_dir,
        # Ray's fixed defaults (52365, 10001) are taken when another Ray runs on this host,
        # e.g. the suite's own local instance; the job API needs a live dashboard agent.
        "--dashboard-agent-listen-port",
        str(free_port()),
        "--ray-client-server-port",
        str(free_port()),
    ]
    head = start(args, tmp_path, env, tmp_path / "ray-head.log")
    url = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.time() + 120
        while True:
            request = urllib.request.Request(f"{url}/api/version", headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, timeout=2) as r:
                    if json.load(r).get("ray_version"):
                        break
            except OSError:
                pass
            if head.poll() is not None or time.time() > deadline:
                raise RuntimeError((tmp_path / "ray-head.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url, token
    finally:
        stop_tree(head)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_submit_quickstart_follow_survives_an_mlflow_outage(ray_head, tmp_path):
    url, token = ray_head
    (tmp_path / "mlflow").mkdir()
    server = MlflowServer(tmp_path / "mlflow").start()
    env = clean_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    log = tmp_path / "submit.log"
    args = [
        str(BIN / "ncsweep"),
        "submit",
        "sweeps/quickstart.yaml",
        "--address",
        url,
        "--follow",
        "--tracking-uri",
        server.url,
        "--storage",
        str(tmp_path / "results"),
    ]
    submit = start(args, ROOT, env, log)
    runs = Runs(server.url, "ncsweep-quickstart")
    try:
        runs.wait(
            lambda children: any(len(runs.epochs(r)) >= 3 for r in children), 180, "three logged epochs", submit, log
        )
        job_id = log.read_text().split("as Ray job ")[1].split()[0]
        status = subprocess.Popen(
            [str(BIN / "ncsweep"), "jobs", "status", job_id, "--address", url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        server.stop(signal.SIGKILL)  # the store crashes while trials keep training and reporting
        time.sleep(1)
        server.start()  # same port, same database
        code = submit.wait(timeout=300)
        status_out = status.communicate(timeout=120)[0]
        assert status.returncode == 0 and f"{job_id}: RUNNING" in status_out, status_out
        output = log.read_text()
        assert code == 0, output[-4000:]
        assert "Submitted sweep 'quickstart' (6 trials) as Ray job raysubmit_" in output
        assert f"Dashboard: {url}/#/jobs/raysubmit_" in output and "SUCCEEDED" in output
        stopped, back = (
            output.count("MLflow store stopped answering while"),
            output.count("MLflow store answers again after"),
        )
        assert stopped >= 1 and back == stopped  # said when it stopped and when it came back, not once per retry
        names = {f"{loss}-init{init}-s0" for loss in ("ce", "bce") for init in (0, 5, 10)}
        runs.assert_complete(names, epochs=30)  # no metric lost, none twice
        # The head demands a token. With none anywhere: one message naming the variable to set.
        # With the token only in ~/.ray/auth_token and RAY_AUTH_MODE unset here: that file is used.
        home = tmp_path / "home"
        home.mkdir()
        bare = {k: v for k, v in clean_env(HOME=str(home)).items() if not k.startswith("RAY_AUTH")}
        status_args = [str(BIN / "ncsweep"), "jobs", "status", job_id, "--address", url]
        no_token = subprocess.run(status_args, env=bare, capture_output=True, text=True, timeout=120)
        assert no_token.returncode == 2 and "demands a token: set RAY_AUTH_TOKEN" in no_token.stderr, no_token.stderr
        (home / ".ray").mkdir()
        token_file = home / ".ray" / "auth_token"
        token_file.write_text(token)
        token_file.chmod(0o644)  # readable by everyone: used, with one warning, and left as it is
        from_file = subprocess.run(status_args, env=bare, capture_output=True, text=True, timeout=120)
        assert from_file.returncode == 0 and f"{job_id}: SUCCEEDED" in from_file.stdout, (
            from_file.stdout + from_file.stderr
        )
        assert f"warning: {token_file}:" in from_file.stderr and f"chmod 600 {token_file}" in from_file.stderr
        assert token_file.stat().st_mode & 0o777 == 0o644 and token_file.read_text() == token
    finally:
        stop_tree(submit)
        server.stop()
