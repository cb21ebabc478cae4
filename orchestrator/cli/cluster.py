"""`ncsweep submit` and `ncsweep jobs`: a sweep as a Ray Job on a remote cluster; `ncsweep slurm`:
a sweep as a Slurm batch job with its own Ray."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator.errors import OK
from orchestrator.sweep.spec import load_sweep


def cmd_submit(args: argparse.Namespace) -> int:
    from orchestrator.cluster import jobs
    from orchestrator.tracking.uri import resolve_tracking_uri

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
    from orchestrator.cluster import jobs

    if args.action == "status":
        return jobs.status(args.address, args.job_id)
    if args.action == "logs":
        return jobs.logs(args.address, args.job_id, args.follow)
    return jobs.stop(args.address, args.job_id)


def cmd_slurm(args: argparse.Namespace) -> int:
    from orchestrator.cluster import slurm
    from orchestrator.tracking.uri import resolve_tracking_uri

    sweep = load_sweep(args.sweep)  # a bad file fails here, before anything is written
    uri = resolve_tracking_uri(args.tracking_uri, sweep.spec.tracking_uri)
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + str(Path(uri.removeprefix("sqlite:///")).resolve())  # the job runs elsewhere
    job = slurm.SlurmJob(
        Path(args.sweep).resolve(),
        args.nodes,
        args.gpus_per_node,
        args.cpus_per_task,
        args.partition,
        args.time,
        args.account,
        uri,
        args.requeue,
        (*sweep.spec.sbatch, *args.sbatch),
    )
    job.check()
    folder = slurm.job_folder(Path(args.storage).resolve(), job.sweep)
    script = slurm.write_script(job, folder)
    if args.dry_run:
        print(script.read_text(), end="")
        print(f"# written to {script}; submit it with: sbatch {script}")
        return OK
    job_id = slurm.submit(script)
    output = folder / f"slurm-{job_id}.out"
    print(f"Submitted sweep {sweep.spec.name!r} ({sweep.total} trials) as Slurm job {job_id}")
    print(f"Script:    {script}")
    print(f"Output:    {output}")
    if not args.follow:
        print(f"Follow:    tail -f {output}   (squeue -j {job_id}; stop: scancel {job_id}, resumable)")
        return OK
    return slurm.follow(job_id, output)
