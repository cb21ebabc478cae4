"""How long `ncsweep analyze` takes on a large store: builds an MLflow store of N trials x E epochs
with the metric keys a real trial logs (train/ and test/ of every metric, optim/lr,
optim/batch_loss, time/epoch_s), each trial with its history artifact as the tracker writes it, then
times the export through sqlite directly and through a local `mlflow server` on 127.0.0.1, and the
per-metric-history path (what analyze did before) on the first `--old-trials` trials.

    .venv/bin/python benchmarks/analyze_scale.py [--trials 500] [--epochs 100] [--old-trials 50]

Targets (issue 11): 500 x 100 under 30 s with sqlite and under 60 s through a server. The artifacts
are files on this disk, as on a cluster whose MLflow artifact store is a shared folder.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mlflow.entities import Metric, Param  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from analysis.export import tables  # noqa: E402
from analysis.history import log_history  # noqa: E402
from analysis.runs import CONFIG_TAG, PARENT_TAG, STATUS_TAG, SWEEP_TAG, TRIAL_TAG  # noqa: E402
from trainers.config import TrialConfig  # noqa: E402
from trainers.metrics import METRICS  # noqa: E402

KEYS = [f"{split}/{k}" for split in ("train", "test") for k in METRICS.keys()] + ["optim/lr", "optim/batch_loss", "time/epoch_s"]


def build(uri: str, artifacts: Path, trials: int, epochs: int) -> str:
    client = MlflowClient(uri)
    experiment = client.create_experiment("scale", artifact_location=artifacts.as_uri())
    parent = client.create_run(experiment, run_name="scale", tags={SWEEP_TAG: "scale"}).info.run_id
    rng = random.Random(0)
    for i in range(trials):
        config = TrialConfig.model_validate({"loss": {"name": ["ce", "bce"][i % 2]}, "seed": i})
        tags = {PARENT_TAG: parent, TRIAL_TAG: f"t{i}", SWEEP_TAG: "scale", STATUS_TAG: "finished", CONFIG_TAG: json.dumps(config.model_dump(mode="json"))}
        run = client.create_run(experiment, run_name=f"t{i}", tags=tags).info.run_id
        client.log_batch(run, params=[Param(k, str(v)) for k, v in list(config.flat().items())[:100]])
        history = {e: {k: rng.random() for k in KEYS} for e in range(1, epochs + 1)}
        metrics = [Metric(k, v, 0, e) for e, values in history.items() for k, v in values.items()]
        for start in range(0, len(metrics), 1000):
            client.log_batch(run, metrics=metrics[start : start + 1000])
        log_history(client, run, history)
        client.set_terminated(run)
        if (i + 1) % 50 == 0:
            print(f"  built {i + 1}/{trials} trials", flush=True)
    return parent


def timed(what: str, fn) -> float:
    started = time.perf_counter()
    trials, epochs = fn()
    seconds = time.perf_counter() - started
    print(f"{what}: {seconds:.1f} s ({len(trials)} trials, {len(epochs)} epoch rows)", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--old-trials", type=int, default=50, help="trials read the old way, per metric history (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        db = Path(root) / "mlflow.db"
        uri = f"sqlite:///{db}"
        started = time.perf_counter()
        print(f"building {args.trials} trials x {args.epochs} epochs x {len(KEYS)} metrics ...", flush=True)
        build(uri, Path(root) / "artifacts", args.trials, args.epochs)
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
        client = MlflowClient(uri)
        sqlite_s = timed(f"analyze, sqlite, {args.trials} x {args.epochs}", lambda: tables(client, "scale"))
        from conftest import MlflowServer  # the tests' own server fixture: 127.0.0.1, stopped by pid

        server = MlflowServer(Path(root))  # serves root/mlflow.db, the store built above
        server.start()
        try:
            remote = MlflowClient(server.url)
            server_s = timed(f"analyze, mlflow server, {args.trials} x {args.epochs}", lambda: tables(remote, "scale"))
        finally:
            server.stop()
        if args.old_trials:
            old_uri = f"sqlite:///{Path(root) / 'old.db'}"
            build(old_uri, Path(root) / "old-artifacts", args.old_trials, args.epochs)
            old = MlflowClient(old_uri)
            new_s = timed(f"  new path, sqlite, {args.old_trials} x {args.epochs}", lambda: tables(old, "scale"))
            old_s = timed(f"  old path (per-metric histories), sqlite, {args.old_trials} x {args.epochs}", lambda: tables(old, "scale", use_artifacts=False))
            print(f"  old / new on the same {args.old_trials} trials: {old_s / new_s:.1f}x")
        print(f"targets: sqlite < 30 s: {'yes' if sqlite_s < 30 else 'NO'} ({sqlite_s:.1f} s); server < 60 s: {'yes' if server_s < 60 else 'NO'} ({server_s:.1f} s)")


if __name__ == "__main__":
    main()
