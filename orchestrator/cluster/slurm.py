"""`ncsweep slurm`: a sweep as one Slurm batch job that starts its own Ray cluster across the
allocation, the way that survives a shared node (docs/slurm.md).

The batch script (written into the job's folder, shown by --dry-run) avoids each trap users of
Ray on Slurm report:
- a job-private RAY_TMPDIR and an explicit head address (never `address="auto"`, which can attach
  to another user's Ray on the node), and ports picked free on the node that binds them;
- Ray's nodes run as `ray start --block` inside `srun` steps, so Slurm's process tracking owns them
  (a daemonized `ray start` is re-parented to PID 1 and outlives `scancel`), and the job stops its
  own Ray by those steps' PIDs: never `ray stop`, which stops every Ray on the node;
- token auth with the job's own token file (mode 600), so another user's ~/.ray/auth_token or a
  default one neither locks the job out nor lets anyone else in;
- SIGTERM (scancel, and `--signal=B:TERM@120` before the time limit) reaches the driver, which ends
  the sweep as Ctrl-C does (exit 130, resumable); then the job stops its Ray. With --requeue, a job
  that Slurm requeues finds its results folder and runs `ncsweep resume` on it.
"""

from __future__ import annotations

import codecs
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import BadInput

TIME_PATTERN = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$")  # Slurm's [D-]HH[:MM[:SS]] or minutes
STOP_BEFORE_LIMIT_S = 120  # SIGTERM to the batch shell this long before the time limit


@dataclass(frozen=True)
class SlurmJob:
    """What `ncsweep slurm` was asked for."""

    sweep: Path
    nodes: int = 1
    gpus_per_node: int = 0
    cpus_per_task: int | None = None
    partition: str | None = None
    time: str | None = None
    account: str | None = None
    tracking_uri: str = ""
    requeue: bool = False
    sbatch: tuple[str, ...] = field(default_factory=tuple)  # extra #SBATCH options, e.g. --mail-type=END

    def check(self) -> None:
        """Bad input (exit 2) before anything is written or submitted."""
        if self.nodes < 1:
            raise BadInput(f"--nodes: {self.nodes} (allowed: 1 or more)")
        if self.gpus_per_node < 0:
            raise BadInput(f"--gpus-per-node: {self.gpus_per_node} (allowed: 0 or more)")
        if self.cpus_per_task is not None and self.cpus_per_task < 1:
            raise BadInput(f"--cpus-per-task: {self.cpus_per_task} (allowed: 1 or more)")
        if self.time is not None and not TIME_PATTERN.match(self.time):
            raise BadInput(f"--time: {self.time!r} (allowed: Slurm's minutes, HH:MM:SS or D-HH:MM:SS)")
        for line in self.sbatch:
            if not line.startswith("-") or "\n" in line:
                raise BadInput(f"--sbatch / slurm.sbatch: {line!r} (allowed: one sbatch option, e.g. --mail-type=END)")


def sbatch_lines(job: SlurmJob, folder: Path) -> list[str]:
    lines = [
        f"--job-name=ncsweep-{job.sweep.stem}",
        f"--nodes={job.nodes}",
        "--ntasks-per-node=1",  # one Ray node per Slurm node
        f"--output={folder / 'slurm-%j.out'}",
        f"--signal=B:TERM@{STOP_BEFORE_LIMIT_S}",  # the driver stops the sweep before the time limit does
        "--requeue" if job.requeue else "--no-requeue",
    ]
    if job.gpus_per_node:
        lines.append(f"--gpus-per-node={job.gpus_per_node}")
    optional = {"cpus-per-task": job.cpus_per_task, "partition": job.partition}
    optional |= {"time": job.time, "account": job.account}
    lines += [f"--{flag}={value}" for flag, value in optional.items() if value is not None]
    return [f"#SBATCH {line}" for line in [*lines, *job.sbatch]]


