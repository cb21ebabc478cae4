"""How much ncsweep adds on top of the training itself and of Ray Tune's own scheduling.

Runs, side by side in one invocation on this machine:
  1. `ncsweep run` on N digits trials x E epochs (the quickstart's MLP, every metric every epoch,
     a sqlite MLflow store in a temporary folder), timed from process start to exit;
  2. plain Ray Tune on N trivial trials (a function reporting E times, no torch, no MLflow), timed
     the same way;
and prints the ideal time for 1 (the trials' summed epoch compute, read back from their MLflow
histories, divided by the trials Ray runs at once, plus the plain-Tune time) against the measured one.
Both are run `--repeat` times, alternating, and the fastest of each is compared (as timeit does: on
a shared machine the noise only ever adds time, to either side).

    .venv/bin/python benchmarks/overhead.py [--trials 100] [--epochs 5] [--repeat 2]

Target (issue 11): ncsweep within 1.5x of that ideal.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SWEEP = """\
name: overhead
experiment: overhead
base:
  data: {{name: digits}}
  model: {{name: mlp, width: 128, depth: 2}}
  optim: {{name: sgd, lr: 0.01, momentum: 0.9}}
  train: {{epochs: {epochs}, batch_size: 128}}
  metrics: {{every: 1, splits: [train, test]}}
grid:
  loss.name: [ce, bce]
seeds: [{seeds}]
resources: {{cpu: 1, gpu: 0}}
"""

PLAIN_TUNE = """\
import logging, os, sys
os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
import ray
from ray import tune

def trivial(config):
    for epoch in range(1, {epochs} + 1):
        tune.report({{"epoch": epoch, "acc": 0.5}})

ray.init(logging_level=logging.WARNING, log_to_driver=False)
tuner = tune.Tuner(
    tune.with_resources(trivial, {{"cpu": 1}}),
    param_space={{"i": tune.grid_search(list(range({trials})))}},
    tune_config=tune.TuneConfig(reuse_actors=True),
    run_config=tune.RunConfig(storage_path=sys.argv[1], verbose=0),
)
tuner.fit()
"""


def timed_process(args: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def summed_epoch_seconds(uri: str) -> tuple[float, int]:
    """The trials' `time/epoch_s` summed over every epoch of every child run (the training and
    metrics work itself, as each trial timed it), and the number of child runs."""
    from mlflow.tracking import MlflowClient

    from analysis.store.read import tables

    client = MlflowClient(uri)
    _, epochs = tables(client, "overhead")
    return float(epochs["time/epoch_s"].sum()), epochs["run_id"].nunique()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100, help="an even number (CE and BCE per seed)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side; the fastest counts")
    args = parser.parse_args()
    cores = os.cpu_count() or 1  # Ray's default CPUs on a local instance; one trial per CPU
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        env = {**os.environ, "HOME": str(root), "NCSWEEP_PROGRESS_INTERVAL_S": "3600"}
        (root / "plain_tune.py").write_text(PLAIN_TUNE.format(trials=args.trials, epochs=args.epochs))
        seeds = ", ".join(str(s) for s in range(args.trials // 2))
        (root / "overhead.yaml").write_text(textwrap.dedent(SWEEP.format(epochs=args.epochs, seeds=seeds)))
        plains, runs = [], []  # seconds; (seconds, summed epoch compute) of each ncsweep run
        for attempt in range(1, args.repeat + 1):
            plain = timed_process(
                [sys.executable, str(root / "plain_tune.py"), str(root / f"tune_results{attempt}")], root, env
            )
            print(
                f"[{attempt}] plain Ray Tune, {args.trials} trivial trials x {args.epochs} reports: {plain:.1f} s",
                flush=True,
            )
            plains.append(plain)
            uri = f"sqlite:///{root / f'mlflow{attempt}.db'}"
            ncsweep = [
                sys.executable,
                "-m",
                "orchestrator.cli",
                "run",
                str(root / "overhead.yaml"),
                "--tracking-uri",
                uri,
                "--storage",
                str(root / "results"),
            ]
            measured = timed_process(ncsweep, ROOT, env)
            compute, children = summed_epoch_seconds(uri)
            print(
                f"[{attempt}] ncsweep run, {children} digits trials x {args.epochs} epochs: {measured:.1f} s "
                f"(summed epoch compute {compute:.1f} s)",
                flush=True,
            )
            runs.append((measured, compute))
        plain, (measured, compute) = min(plains), min(runs)
        ideal = compute / cores + plain
        print(f"fastest: ncsweep {measured:.1f} s; plain Tune {plain:.1f} s")
        print(
            f"  ideal = summed epoch compute {compute:.1f} s / {cores} cores + plain Tune {plain:.1f} s = {ideal:.1f} s"
        )
        print(f"ratio ncsweep / ideal: {measured / ideal:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
