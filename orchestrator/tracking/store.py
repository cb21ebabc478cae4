"""The MLflow tracking store as a remote service: is it there before a sweep starts, and riding out
an outage while one runs.

Only the driver talks to MLflow (trials report to Tune), so a store outage never stops training: the
driver's writes wait in a journal on disk (journal.py) whose writer retries with `with_backoff`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from orchestrator.errors import BadInput

T = TypeVar("T")

# MLflow's own error codes for "try again" (its REST client wraps connection failures as
# INTERNAL_ERROR); anything else, e.g. INVALID_PARAMETER_VALUE, is a bug and is raised at once.
TRANSIENT_CODES = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED"}
RETRY_ENV = "NCSWEEP_TRACKING_RETRY_S"  # give up on the store after waiting this long (default 30 min)
MAX_WAIT_ENV = "NCSWEEP_TRACKING_MAX_WAIT_S"  # the longest single wait between tries (default 60 s)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, MlflowException):
        return exc.error_code in TRANSIENT_CODES
    return isinstance(exc, (requests.RequestException, ConnectionError, TimeoutError))


def with_backoff(
    call: Callable[[], T],
    what: str,
    give_up_after_s: float | None = None,
    first_wait_s: float = 1.0,
    max_wait_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    waiting: Callable[[], int] | None = None,
    say: Callable[[str], None] | None = None,
) -> T:
    """`call()`, retried on transient store errors with exponential backoff (1, 2, 4 ... up to
    `max_wait_s`, default $NCSWEEP_TRACKING_MAX_WAIT_S or 60 s) until the waits would add up to more
    than `give_up_after_s` (default $NCSWEEP_TRACKING_RETRY_S or 1800 s); then the last error is raised.

    An outage is said twice, one line each: when the store stops answering and when it answers again
    (with how many writes `waiting` says are queued behind this one), never once per retry.

    A retried write must be idempotent: callers retry the same Metric objects (same timestamp and
    step), which MLflow stores once.
    """
    budget = give_up_after_s if give_up_after_s is not None else float(os.environ.get(RETRY_ENV, 1800))
    longest = max_wait_s if max_wait_s is not None else float(os.environ.get(MAX_WAIT_ENV, 60))
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    queued = (lambda: f"; {waiting()} more writes wait in the queue") if waiting else (lambda: "")
    wait, waited = min(first_wait_s, longest), 0.0
    while True:
        try:
            result = call()
        except Exception as exc:  # noqa: BLE001 - classified just below
            if not is_transient(exc) or waited + wait > budget:
                raise
            if waited == 0:
                reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
                say(
                    f"MLflow store stopped answering while {what} ({reason}){queued()}; retrying with backoff, "
                    f"up to {budget:.0f} s"
                )
            sleep(wait)
            waited += wait
            wait = min(wait * 2, longest)
            continue
        if waited:
            say(f"MLflow store answers again after {waited:.0f} s ({what}){queued()}")
        return result


def new_sqlite_file(uri: str) -> Path | None:
    """The file of a `sqlite:///` store that does not exist yet, else None."""
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(uri.removeprefix("sqlite:///").split("?")[0])
    return None if path.exists() else path


def check_reachable(uri: str, source: str) -> None:
    """Raise BadInput naming `source` (where the URI came from) when the store cannot be used.

    An http(s) server is asked for its /health page with a short timeout: MLflow's client would
    otherwise retry a refused connection for minutes before saying anything. A sqlite store that
    does not exist yet needs only a writable folder: creating its tables takes seconds, which the
    runner spends while Ray starts (runner.open_store_while_ray_starts).
    """
    new = new_sqlite_file(uri)
    if new is not None:
        folder = new.parent.resolve()
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise BadInput(
                f"{source} {uri}: cannot open the MLflow tracking store ({folder} is not a writable folder). No "
                "trial was started."
            )
        return
    try:
        if uri.startswith(("http://", "https://")):
            response = requests.get(uri.rstrip("/") + "/health", timeout=10)
            if response.status_code != 200:
                raise BadInput(
                    f"{source} {uri}: the MLflow server answered HTTP {response.status_code} on /health; check the URI"
                )
        MlflowClient(uri).search_experiments(max_results=1)
    except BadInput:
        raise
    except requests.RequestException as exc:
        reason = type(exc).__name__.replace("Error", " error").strip()
        raise BadInput(
            f"{source} {uri}: the MLflow tracking server is not reachable ({reason}); start it (mlflow server "
            "--host 127.0.0.1 --port 5000) or pass a reachable --tracking-uri. No trial was started."
        ) from None
    except Exception as exc:  # noqa: BLE001 - a store we cannot open is bad input, whatever the cause
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise BadInput(
            f"{source} {uri}: cannot open the MLflow tracking store ({first}). No trial was started."
        ) from None