def batch_script(job: SlurmJob, folder: Path, bin_dir: Path) -> str:
    """The batch script of `job`, its files in `folder` (the job's own, on a filesystem every node
    sees); `bin_dir` holds the `ncsweep` and `ray` of this installation."""
    q = shlex.quote
    results = folder / "results"
    header = "\n".join(["#!/bin/bash", *sbatch_lines(job, folder)])
    gpus = f"--num-gpus={job.gpus_per_node}"
    step_gpus = f" --gpus-per-node={job.gpus_per_node}" if job.gpus_per_node else ""  # the Ray steps see the GPUs
    body = f"""
# Written by `ncsweep slurm` ({time.strftime("%Y-%m-%d %H:%M:%S")}); docs/slurm.md explains every step.
set -uo pipefail
export PATH={q(str(bin_dir))}:$PATH
JOB={q(str(folder))}
RESULTS={q(str(results))}
export NCSWEEP_SLURM_JOB="$SLURM_JOB_ID"

# Ray of this job only: its temporary folder (short: Ray's socket paths must stay under 107 bytes),
# its own token (mode 600), an explicit address.
export RAY_TMPDIR=$(mktemp -d "/tmp/ncsweep-ray-$SLURM_JOB_ID-XXXX")
umask 077
python -c 'import secrets; print(secrets.token_hex(32))' > "$JOB/ray_token.$SLURM_JOB_ID"
umask 022
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$JOB/ray_token.$SLURM_JOB_ID"
unset RAY_ADDRESS RAY_AUTH_TOKEN

free_ports() {{  # N ports free on this node now
    python -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}}
start_ray() {{  # start_ray head|ADDRESS: one Ray node on this Slurm node, in the foreground (--block)
    read -r p1 p2 p3 p4 p5 p6 p7 p8 <<< "$(free_ports 8)"
    local ports="--node-manager-port=$p1 --object-manager-port=$p2 --dashboard-agent-grpc-port=$p3"
    ports="$ports --dashboard-agent-listen-port=$p4 --metrics-export-port=$p5 --runtime-env-agent-port=$p6"
    local cpus="${{SLURM_CPUS_PER_TASK:-$(nproc)}}"
    if [ "$1" = head ]; then
        exec ray start --head --node-ip-address="$HEAD_IP" --port="$HEAD_PORT" --dashboard-port="$p7" \\
            --ray-client-server-port="$p8" --temp-dir="$RAY_TMPDIR" --num-cpus="$cpus" {gpus} $ports --block
    fi
    exec ray start --address="$1" --temp-dir="$RAY_TMPDIR" --num-cpus="$cpus" {gpus} $ports --block
}}
export -f free_ports start_ray

HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
HEAD_IP=$(srun --nodes=1 --ntasks=1 -w "$HEAD_NODE" --overlap hostname --ip-address | awk '{{print $1}}')
HEAD_PORT=$(free_ports 1)
export HEAD_IP HEAD_PORT
ADDRESS="$HEAD_IP:$HEAD_PORT"
RAY_STEPS=()
stop_ray() {{  # this job's Ray only: its srun steps, by PID (never `ray stop`)
    for pid in "${{RAY_STEPS[@]}}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${{RAY_STEPS[@]}}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$RAY_TMPDIR" "$RAY_AUTH_TOKEN_PATH"
}}
DRIVER=""
on_term() {{  # scancel, the time limit, a requeue: the driver stops the sweep as Ctrl-C does
    echo "ncsweep slurm: SIGTERM, stopping the sweep (resumable)"
    [ -n "$DRIVER" ] && kill -TERM "$DRIVER" 2>/dev/null
}}
trap on_term TERM

srun --nodes=1 --ntasks=1 -w "$HEAD_NODE" --overlap{step_gpus} bash -c 'start_ray head' &
RAY_STEPS+=($!)
for _ in $(seq 120); do ray status --address="$ADDRESS" >/dev/null 2>&1 && break; sleep 1; done
if [ "$SLURM_JOB_NUM_NODES" -gt 1 ]; then
    srun --nodes=$((SLURM_JOB_NUM_NODES - 1)) --ntasks=$((SLURM_JOB_NUM_NODES - 1)) --exclude="$HEAD_NODE" \\
        --overlap{step_gpus} bash -c "start_ray $ADDRESS" &
    RAY_STEPS+=($!)
fi
for _ in $(seq 60); do  # every node joined (ray.init as a driver: the token and the explicit address)
    joined=$(python -c 'import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(sum(1 for n in ray.nodes() if n["Alive"]))' "$ADDRESS" 2>/dev/null | tail -n 1)
    [ "${{joined:-0}}" -ge "$SLURM_JOB_NUM_NODES" ] && break
    sleep 2
done
echo "ncsweep slurm: Ray at $ADDRESS, ${{joined:-0}} of $SLURM_JOB_NUM_NODES nodes"

export RAY_ADDRESS="$ADDRESS"
# A requeued job (preemption, --requeue) finds the folder its first start made and resumes it.
PREVIOUS=""
for d in "$RESULTS"/*/; do [ -f "$d/ncsweep_run.json" ] && PREVIOUS="$d"; done
if [ -n "$PREVIOUS" ]; then
    echo "ncsweep slurm: resuming $PREVIOUS (restart ${{SLURM_RESTART_COUNT:-0}})"
    ncsweep resume "$PREVIOUS" &
else
    ncsweep run {q(str(job.sweep))} --storage "$RESULTS" --tracking-uri {q(job.tracking_uri)} &
fi
DRIVER=$!
wait "$DRIVER"; CODE=$?
while kill -0 "$DRIVER" 2>/dev/null; do wait "$DRIVER"; CODE=$?; done  # a trapped signal ends `wait` early
trap - TERM
stop_ray
echo "ncsweep slurm: the driver exited $CODE"
exit "$CODE"
"""
    return header + "\n" + body


def job_folder(storage: Path, sweep: Path) -> Path:
    return storage / f"slurm-{sweep.stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_script(job: SlurmJob, folder: Path, bin_dir: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "job.sbatch"
    path.write_text(batch_script(job, folder, bin_dir or Path(sys.executable).parent))
    return path


def submit(script: Path) -> str:
    """sbatch the script; the job id."""
    if shutil.which("sbatch") is None:
        raise BadInput("sbatch not found: run `ncsweep slurm` on a Slurm login node (or use --dry-run)")
    out = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True, text=True)
    if out.returncode != 0:
        raise BadInput(f"sbatch refused {script}: {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout.strip().split(";")[0]


def job_state(job_id: str) -> str:
    """The job's state as squeue shows it (RUNNING, PENDING, ...); '' once it has left the queue."""
    out = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True)
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""


def follow(job_id: str, output: Path, poll_s: float = 2.0) -> int:
    """Print the job's output as it grows (only what is new: a day's output is not read again
    every poll) until the job leaves the queue; its exit code when Slurm says it (scontrol), else 0."""
    shown, decoder = 0, codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character may span two reads

    def show_new() -> None:
        nonlocal shown
        if output.exists():
            with open(output, "rb") as f:
                f.seek(shown)
                new = f.read()
            shown += len(new)
            print(decoder.decode(new), end="", flush=True)

    while job_state(job_id):
        show_new()
        time.sleep(poll_s)
    show_new()
    return exit_code(job_id)


def exit_code(job_id: str) -> int:
    out = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
    found = re.search(r"ExitCode=(\d+):(\d+)", out)
    return int(found.group(1)) if found else 0
