"""How long `ncsweep analyze` takes on a large store: builds an MLflow store of N trials x E epochs
with the metric keys a real trial logs (train/ and test/ of every metric, optim/lr,
optim/batch_loss, time/epoch_s), each trial with its history artifact as the tracker writes it, then
times the export through sqlite directly and through a local `mlflow server` on 127.0.0.1, once
from the history artifacts and once from the tracking store alone (as for a store copied without
its artifacts: one bulk read per metric), and the old per-run-and-metric read on the first
`--old-trials` trials against the bulk read of the same trials.

    .venv/bin/python benchmarks/analyze_scale.py [--trials 500] [--epochs 100] [--old-trials 20] [--store DIR]

Targets: 500 x 100 under 30 s with sqlite and under 60 s through a server (issue 11), and under
60 s from the store alone (issue 19). The artifacts are files on this disk, as on a cluster whose
MLflow artifact store is a shared folder.
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

from analysis.store.history import log_history  # noqa: E402
from analysis.store.layout import CONFIG_TAG, PARENT_TAG, STATUS_TAG, SWEEP_TAG, TRIAL_TAG  # noqa: E402
from analysis.store.read import tables  # noqa: E402
from trainers.config import TrialConfig  # noqa: E402
from trainers.metrics import METRICS  # noqa: E402

KEYS = [f"{split}/{k}" for split in ("train", "test") for k in METRICS.keys()] + [
    "optim/lr",
    "optim/batch_loss",
    "time/epoch_s",
]


def build(uri: str, artifacts: Path, trials: int, epochs: int) -> str:
    client = MlflowClient(uri)
    experiment = client.create_experiment("scale", artifact_location=artifacts.as_uri())
    parent = client.create_run(experiment, run_name="scale", tags={SWEEP_TAG: "scale"}).info.run_id
    rng = random.Random(0)
    for i in range(trials):
        config = TrialConfig.model_validate({"loss": {"name": ["ce", "bce"][i % 2]}, "seed": i})
        tags = {
            PARENT_TAG: parent,
            TRIAL_TAG: f"t{i}",
            SWEEP_TAG: "scale",
            STATUS_TAG: "finished",
            CONFIG_TAG: json.dumps(config.model_dump(mode="json")),
        }
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


def per_metric(client: MlflowClient, experiment: str):
    """The old read of every history: one get_metric_history call per run and metric."""
    from analysis.store.read import child_runs

    for run in child_runs(client, experiment):
        for key in run.data.metrics:
            client.get_metric_history(run.info.run_id, key)
    return [], []


def bulk(client: MlflowClient, experiment: str):
    """The new read of every history: analysis.history.store_histories."""
    from analysis.store.history import store_histories
    from analysis.store.read import child_runs

    store_histories(client, child_runs(client, experiment))
    return [], []


def timed(what: str, fn) -> float:
    started = time.perf_counter()
    trials, epochs = fn()
    seconds = time.perf_counter() - started
    print(
        f"{what}: {seconds:.1f} s" + (f" ({len(trials)} trials, {len(epochs)} epoch rows)" if len(trials) else ""),
        flush=True,
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument(
        "--old-trials", type=int, default=20, help="trials read the old way, per run and metric (0: skip)"
    )
    parser.add_argument("--store", help="build the store in this folder and keep it; reuse it when it is there")
    parser.add_argument(
        "--server-workers", type=int, default=4, help="the mlflow server's worker processes (MLflow's default: 4)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.store or scratch)
        root.mkdir(parents=True, exist_ok=True)
        db = root / "mlflow.db"
        uri = f"sqlite:///{db}"
        if not db.exists():
            started = time.perf_counter()
            print(f"building {args.trials} trials x {args.epochs} epochs x {len(KEYS)} metrics ...", flush=True)
            build(uri, root / "artifacts", args.trials, args.epochs)
            print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
        client = MlflowClient(uri)
        sqlite_s = timed(f"analyze, sqlite, {args.trials} x {args.epochs}", lambda: tables(client, "scale"))
        sqlite_store_s = timed(
            f"analyze, sqlite, store alone (no artifacts), {args.trials} x {args.epochs}",
            lambda: tables(client, "scale", use_artifacts=False),
        )
        from conftest import MlflowServer  # the tests' own server fixture: 127.0.0.1, stopped by pid

        server = MlflowServer(root, workers=args.server_workers)  # serves root/mlflow.db, the store built above
        server.start()
        try:
            remote = MlflowClient(server.url)
            server_s = timed(
                f"analyze, mlflow server ({args.server_workers} workers), {args.trials} x {args.epochs}",
                lambda: tables(remote, "scale"),
            )
            server_store_s = timed(
                f"analyze, mlflow server ({args.server_workers} workers), store alone (no artifacts), "
                f"{args.trials} x {args.epochs}",
                lambda: tables(remote, "scale", use_artifacts=False),
            )
        finally:
            server.stop()
        if args.old_trials:
            old_uri = f"sqlite:///{root / 'old.db'}"
            if not (root / "old.db").exists():
                build(old_uri, root / "old-artifacts", args.old_trials, args.epochs)
            old = MlflowClient(old_uri)
            bulk_s = timed(
                f"  reading the histories, bulk (store_histories), sqlite, {args.old_trials} x {args.epochs}",
                lambda: bulk(old, "scale"),
            )
            old_s = timed(
                f"  reading the histories, per run and metric (the old read), sqlite, {args.old_trials} x "
                f"{args.epochs}",
                lambda: per_metric(old, "scale"),
            )
            print(f"  old / bulk on the same {args.old_trials} trials: {old_s / bulk_s:.1f}x")
        print(
            f"targets: sqlite < 30 s: {'yes' if sqlite_s < 30 else 'NO'} ({sqlite_s:.1f} s); server < 60 s: "
            f"{'yes' if server_s < 60 else 'NO'} ({server_s:.1f} s)"
        )
        worst = max(sqlite_store_s, server_store_s)
        print(
            f"         store alone < 60 s: {'yes' if worst < 60 else 'NO'} (sqlite {sqlite_store_s:.1f} s, "
            f"server {server_store_s:.1f} s)"
        )


if __name__ == "__main__":
    main()
