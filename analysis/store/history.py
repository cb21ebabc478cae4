"""A trial's whole metric history as one Parquet artifact, written by the tracker when the trial
ends and read by the exporter; and the same histories read from the tracking store, in bulk, for
the runs that have no such artifact.

Why: reading histories through `get_metric_history` costs one call per run per metric (65 metrics x
1,000 trials = 65,000 calls, each a network round trip against a tracking server). One artifact per
run is one download. Runs without it (interrupted, logged by an older ncsweep, or a store copied
without its artifact folder) are read from the tracking store one metric at a time for many runs
at once (store_histories), so such stores export the same tables, in seconds.

Format: an int64 `epoch` column and one float64 column per metric key; null where a metric was not
logged at that epoch (NC metrics every n epochs), NaN where NaN was logged (a residual without a
bias): the exporter then sees exactly what the per-metric histories hold.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from analysis.store.layout import BEST_PREFIX, HISTORY_ARTIFACT, HISTORY_TAG

History = dict[int, dict[str, float]]  # epoch -> {metric key: value}
SQL_RUNS = 500  # runs per query on an SQL store (bound variables: SQLite allows 32766)
REST_RUNS, REST_POINTS = 100, 25_000  # an MLflow server's limits per get-history-bulk request
REST_PARALLEL = 8  # requests in flight: a server with several workers answers them at once
REST_BULK = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"


def to_table(history: History) -> pa.Table:
    epochs = sorted(history)
    keys = sorted({k for values in history.values() for k in values})
    columns = {"epoch": pa.array(epochs, pa.int64())}
    for key in keys:
        columns[key] = pa.array([history[e].get(key) for e in epochs], pa.float64())
    return pa.table(columns)


def from_table(table: pa.Table) -> History:
    out: History = {}
    for row in table.to_pylist():
        epoch = int(row.pop("epoch"))
        out[epoch] = {k: v for k, v in row.items() if v is not None}
    return out


def log_history(client, run_id: str, history: History) -> None:
    """Write the artifact, then the tag that says it is complete (a reader trusts only tagged runs)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / HISTORY_ARTIFACT
        pq.write_table(to_table(history), path)
        client.log_artifact(run_id, str(path))
    client.set_tag(run_id, HISTORY_TAG, HISTORY_ARTIFACT)


class ArtifactGone(FileNotFoundError):
    """The run's tag names a history artifact that is not in the artifact store."""


def read_history(client, run, scratch: Path) -> History | None:
    """The run's history from its artifact, or None when it has none (read the tracking store).
    ArtifactGone when its tag names an artifact that is not there."""
    name = run.data.tags.get(HISTORY_TAG)
    if not name:
        return None
    from mlflow.artifacts import download_artifacts

    # From the run's artifact URI, known from the search: no get_run / list round trips; a file
    # store is read in place, a proxied store (mlflow-artifacts:/) costs one GET.
    uri = f"{run.info.artifact_uri.rstrip('/')}/{name}"
    try:
        local = download_artifacts(
            artifact_uri=uri, dst_path=str(scratch / run.info.run_id), tracking_uri=client.tracking_uri
        )
    except Exception as exc:  # noqa: BLE001 - MLflow raises its own, OSError or HTTP errors for a missing file
        raise ArtifactGone(f"{uri}: {exc}") from exc
    try:
        return from_table(pq.read_table(local))
    finally:
        Path(local).unlink(missing_ok=True)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rest_points(store, run_ids: list[str], key: str, size: int = REST_RUNS):
    """(run id, step, value) of `key` for these runs through the server's bulk endpoint; a chunk
    whose answer hits the server's cap is asked again in halves."""
    from mlflow.utils.rest_utils import http_request, verify_rest_response

    for chunk in _chunks(run_ids, size):
        params = [("run_id", run_id) for run_id in chunk] + [("metric_key", key), ("max_results", REST_POINTS)]
        response = verify_rest_response(
            http_request(store.get_host_creds(), REST_BULK, "GET", params=params), REST_BULK
        )
        points = response.json().get("metrics", [])
        if len(points) >= REST_POINTS and len(chunk) > 1:
            yield from _rest_points(store, chunk, key, max(1, len(chunk) // 2))
            continue
        for point in points:
            yield point["run_id"], int(point.get("step", 0)), float(point["value"])


def _sql_points(store, run_ids: list[str]):
    """(run id, key, step, value) of every metric of these runs from an SQL store's `metrics` table:
    the query MLflow's get_metric_history_bulk runs, for all keys of SQL_RUNS runs at once, as plain
    rows (MLflow's ORM objects cost ~30 us each: 95 s for 500 runs x 100 epochs x 65 metrics).
    NaN is stored as is_nan with a placeholder value, as MLflow itself reads it back."""
    import sqlalchemy as sa
    from mlflow.store.tracking.dbmodels.models import SqlMetric

    table = SqlMetric.__table__
    with store.engine.connect() as connection:
        for chunk in _chunks(run_ids, SQL_RUNS):
            query = (
                sa.select(table.c.run_uuid, table.c.key, table.c.step, table.c.value, table.c.is_nan)
                .where(table.c.run_uuid.in_(chunk))
                # a re-logged step: the last wins
                .order_by(table.c.run_uuid, table.c.key, table.c.timestamp, table.c.step)
            )
            for run_id, key, step, value, is_nan in connection.execute(query):
                yield run_id, key, step, math.nan if is_nan else value


def _points(store, run_ids: list[str], keys: list[str]):
    """(run id, key, step, value) of these metrics of these runs, in as few store calls as the store
    allows: one query per 500 runs on an SQL store, one request per metric and 100 runs on a
    server, one call per run and metric on a file store."""
    from mlflow.store.tracking.rest_store import RestStore

    if hasattr(store, "engine") and hasattr(store, "get_metric_history_bulk"):  # MLflow's SQL stores
        wanted = set(keys)
        yield from (point for point in _sql_points(store, run_ids) if point[1] in wanted)
    elif isinstance(store, RestStore):
        from concurrent.futures import ThreadPoolExecutor

        def fetch(job: tuple[str, list[str]]) -> list[tuple]:
            key, chunk = job
            return [(run_id, key, step, value) for run_id, step, value in _rest_points(store, chunk, key)]

        jobs = [(key, chunk) for key in keys for chunk in _chunks(run_ids, REST_RUNS)]
        with ThreadPoolExecutor(max_workers=REST_PARALLEL) as pool:
            for points in pool.map(fetch, jobs):
                yield from points
    else:
        for run_id in run_ids:
            for key in keys:
                yield from ((run_id, key, m.step, m.value) for m in store.get_metric_history(run_id, key))


def store_histories(client, runs) -> dict[str, History]:
    """run id -> its history (every metric a trial logs; the `best/` copies left out, they are
    recomputed from the history), read from the tracking store in bulk."""
    store = client._tracking_client.store  # MLflow's public client has no bulk history read
    out: dict[str, History] = {run.info.run_id: {} for run in runs}
    keys = sorted({key for run in runs for key in run.data.metrics if not key.startswith(BEST_PREFIX)})
    for run_id, key, step, value in _points(store, [run.info.run_id for run in runs], keys):
        if run_id in out:
            out[run_id].setdefault(int(step), {})[key] = value
    return out
