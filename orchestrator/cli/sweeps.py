"""`ncsweep validate`, `run` and `resume`: a sweep file checked, run on Ray, continued."""

from __future__ import annotations

import argparse
import os
import sys

from orchestrator.errors import OK, BadInput
from orchestrator.sweep.spec import load_sweep


def cmd_validate(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.sweep)
    search = sweep.spec.search
    if search is None:
        print(f"{args.sweep}: {sweep.total} trials")
    else:
        points = len(sweep.points())
        print(
            f"{args.sweep}: {sweep.total} trials ({points} points x {search.num_samples} {search.algorithm} "
            f"samples x {len(sweep.spec.seeds)} seeds)"
        )
    for key, values in sweep.varied().items():
        print(f"  {key}: {', '.join(map(str, values))}")
    if search is not None:
        print(f"search space (judged on {search.metric}, {search.mode}; seed {search.seed}):")
        for key, distribution in search.space.items():
            print(f"  {key}: {distribution.describe()}")
        if sweep.spec.scheduler is not None:
            asha = sweep.spec.scheduler
            print(
                f"early stopping: ASHA, grace period {asha.grace_period} epochs, reduction factor "
                f"{asha.reduction_factor:g}"
            )
    if args.bench and not args.cluster:
        raise BadInput("--bench: the estimate needs the cluster too, e.g. --cluster gpus=8,cpus=64")
    if args.cluster:
        from orchestrator.cluster.capacity import capacity, parse_cluster

        cluster = parse_cluster(args.cluster)
        res = sweep.spec.resources
        fit = capacity(
            res.cpu, res.gpu, cluster["cpus"], cluster.get("gpus", 0.0), sweep.total, sweep.spec.max_concurrent
        )
        if fit.at_once == 0:
            raise BadInput(
                f"{args.sweep}: resources (cpu {res.cpu:g}, gpu {res.gpu:g} per trial): no trial fits on "
                f"--cluster {args.cluster}"
            )
        print(
            f"on {args.cluster}: {fit.at_once} trials at once (limited by {fit.limited_by}; cpu {res.cpu:g}, "
            f"gpu {res.gpu:g} per trial), {fit.waves} waves"
        )
        if args.bench:
            from orchestrator.cluster.cost import estimate, load_bench
            from orchestrator.output.progress import format_duration

            cost = estimate(sweep, cluster, load_bench(args.bench))
            print(
                f"estimate: {format_duration(cost.wall_s)} wall time, {cost.trial_hours:.3g} trial hours, "
                f"{cost.gpu_hours:.3g} GPU hours (training and metrics passes; not the seconds each trial takes "
                "to start)"
            )
            for note in cost.notes:
                print(f"  {note}")
    sys.stdout.flush()
    if not args.no_data_check:
        from orchestrator.running.preflight import check_inputs  # torch and torchvision: only when needed

        check_inputs((t.config for t in sweep.trials), args.sweep)
    return OK


def cmd_run(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.sweep)  # every trial validated before anything starts (or imported)
    uri = ready_to_run(sweep, args)
    from orchestrator.cli.outcome import report_outcome
    from orchestrator.running.run import run_sweep

    outcome = run_sweep(sweep, uri, args.storage, args.max_concurrent, args.wait_for_resources, args.verbose)
    return report_outcome(sweep, uri, outcome, args.per_trial)


def ready_to_run(sweep, args: argparse.Namespace) -> str:
    """Everything `run` (and `tune`) checks before Ray starts: the data, that a trial fits this
    machine (a cluster is checked once joined), the tracking store answers; the caches warmed.
    Returns the tracking URI."""
    from orchestrator.running.preflight import check_inputs, warm_caches
    from orchestrator.tracking.store import check_reachable
    from orchestrator.tracking.uri import resolve_tracking_uri, tracking_uri_source

    check_inputs((t.config for t in sweep.trials), args.sweep)
    if not args.verbose:  # MLflow's store set-up lines ("Creating initial MLflow database tables...")
        import logging

        logging.getLogger("mlflow").setLevel(logging.WARNING)
    res = sweep.spec.resources
    if not args.wait_for_resources and not os.environ.get("RAY_ADDRESS"):
        from orchestrator.cluster.capacity import check_fits, local_node

        check_fits(res.cpu, res.gpu, [local_node(count_gpus=res.gpu > 0)], "this machine (a local Ray)", args.sweep)
    uri = resolve_tracking_uri(args.tracking_uri, sweep.spec.tracking_uri)
    # Before Ray starts: a dead server would otherwise show up only as the first trial reports.
    check_reachable(uri, tracking_uri_source(args.tracking_uri, sweep.spec.tracking_uri, sweep.path))
    warm_caches(t.config for t in sweep.trials)
    return uri


def cmd_resume(args: argparse.Namespace) -> int:
    from orchestrator.cli.outcome import report_outcome
    from orchestrator.running.preflight import check_inputs
    from orchestrator.running.run import resume_sweep
    from orchestrator.running.storage import normalize, read_run_info
    from orchestrator.sweep.spec import sweep_from_text
    from orchestrator.tracking.store import check_reachable

    results_dir = normalize(args.results_dir)
    info = read_run_info(results_dir)
    sweep = sweep_from_text(info.sweep_path, info.sweep_text)
    if sweep.spec.search is not None:
        raise BadInput(
            f"{results_dir}: sweep {sweep.spec.name!r} has a search, which cannot be resumed (its searcher's "
            "state is per point); run it again. Nothing was started."
        )
    check_inputs((t.config for t in sweep.trials), info.sweep_path)
    check_reachable(info.tracking_uri, f"{results_dir}: tracking store")
    outcome = resume_sweep(sweep, info, results_dir, args.verbose)
    return report_outcome(sweep, info.tracking_uri, outcome, args.per_trial)
