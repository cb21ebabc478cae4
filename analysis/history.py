"""A trial's whole metric history as one Parquet artifact, written by the tracker when the trial
ends and read by the exporter.

Why: reading histories through `get_metric_history` costs one call per run per metric (45 metrics x
1,000 trials = 45,000 calls, each a network round trip against a tracking server). One artifact per
run is one download. Runs without it (interrupted, or logged by an older ncsweep) fall back to the
per-metric histories, so old stores still export the same tables.

Format: an int64 `epoch` column and one float64 column per metric key; null where a metric was not
logged at that epoch (NC metrics every n epochs), NaN where NaN was logged (a residual without a
bias): the exporter then sees exactly what the per-metric histories hold.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from analysis.runs import HISTORY_ARTIFACT, HISTORY_TAG

History = dict[int, dict[str, float]]  # epoch -> {metric key: value}


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


def read_history(client, run, scratch: Path) -> History | None:
    """The run's history from its artifact, or None when it has none (read the metric histories)."""
    name = run.data.tags.get(HISTORY_TAG)
    if not name:
        return None
    from mlflow.artifacts import download_artifacts

    # From the run's artifact URI, known from the search: no get_run / list round trips; a file
    # store is read in place, a proxied store (mlflow-artifacts:/) costs one GET.
    uri = f"{run.info.artifact_uri.rstrip('/')}/{name}"
    local = download_artifacts(artifact_uri=uri, dst_path=str(scratch / run.info.run_id), tracking_uri=client.tracking_uri)
    try:
        return from_table(pq.read_table(local))
    finally:
        Path(local).unlink(missing_ok=True)
