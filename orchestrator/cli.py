"""`ncsweep` command line. Exit codes: 0 all trials finished; 1 a trial errored or diverged;
2 bad input (nothing was started or written)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrator.errors import BadInput, from_validation
from orchestrator.spec import load_sweep, parse_yaml, read_yaml
from trainers.config import TrialConfig, set_dotted

OK, TRIAL_FAILED, BAD_INPUT, INTERRUPTED = 0, 1, 2, 130  # 130: stopped by a signal (128 + SIGINT)
DEFAULT_STORAGE = "ncsweep_results"
CLUSTER_STORAGE = "~/ncsweep_results"  # expanded on the cluster, by the job's driver


def cmd_validate(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.sweep)
    search = sweep.spec.search
    if search is None:
        print(f"{args.sweep}: {sweep.total} trials")
    else:
        points = len(sweep.points())
        print(f"{args.sweep}: {sweep.total} trials ({points} points x {search.num_samples} {search.algorithm} samples x {len(sweep.spec.seeds)} seeds)")
    for key, values in sweep.varied().items():
        print(f"  {key}: {', '.join(map(str, values))}")
    if search is not None:
        print(f"search space (judged on {search.metric}, {search.mode}; seed {search.seed}):")
        for key, distribution in search.space.items():
            print(f"  {key}: {distribution.describe()}")
        if sweep.spec.scheduler is not None:
            asha = sweep.spec.scheduler
            print(f"early stopping: ASHA, grace period {asha.grace_period} epochs, reduction factor {asha.reduction_factor:g}")
    if args.bench and not args.cluster:
        raise BadInput("--bench: the estimate needs the cluster too, e.g. --cluster gpus=8,cpus=64")
    if args.cluster:
        from orchestrator.capacity import capacity, parse_cluster

        cluster = parse_cluster(args.cluster)
        res = sweep.spec.resources
        fit = capacity(res.cpu, res.gpu, cluster["cpus"], cluster.get("gpus", 0.0), sweep.total, sweep.spec.max_concurrent)
        if fit.at_once == 0:
            raise BadInput(f"{args.sweep}: resources (cpu {res.cpu:g}, gpu {res.gpu:g} per trial): no trial fits on --cluster {args.cluster}")
        print(f"on {args.cluster}: {fit.at_once} trials at once (limited by {fit.limited_by}; cpu {res.cpu:g}, gpu {res.gpu:g} per trial), {fit.waves} waves")
        if args.bench:
            from orchestrator.cost import estimate, load_bench
            from orchestrator.progress import format_duration

            cost = estimate(sweep, cluster, load_bench(args.bench))
            print(
                f"estimate: {format_duration(cost.wall_s)} wall time, {cost.trial_hours:.3g} trial hours, {cost.gpu_hours:.3g} GPU hours (training and metrics passes; not the seconds each trial takes to start)"
            )
            for note in cost.notes:
                print(f"  {note}")
    sys.stdout.flush()
    if not args.no_data_check:
        from orchestrator.preflight import check_inputs  # torch and torchvision: only when needed

        check_inputs((t.config for t in sweep.trials), args.sweep)
    return OK


def cmd_run(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.sweep)  # every trial validated before anything starts (or imported)
    uri = ready_to_run(sweep, args)
    from orchestrator.results_output import report_outcome
    from orchestrator.runner import run_sweep

    outcome = run_sweep(sweep, uri, args.storage, args.max_concurrent, args.wait_for_resources, args.verbose)
    return report_outcome(sweep, uri, outcome, args.per_trial)


def ready_to_run(sweep, args: argparse.Namespace) -> str:
    """Everything `run` (and `tune`) checks before Ray starts: the data, that a trial fits this
    machine (a cluster is checked once joined), the tracking store answers; the caches warmed.
    Returns the tracking URI."""
    from orchestrator.mlflow_store import check_reachable
    from orchestrator.preflight import check_inputs, warm_caches
    from orchestrator.tracking_uri import resolve_tracking_uri, tracking_uri_source

    check_inputs((t.config for t in sweep.trials), args.sweep)
    if not args.verbose:  # MLflow's store set-up lines ("Creating initial MLflow database tables...")
        import logging

        logging.getLogger("mlflow").setLevel(logging.WARNING)
    res = sweep.spec.resources
    if not args.wait_for_resources and not os.environ.get("RAY_ADDRESS"):
        from orchestrator.capacity import check_fits, local_node

        check_fits(res.cpu, res.gpu, [local_node(count_gpus=res.gpu > 0)], "this machine (a local Ray)", args.sweep)
    uri = resolve_tracking_uri(args.tracking_uri, sweep.spec.tracking_uri)
    # Before Ray starts: a dead server would otherwise show up only as the first trial reports.
    check_reachable(uri, tracking_uri_source(args.tracking_uri, sweep.spec.tracking_uri, sweep.path))
    warm_caches(t.config for t in sweep.trials)
    return uri


def cmd_resume(args: argparse.Namespace) -> int:
    from orchestrator.mlflow_store import check_reachable
    from orchestrator.preflight import check_inputs
    from orchestrator.results_output import report_outcome
    from orchestrator.runner import resume_sweep
    from orchestrator.spec import sweep_from_text
    from orchestrator.storage import normalize, read_run_info

    results_dir = normalize(args.results_dir)
    info = read_run_info(results_dir)
    sweep = sweep_from_text(info.sweep_path, info.sweep_text)
    if sweep.spec.search is not None:
        raise BadInput(f"{results_dir}: sweep {sweep.spec.name!r} has a search, which cannot be resumed (its searcher's state is per point); run it again. Nothing was started.")
    check_inputs((t.config for t in sweep.trials), info.sweep_path)
    check_reachable(info.tracking_uri, f"{results_dir}: tracking store")
    outcome = resume_sweep(sweep, info, results_dir, args.verbose)
    return report_outcome(sweep, info.tracking_uri, outcome, args.per_trial)


def cmd_submit(args: argparse.Namespace) -> int:
    from orchestrator import jobs
    from orchestrator.tracking_uri import resolve_tracking_uri

    sweep = load_sweep(args.sweep)  # a bad file fails here, before the cluster is contacted
    uri = resolve_tracking_uri(args.tracking_uri, sweep.spec.tracking_uri)
    command = jobs.entrypoint(Path(args.sweep), uri, args.storage, args.max_concurrent, args.wait_for_resources)
    job_id, url = jobs.submit(args.address, command, sweep.spec.name)
    print(f"Submitted sweep {sweep.spec.name!r} ({sweep.total} trials) as Ray job {job_id}")
    print(f"Dashboard: {url}")
    if not uri.startswith(("http://", "https://")):
        print(f"MLflow:    {uri} (a path on the machine that runs the job; use --tracking-uri http://... for a server)")
    if not args.follow:
        print(f"Follow:    ncsweep jobs logs {job_id} --follow --address {jobs.dashboard_address(args.address)}")
        return OK
    return jobs.follow(args.address, job_id)


def cmd_jobs(args: argparse.Namespace) -> int:
    from orchestrator import jobs

    if args.action == "status":
        return jobs.status(args.address, args.job_id)
    if args.action == "logs":
        return jobs.logs(args.address, args.job_id, args.follow)
    return jobs.stop(args.address, args.job_id)


def parse_overrides(pairs: Sequence[str]) -> list[tuple[str, Any]]:
    out = []
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--set {pair}: expected key=value with a dotted key, e.g. loss.name=bce")
        out.append((key.strip(), parse_yaml(text, f"--set {pair}: the value")))
    return out


def trial_config(args: argparse.Namespace, tree: dict[str, Any] | None = None) -> tuple[TrialConfig, str]:
    """The trial config of `train` and `bench`: the TRIAL file (else `tree`) with the --set
    overrides, validated; and where it came from, for messages."""
    tree = dict(tree or {})
    source = "--set"
    if args.trial:
        _, tree = read_yaml(Path(args.trial))
        if not isinstance(tree, dict):
            raise BadInput(f"{args.trial}: (top level): expected a mapping of trial config sections")
        source = args.trial
    for key, value in parse_overrides(args.set):
        try:
            set_dotted(tree, key, value)
        except KeyError:
            raise BadInput(f"--set {key}: goes through a value that is not a section") from None
    try:
        return TrialConfig.model_validate(tree), source
    except ValidationError as exc:
        raise from_validation(exc, source, TrialConfig) from None


def cmd_train(args: argparse.Namespace) -> int:
    config, source = trial_config(args)
    from orchestrator.preflight import check_inputs
    from orchestrator.train_output import epoch_line, final_tables
    from trainers import FINISHED, run_trial

    check_inputs([config], source)
    last: dict = {}

    def report(epoch: int, metrics: dict[str, float]) -> None:
        print(epoch_line(epoch, metrics), flush=True)
        if any(k.endswith("/nc1") for k in metrics):
            last.update(epoch=epoch, metrics=metrics)

    status = run_trial(config, report)
    if last:
        print(final_tables(last["epoch"], last["metrics"]))
    print(status)
    return OK if status == FINISHED else TRIAL_FAILED


def parse_pack(text: str | None) -> list[int]:
    """--pack 1,2,4 -> [1, 2, 4]."""
    parts = text.split(",") if text else []
    if not all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        raise BadInput(f"--pack {text}: expected numbers of copies >= 1, e.g. 1,2,4")
    return [int(p) for p in parts]


def cmd_bench(args: argparse.Namespace) -> int:
    import tempfile

    from trainers.bench.report import BENCH_DATA, BENCH_TRIAL, print_table, run_bench, write_json

    config, source = trial_config(args, None if args.trial else BENCH_TRIAL)
    pack = parse_pack(args.pack)
    cpus = args.cpus or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="ncsweep-bench-") as scratch:
        if config.data.name == "cifar10" and config.data.root is None:
            # No data given: random pixels in the real file format (a step costs the same).
            from trainers.bench.cifar_files import write_random_cifar10

            write_random_cifar10(Path(scratch), *BENCH_DATA[args.quick])
            config = config.model_copy(update={"data": config.data.model_copy(update={"root": scratch})})
        from orchestrator.preflight import check_inputs

        check_inputs([config], source)
        result = run_bench(config, args.reference, pack, args.quick, cpus, say=lambda line: print(line, flush=True))
    print_table(result)
    write_json(result, Path(args.json))
    print(f"JSON:     {args.json}")
    return OK


def cmd_analyze(args: argparse.Namespace) -> int:
    from analysis.compare import MissingReference
    from analysis.export import NoRuns, export
    from orchestrator.results_output import parse_formats, print_files, print_results
    from orchestrator.tracking_uri import resolve_tracking_uri

    formats = parse_formats(args.format)
    uri = resolve_tracking_uri(args.tracking_uri, None)
    try:
        exported = export(uri, args.experiment, Path(args.out), args.parent, references=args.reference, claims=args.claims or None, include_stopped=args.include_stopped)
    except NoRuns as exc:
        raise BadInput(f"--experiment {args.experiment}: {exc}") from None
    except MissingReference as exc:
        raise BadInput(f"--reference: {exc}") from None
    print_results(exported, args.per_trial)
    print()
    print_files(exported)
    if args.include_stopped:  # the paper's tables too count the trials a scheduler stopped
        from dataclasses import replace

        from analysis.paper import counting_stopped

        exported = replace(exported, trials=counting_stopped(exported.trials))
    if args.paper:
        from analysis.publish import publish_paper

        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per trial otherwise

        outputs = publish_paper(uri, exported, Path(args.out))
        print("Tables:   " + "\n          ".join(map(str, outputs.tables)))
        print("Figures:  " + ("\n          ".join(map(str, outputs.figures)) or "(nothing to draw)"))
        if outputs.logged_to:
            print(f"MLflow:   figures logged under {outputs.logged_to[0]}/figures")
        elif outputs.figures:
            print("MLflow:   figures not logged (several sweeps; pass --parent RUN_ID to pick one)")
    if formats:
        from analysis.formats import write_formats
        from analysis.paper import paper_tables

        tables = {**exported.summary_tables(), **(paper_tables(exported.trials) if args.paper else {})}
        print("Pasted:   " + "\n          ".join(map(str, write_formats(tables, Path(args.out), formats))))
    return OK


def cmd_list(args: argparse.Namespace) -> int:
    from orchestrator.listing import FAMILIES, print_family

    unknown = [w for w in args.what if w not in FAMILIES]
    if unknown:
        raise BadInput(f"list {unknown[0]}: unknown; allowed: {', '.join(FAMILIES)}")
    for family in args.what or FAMILIES:
        print_family(family, args.markdown)
    return OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ncsweep", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a sweep file; print the trial count and the varied parameters")
    p.add_argument("sweep")
    p.add_argument("--no-data-check", action="store_true", help="only check the file (e.g. one meant for a cluster)")
    p.add_argument("--cluster", metavar="gpus=N,cpus=N", help="say how many trials such a cluster runs at once")
    p.add_argument("--bench", metavar="BENCH.json", help="with --cluster: estimate the wall time and GPU hours from what `ncsweep bench` measured")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="run a sweep on Ray Tune (local, or the cluster in RAY_ADDRESS)")
    p.add_argument("sweep")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: spec, MLFLOW_TRACKING_URI, ./mlflow.db)")
    p.add_argument("--storage", default=DEFAULT_STORAGE, help=f"Tune results, checkpoints, Parquet: a folder every node sees, or s3://... (default ./{DEFAULT_STORAGE})")
    p.add_argument("--max-concurrent", type=int, help="at most this many trials at once")
    p.add_argument("--wait-for-resources", action="store_true", help="start even when no node can hold a trial yet (an autoscaling cluster will add one)")
    p.add_argument("--verbose", action="store_true", help="also Ray Tune's own console output (configuration box, trial tables)")
    p.add_argument("--per-trial", action="store_true", help="summary: one row per trial even for a sweep with seeds (always in trials.parquet)")
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
    p.add_argument("--tracking-uri", help="MLflow tracking URI the cluster can reach (default: spec, MLFLOW_TRACKING_URI, ./mlflow.db)")
    p.add_argument("--storage", default=CLUSTER_STORAGE, help=f"Tune storage on the cluster: shared folder or s3://... (default {CLUSTER_STORAGE} on the head)")
    p.add_argument("--max-concurrent", type=int, help="at most this many trials at once")
    p.add_argument("--wait-for-resources", action="store_true", help="let the job wait for nodes an autoscaler will add (else a trial no node can hold is exit 2)")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("jobs", help="status, logs or stop of a submitted sweep")
    p.add_argument("action", choices=["status", "logs", "stop"])
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--address", help="Ray dashboard URL (default $RAY_API_SERVER_ADDRESS)")
    p.add_argument("--follow", action="store_true", help="logs: stream until the job ends")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("list", help="the registered losses, classifier heads, models, datasets and metrics, with their own keys")
    p.add_argument("what", nargs="*", metavar="losses|classifiers|models|datasets|metrics")
    p.add_argument("--markdown", action="store_true", help="metrics: as the README's Markdown table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="run one trial in this process (no Ray, no MLflow)")
    p.add_argument("trial", nargs="?", help="a YAML file of trial config sections")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="dotted override, e.g. loss.name=bce")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("bench", help="training images/s on this device: vs the official loader, bf16/channels_last/compile, packed copies")
    p.add_argument("trial", nargs="?", help="a YAML file of trial config sections (default: CIFAR-10 ResNet-18, batch 128)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="dotted override, e.g. train.batch_size=256")
    p.add_argument("--pack", metavar="N,N,...", help="also N copies at once on the device, e.g. 1,2,4 (as Ray packs trials with gpu: 1/N)")
    p.add_argument("--reference", action="store_true", help="also the official code's loader (torchvision Dataset + DataLoader) and the ratio")
    p.add_argument("--quick", action="store_true", help="fewer steps and a smaller data file (minutes on a CPU)")
    p.add_argument("--cpus", type=int, help="CPUs a trial gets: loader workers and CPU threads (default: this machine's)")
    p.add_argument("--json", default="ncsweep_bench.json", help="where to write the table (default ./ncsweep_bench.json)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("analyze", help="MLflow runs -> trials.parquet and epochs.parquet (--paper: tables, figures)")
    p.add_argument("--experiment", required=True)
    p.add_argument("--parent", help="only the trials of this parent (sweep) run")
    p.add_argument("--out", required=True)
    p.add_argument("--tracking-uri")
    p.add_argument("--paper", action="store_true", help="also the paper's tables (Parquet) and figures (PNG)")
    p.add_argument("--reference", action="append", metavar="LOSS", help="compare every loss against this one (repeat for several; default ce and bce where present)")
    p.add_argument("--include-stopped", action="store_true", help="count trials a scheduler stopped early in the final-epoch tables (at the epoch they stopped)")
    p.add_argument("--claims", action="store_true", help="the paper's claims table even when the runs vary none of its axes")
    p.add_argument("--per-trial", action="store_true", help="summary: one row per trial even for a sweep with seeds")
    p.add_argument("--format", metavar="md,latex", help="also every summary table as Markdown and/or LaTeX (mean ± CI, best per column in bold)")
    p.set_defaults(func=cmd_analyze)

    from orchestrator.tuning import add_parser as add_tune

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


if __name__ == "__main__":
    sys.exit(main())
