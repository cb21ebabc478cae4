"""`ncsweep` command line. Exit codes: 0 all trials finished; 1 a trial errored or diverged;
2 bad input (nothing was started or written)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from orchestrator.cli.cluster import cmd_jobs, cmd_slurm, cmd_submit
from orchestrator.cli.results import cmd_analyze, cmd_list
from orchestrator.cli.sweeps import cmd_resume, cmd_run, cmd_validate
from orchestrator.cli.trial import cmd_bench, cmd_train
from orchestrator.cli.tune import add_parser as add_tune
from orchestrator.errors import BAD_INPUT, TRIAL_FAILED, BadInput

DEFAULT_STORAGE = "ncsweep_results"
CLUSTER_STORAGE = "~/ncsweep_results"  # expanded on the cluster, by the job's driver


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ncsweep", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a sweep file; print the trial count and the varied parameters")
    p.add_argument("sweep")
    p.add_argument("--no-data-check", action="store_true", help="only check the file (e.g. one meant for a cluster)")
    p.add_argument("--cluster", metavar="gpus=N,cpus=N", help="say how many trials such a cluster runs at once")
    p.add_argument(
        "--bench",
        metavar="BENCH.json",
        help="with --cluster: estimate the wall time and GPU hours from what `ncsweep bench` measured",
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="run a sweep on Ray Tune (local, or the cluster in RAY_ADDRESS)")
    p.add_argument("sweep")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: spec, MLFLOW_TRACKING_URI, ./mlflow.db)")
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help=f"Tune results, checkpoints, Parquet: a folder every node sees, or s3://... (default ./{DEFAULT_STORAGE})",
    )
    p.add_argument("--max-concurrent", type=int, help="at most this many trials at once")
    p.add_argument(
        "--wait-for-resources",
        action="store_true",
        help="start even when no node can hold a trial yet (an autoscaling cluster will add one)",
    )
    p.add_argument(
        "--verbose", action="store_true", help="also Ray Tune's own console output (configuration box, trial tables)"
    )
    p.add_argument(
        "--per-trial",
        action="store_true",
        help="summary: one row per trial even for a sweep with seeds (always in trials.parquet)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("resume", help="continue an interrupted sweep from its results folder (same MLflow parent run)")
    p.add_argument("results_dir", metavar="DIR", help="the folder `ncsweep run` printed as 'Results:'")
    p.add_argument("--verbose", action="store_true", help="also Ray Tune's own console output")
    p.add_argument("--per-trial", action="store_true", help="summary: one row per trial even for a sweep with seeds")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("submit", help="run a sweep as a Ray Job on a cluster (the project is uploaded)")
    p.add_argument("sweep")
    p.add_argument("--address", help="Ray dashboard URL, e.g. http://HEAD:8265 (default $RAY_API_SERVER_ADDRESS)")
    p.add_argument("--follow", action="store_true", help="stream the job's logs and exit with its outcome")
    p.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI the cluster can reach (default: spec, MLFLOW_TRACKING_URI, ./mlflow.db)",
    )
    p.add_argument(
        "--storage",
        default=CLUSTER_STORAGE,
        help=f"Tune storage on the cluster: shared folder or s3://... (default {CLUSTER_STORAGE} on the head)",
    )
    p.add_argument("--max-concurrent", type=int, help="at most this many trials at once")
    p.add_argument(
        "--wait-for-resources",
        action="store_true",
        help="let the job wait for nodes an autoscaler will add (else a trial no node can hold is exit 2)",
    )
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("slurm", help="run a sweep as a Slurm batch job that starts its own Ray across the allocation")
    p.add_argument("sweep")
    p.add_argument("--nodes", type=int, default=1, help="Slurm nodes: one Ray head, one Ray worker per other node")
    p.add_argument("--gpus-per-node", type=int, default=0)
    p.add_argument("--cpus-per-task", type=int, help="CPUs of each node's Ray (one task per node)")
    p.add_argument("--partition")
    p.add_argument("--time", help="Slurm's time limit: minutes, HH:MM:SS or D-HH:MM:SS")
    p.add_argument("--account")
    p.add_argument("--tracking-uri", help="MLflow tracking URI the nodes can reach (default: spec, env, ./mlflow.db)")
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help=f"the job's folder goes here: a filesystem every node sees (default ./{DEFAULT_STORAGE})",
    )
    p.add_argument("--requeue", action="store_true", help="a job Slurm requeues (preemption) resumes the sweep")
    p.add_argument("--sbatch", action="append", default=[], metavar="OPTION", help="an extra #SBATCH line (repeat)")
    p.add_argument("--dry-run", action="store_true", help="write and print the batch script; submit nothing")
    p.add_argument("--follow", action="store_true", help="print the job's output until it ends; exit with its code")
    p.set_defaults(func=cmd_slurm)

    p = sub.add_parser("jobs", help="status, logs or stop of a submitted sweep")
    p.add_argument("action", choices=["status", "logs", "stop"])
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--address", help="Ray dashboard URL (default $RAY_API_SERVER_ADDRESS)")
    p.add_argument("--follow", action="store_true", help="logs: stream until the job ends")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser(
        "list",
        help="the registered losses, classifier heads, models, datasets, optimizers, schedules, augmentations "
        "and metrics, with their own keys",
    )
    p.add_argument(
        "what", nargs="*", metavar="losses|classifiers|models|datasets|optimizers|schedules|augmentations|metrics"
    )
    p.add_argument(
        "--markdown", action="store_true", help="as the Markdown tables of docs/plugins.md and docs/metrics.md"
    )
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="run one trial in this process (no Ray, no MLflow)")
    p.add_argument("trial", nargs="?", help="a YAML file of trial config sections")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="dotted override, e.g. loss.name=bce"
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "bench",
        help="training images/s on this device: vs the official loader, bf16/channels_last/compile, packed copies",
    )
    p.add_argument(
        "trial", nargs="?", help="a YAML file of trial config sections (default: CIFAR-10 ResNet-18, batch 128)"
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="dotted override, e.g. train.batch_size=256"
    )
    p.add_argument(
        "--pack",
        metavar="N,N,...",
        help="also N copies at once on the device, e.g. 1,2,4 (as Ray packs trials with gpu: 1/N)",
    )
    p.add_argument(
        "--reference",
        action="store_true",
        help="also the official code's loader (torchvision Dataset + DataLoader) and the ratio",
    )
    p.add_argument("--quick", action="store_true", help="fewer steps and a smaller data file (minutes on a CPU)")
    p.add_argument(
        "--cpus", type=int, help="CPUs a trial gets: loader workers and CPU threads (default: this machine's)"
    )
    p.add_argument(
        "--json", default="ncsweep_bench.json", help="where to write the table (default ./ncsweep_bench.json)"
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("analyze", help="MLflow runs -> trials.parquet and epochs.parquet (--paper: tables, figures)")
    p.add_argument("--experiment", required=True)
    p.add_argument("--parent", help="only the trials of this parent (sweep) run")
    p.add_argument("--out", required=True)
    p.add_argument("--tracking-uri")
    p.add_argument("--paper", action="store_true", help="also the paper's tables (Parquet) and figures (PNG)")
    p.add_argument(
        "--reference",
        action="append",
        metavar="LOSS",
        help="compare every loss against this one (repeat for several; default ce and bce where present)",
    )
    p.add_argument(
        "--include-stopped",
        action="store_true",
        help="count trials a scheduler stopped early in the final-epoch tables (at the epoch they stopped)",
    )
    p.add_argument(
        "--claims", action="store_true", help="the paper's claims table even when the runs vary none of its axes"
    )
    p.add_argument("--per-trial", action="store_true", help="summary: one row per trial even for a sweep with seeds")
    p.add_argument(
        "--format",
        metavar="md,latex",
        help="also every summary table as Markdown and/or LaTeX (mean ± CI, captioned; bold: significant after Holm)",
    )
    p.set_defaults(func=cmd_analyze)

    add_tune(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT
    except BrokenPipeError:  # `ncsweep validate x.yaml | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return TRIAL_FAILED
