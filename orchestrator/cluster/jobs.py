"""Sweeps as Ray Jobs: `ncsweep submit` ships the project to the cluster and runs `ncsweep run`
there as the job's driver, so the sweep outlives the laptop that submitted it.

Everything here goes through Ray's JobSubmissionClient (the dashboard's REST API on :8265). With
token authentication on (RAY_AUTH_MODE=token), the client sends the token from RAY_AUTH_TOKEN,
RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import time
from pathlib import Path

from orchestrator.cluster.ray_token import token_path, warn_if_readable
from orchestrator.errors import BadInput

# Never uploaded: environments, local results and stores, caches (Ray also honours .gitignore).
EXCLUDES = [
    ".git",
    ".venv",
    "venv",
    "ncsweep_results",
    "ray_results",
    "mlruns",
    "mlartifacts",
    "mlflow.db",
    "*.parquet",
    "__pycache__",
    ".pytest_cache",
    "*.egg-info",
    "docs/*.png",
]
# Forwarded so the job's driver can log to an MLflow server that wants credentials.
FORWARDED_ENV = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_INSECURE_TLS",
)
ADDRESS_ENV = "RAY_API_SERVER_ADDRESS"  # the variable `ray job` reads too
AGENT_WAIT_S = 120


def project_root() -> Path:
    """The folder uploaded as the job's working_dir: the source tree this ncsweep runs from."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def dashboard_address(address: str | None) -> str:
    address = address or os.environ.get(ADDRESS_ENV)
    if not address:
        raise BadInput(
            f"--address: missing; give the Ray dashboard, e.g. --address http://HEAD:8265 (or set {ADDRESS_ENV})"
        )
    if not address.startswith(("http://", "https://")):
        raise BadInput(f"--address {address}: expected the dashboard's http(s) URL, e.g. http://HEAD:8265 (not ray://)")
    return address.rstrip("/")


AUTH_WORDS = ("authentication", "unauthorized", "forbidden", "token", "401", "403")


def _token_available() -> tuple[str, str] | None:
    """(where from, token): RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token, in the
    order Ray's own client reads them."""

    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN", os.environ["RAY_AUTH_TOKEN"].strip()
    for path in dict.fromkeys([token_path(), Path.home() / ".ray" / "auth_token"]):
        if path.is_file():
            warn_if_readable(path)
            return str(path), path.read_text().strip()
    return None


def client(address: str | None):
    """A JobSubmissionClient for the dashboard. A head that demands a token gets the one found in
    RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token, even when RAY_AUTH_MODE is not set
    here; with none, the message names the variable to set."""
    from ray.job_submission import JobSubmissionClient

    address = dashboard_address(address)
    try:
        return JobSubmissionClient(address)
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, or auth: one message, nothing submitted
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    demands_token = any(word in first.lower() for word in AUTH_WORDS)
    found = _token_available()
    source = found[0] if found else None
    if demands_token and found and os.environ.get("RAY_AUTH_MODE") != "token":
        # Ray's client sends its token only with RAY_AUTH_MODE=token: send it ourselves.
        try:
            return JobSubmissionClient(address, headers={"Authorization": f"Bearer {found[1]}"})
        except Exception as exc:  # noqa: BLE001
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    if demands_token:
        hint = (
            f"the token from {source} was refused; set RAY_AUTH_TOKEN to the cluster's token"
            if source
            else "the head demands a token: set RAY_AUTH_TOKEN to the cluster's token (or RAY_AUTH_TOKEN_PATH "
            "to a file holding it)"
        )
        raise BadInput(f"--address {address}: cannot reach the Ray dashboard ({first}); {hint}") from None
    raise BadInput(f"--address {address}: cannot reach the Ray dashboard ({first})") from None


def job_url(address: str, job_id: str) -> str:
    return f"{address}/#/jobs/{job_id}"


def entrypoint(
    sweep_file: Path, tracking_uri: str, storage: str, max_concurrent: int | None, wait_for_resources: bool = False
) -> str:
    """The job's driver command, run in the uploaded copy of the project (so `-m` imports it)."""
    root = project_root()
    try:
        relative = sweep_file.resolve().relative_to(root)
    except ValueError:
        raise BadInput(
            f"{sweep_file}: outside the project folder {root} that is uploaded to the cluster; move it under {root}"
        ) from None
    args = [
        "python",
        "-m",
        "orchestrator.cli",
        "run",
        relative.as_posix(),
        "--tracking-uri",
        tracking_uri,
        "--storage",
        storage,
    ]
    if max_concurrent:
        args += ["--max-concurrent", str(max_concurrent)]
    if wait_for_resources:
        args.append("--wait-for-resources")
    return shlex.join(args)


def submit(address: str | None, command: str, sweep_name: str) -> tuple[str, str]:
    jobs = client(address)
    runtime_env = {
        "working_dir": str(project_root()),
        "excludes": EXCLUDES,
        "env_vars": {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ},
    }
    # A head that has just started answers before its job agent is up ("No available agent to
    # submit job, please try again later"): wait for it rather than fail.
    deadline = time.monotonic() + AGENT_WAIT_S
    while True:
        try:
            job_id = jobs.submit_job(
                entrypoint=command, runtime_env=runtime_env, metadata={"ncsweep.sweep": sweep_name}
            )
            return job_id, job_url(jobs.get_address(), job_id)
        except RuntimeError as exc:
            if "try again later" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(2)


def outcome_code(info) -> int:
    """The job's driver exit code when it has one (0 all finished, 1 a trial failed, 2 bad input on
    the cluster), else 0 for SUCCEEDED and 1 for FAILED or STOPPED."""
    status = str(info.status)
    if status.endswith("SUCCEEDED"):
        return 0
    code = getattr(info, "driver_exit_code", None)
    return code if isinstance(code, int) and code > 0 else 1


def follow(address: str | None, job_id: str, jobs=None) -> int:
    """Stream the job's logs until it ends; return outcome_code of the job."""
    jobs = jobs or client(address)

    async def tail() -> None:
        async for lines in jobs.tail_job_logs(job_id):
            sys.stdout.write(lines)
            sys.stdout.flush()

    try:
        asyncio.run(tail())
    except KeyboardInterrupt:
        print(
            f"\nstopped following; the job goes on. Stop it with: ncsweep jobs stop {job_id} --address "
            f"{jobs.get_address()}"
        )
        return 130
    info = jobs.get_job_info(job_id)
    print(f"job {job_id}: {info.status}" + (f" ({info.message})" if info.message else ""), flush=True)
    return outcome_code(info)


def status(address: str | None, job_id: str) -> int:
    info = _info(client(address), job_id)
    print(f"{job_id}: {info.status}" + (f"  {info.message}" if info.message else ""))
    return 0


def logs(address: str | None, job_id: str, tail: bool) -> int:
    jobs = client(address)
    _info(jobs, job_id)
    if tail:
        return follow(address, job_id, jobs)
    sys.stdout.write(jobs.get_job_logs(job_id))
    return 0


def stop(address: str | None, job_id: str) -> int:
    jobs = client(address)
    _info(jobs, job_id)
    stopped = jobs.stop_job(job_id)
    print(f"{job_id}: " + ("stop requested" if stopped else f"already {jobs.get_job_status(job_id)}"))
    return 0


def _info(jobs, job_id: str):
    try:
        return jobs.get_job_info(job_id)
    except RuntimeError as exc:
        if "does not exist" in str(exc) or "404" in str(exc):
            raise BadInput(f"JOB_ID {job_id}: no such job on {jobs.get_address()}") from None
        raise
