"""`ncsweep slurm` against a real one-node Slurm (Debian's `slurm-wlm` and `munge`): munged,
slurmctld and slurmd started by this module with their own state folders, ports and key, stopped by
their PIDs. Skipped with its reason where Slurm is not installed (`.ci/run` installs it) or where
this is not root (slurmd launches jobs as their users)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from clusterkit import BIN, Runs, clean_env, slow_sweep
from conftest import free_port

pytestmark = pytest.mark.integration
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol")


def missing() -> str:
    absent = [d for d in DAEMONS if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()]
    if absent:
        return f"Slurm is not installed ({', '.join(absent)} missing; apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "slurmd must run as root to launch jobs"
    return ""


def program(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A one-node cluster of this machine; yields the environment its commands need (SLURM_CONF)."""
    why = missing()
    if why:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("slurm")
    for folder in ("state", "spool", "munge"):
        (root / folder).mkdir()
    (root / "munge").chmod(0o711)
    key = root / "munge" / "key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    socket_path = root / "munge" / "sock"
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=ncsweeptest",
                f"SlurmctldHost={host}(127.0.0.1)",
                f"SlurmctldPort={free_port()}",
                f"SlurmdPort={free_port()}",
                "SlurmUser=root",
                "SlurmdUser=root",
                "AuthType=auth/munge",
                f"AuthInfo=socket={socket_path}",
                "CredType=cred/munge",
                f"StateSaveLocation={root / 'state'}",
                f"SlurmdSpoolDir={root / 'spool'}",
                f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                f"SlurmdPidFile={root / 'slurmd.pid'}",
                f"SlurmctldLogFile={root / 'slurmctld.log'}",
                f"SlurmdLogFile={root / 'slurmd.log'}",
                # No cgroups in a container: processes are tracked by parent PID (what a user's Ray escapes
                # when `ray start` daemonizes; ncsweep's `--block` steps do not).
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "ReturnToService=2",
                "MpiDefault=none",
                "KillWait=20",
                f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN",
                "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            ]
        )
        + "\n"
    )
    env = clean_env(SLURM_CONF=str(conf))
    munge = [program("munged"), "-F", "--force", f"--key-file={key}", f"--socket={socket_path}"]
    munge += [f"--pid-file={root / 'munge' / 'pid'}", f"--log-file={root / 'munge' / 'log'}"]
    munge += [f"--seed-file={root / 'munge' / 'seed'}"]
    daemons = []
    try:
        for args in (
            munge,
            [program("slurmctld"), "-D", "-i", "-f", str(conf)],
            [program("slurmd"), "-D", "-N", host, "-f", str(conf)],
        ):
            with open(root / f"{Path(args[0]).name}.out", "w") as out:
                daemons.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env))
            time.sleep(0.5)
        deadline = time.time() + 60
        while "idle" not in subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True).stdout:
            if time.time() > deadline:
                raise RuntimeError((root / "slurmctld.log").read_text()[-3000:])
            time.sleep(0.5)
        yield env
    finally:
        for daemon in reversed(daemons):  # by PID, the order they came in reversed
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()


def submit(env: dict, sweep: Path, tmp_path: Path, *extra: str) -> tuple[str, Path]:
    """`ncsweep slurm SWEEP` (no --follow) from `tmp_path` (its store and jobs there): the job id
    and the job's output file."""
    tmp_path.mkdir(exist_ok=True)
    out = subprocess.run(
        [str(BIN / "ncsweep"), "slurm", str(sweep), "--storage", str(tmp_path / "jobs"), *extra]
        + ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    job = re.search(r"as Slurm job (\d+)", out.stdout).group(1)
    return job, Path(re.search(r"Output:\s+(\S+)", out.stdout).group(1))


def job_gone(env: dict, job: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while subprocess.run(["squeue", "-h", "-j", job], env=env, capture_output=True, text=True).stdout.strip():
        assert time.time() < deadline, f"job {job} still queued"
        time.sleep(1)


def rays_of(job: str) -> list[psutil.Process]:
    """Processes of this job's Ray: their command lines name its private temporary folder."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if any(f"ncsweep-ray-{job}-" in part for part in p.info["cmdline"] or []):
            found.append(p)
    return found


def requeue_now(env: dict, job: str) -> None:
    """Requeue `job` as a preemption does; Slurm then holds it back for two minutes (its
    BeginTime), which the test need not wait for."""
    subprocess.run(["scontrol", "requeue", job], env=env, check=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        state = subprocess.run(["squeue", "-h", "-j", job, "-o", "%t"], env=env, capture_output=True, text=True)
        if state.stdout.strip() == "PD":
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=env, capture_output=True)
            return
        time.sleep(0.5)


def test_requeue_resumes_each_trial_once_and_scancel_leaves_no_ray_and_a_resumable_folder(slurm, tmp_path):
    """Two jobs at once on the one node: A (--requeue) is requeued mid-sweep, resumes and finishes
    each trial once; B is cancelled mid-sweep: no process of its Ray is left, its results folder
    can be resumed."""
    env = {**slurm, "HOME": str(tmp_path / "home")}
    sweeps = {name: slow_sweep(tmp_path / f"{name}.yaml", name, seeds=(0,)) for name in ("requeue", "cancel")}
    a, a_out = submit(env, sweeps["requeue"], tmp_path / "a", "--requeue")
    b, b_out = submit(env, sweeps["cancel"], tmp_path / "b")
    a_runs = Runs(f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}", "test-requeue")
    b_runs = Runs(f"sqlite:///{tmp_path / 'b' / 'mlflow.db'}", "test-cancel")
    b_runs.wait(lambda children: any(len(b_runs.epochs(r)) >= 1 for r in children), 240, "an epoch", log=b_out)
    assert rays_of(b)  # the job's own Ray runs
    subprocess.run(["scancel", b], env=env, check=True)
    a_runs.wait(lambda children: any(len(a_runs.epochs(r)) >= 2 for r in children), 240, "two epochs", log=a_out)
    requeue_now(env, a)
    job_gone(env, b, 120)
    deadline = time.time() + 30
    while rays_of(b) and time.time() < deadline:
        time.sleep(0.5)
    assert not rays_of(b), [p.info["cmdline"][:3] for p in rays_of(b)]
    results = [p.parent for p in (b_out.parent / "results").glob("*/ncsweep_run.json")]
    assert len(results) == 1 and list(results[0].glob("experiment_state*.json")), b_out.read_text()[-3000:]
    job_gone(env, a, 400)
    text = a_out.read_text()
    assert "ncsweep slurm: resuming" in text and "the driver exited 0" in text, text[-3000:]
    a_runs.assert_complete({"ce-s0", "bce-s0"})  # one child run per trial, every epoch once
    assert not rays_of(a)
