"""Training while the MLflow store is down: the same sweep (digits MLP, CE and BCE x 100 seeds = 200
trials of 5 epochs, 4 at a time) through a real `mlflow server` (sqlite backend) on 127.0.0.1,
once undisturbed and once with the server killed for 20 s in the middle, side by side in one run.

    .venv/bin/python benchmarks/store_outage.py [--seeds 100] [--epochs 5] [--outage 20]

For each run it prints the longest gap between two trials' last reported epochs (the time a trial
finished training, from the metric timestamps the driver set when the epoch was reported, not when
the store received it), the number of distinct child runs, and whether any epoch is missing or
doubled. The issue's target: the gap with the outage within 2x of the gap without it. Before the
journal (orchestrator/tracking/journal.py) the driver waited for the store at every Tune snapshot:
45.6 s with the server down 20 s, against 2.2 s without.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, port: int) -> subprocess.Popen:
    args = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    args += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "art")]
    log = open(root / "server.log", "a")  # noqa: SIM115 - the server's for its life
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    import urllib.request

    for _ in range(180):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("mlflow server did not start")


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    proc.wait(timeout=60)


def one_run(root: Path, seeds: int, epochs: int, outage: float) -> dict:
    root.mkdir(parents=True)
    sweep = root / "load.yaml"
    spec = {
        "name": "load",
        "experiment": "outage",
        "base": {
            "data": {"name": "digits"},
            "model": {"name": "mlp", "width": 64, "depth": 1},
            "train": {"epochs": epochs, "batch_size": 128},
            "metrics": {"every": 1, "splits": ["train", "test"]},
        },
        "grid": {"loss.name": ["ce", "bce"]},
        "seeds": list(range(seeds)),
        "resources": {"cpu": 0.5, "gpu": 0},
        "checkpoint": {"every": 0},
    }
    sweep.write_text(yaml.safe_dump(spec))
    port = free_port()
    server = start_server(root, port)
    uri = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HOME": str(root / "home"), "NCSWEEP_TRACKING_MAX_WAIT_S": "2"}
    command = [str(BIN / "ncsweep"), "run", str(sweep), "--tracking-uri", uri, "--storage", str(root / "results")]
    started = time.time()
    log = open(root / "run.log", "w")  # noqa: SIM115
    driver = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    if outage:
        time.sleep(25)  # well into the sweep: trials are running and reporting
        stop(server, signal.SIGKILL)
        time.sleep(outage)
        server = start_server(root, port)
    code = driver.wait(timeout=3600)
    wall = time.time() - started
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("outage")
    found = client.search_runs([experiment.experiment_id], max_results=5000)
    runs = [r for r in found if "ncsweep.trial" in r.data.tags]
    finished, bad = [], 0
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "optim/batch_loss")
        steps = sorted(m.step for m in history)
        bad += steps != list(range(1, epochs + 1))
        finished.append(max(m.timestamp for m in history) / 1000 if history else 0.0)
    finished.sort()
    gaps = [b - a for a, b in zip(finished, finished[1:])]
    stop(server)
    said = (root / "run.log").read_text()
    return {
        "outage_said": said.count("MLflow store stopped answering") + said.count("MLflow store answers again"),
        "exit": code,
        "wall_s": wall,
        "runs": len({r.data.tags["ncsweep.trial"] for r in runs}),
        "run_rows": len(runs),
        "bad": bad,
        "longest_gap_s": max(gaps, default=0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--outage", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ncsweep-outage-") as tmp:
        rows = {}
        for name, outage in (("no outage", 0.0), (f"server down {args.outage:g} s", args.outage)):
            print(f"running: {name} ...", flush=True)
            rows[name] = one_run(Path(tmp) / name.replace(" ", "_"), args.seeds, args.epochs, outage)
    trials = 2 * args.seeds
    print(f"{trials} trials x {args.epochs} epochs, 4 at a time")
    header = f"{'run':<22}{'exit':>5}{'wall s':>8}{'child runs':>12}{'epochs wrong':>14}{'longest gap s':>15}"
    print(header + "  outage lines in the log (stopped + answers again)")
    for name, r in rows.items():
        runs = f"{r['runs']}/{r['run_rows']}"
        line = f"{name:<22}{r['exit']:>5}{r['wall_s']:>8.1f}{runs:>12}{r['bad']:>14}{r['longest_gap_s']:>15.1f}"
        print(f"{line}  {r['outage_said']}")
    base, hit = (r["longest_gap_s"] for r in rows.values())
    print(f"ratio of the longest gaps: {hit / base:.2f} (target: at most 2)")


if __name__ == "__main__":
    main()
