"""Parquet files with explicit pyarrow schemas: the trials and epochs tables typed from the config's
own values and the metric registry, and the summary tables with the dtypes they were built with."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.store.layout import SPLITS
from trainers.metrics import METRICS

TRIAL_FIELDS = [
    pa.field("run_id", pa.string()),
    pa.field("run_name", pa.string()),
    pa.field("sweep", pa.string()),
    pa.field("parent_run_id", pa.string()),
    pa.field("status", pa.string()),
    pa.field("wall_time_s", pa.float64()),
    pa.field("epochs", pa.int64()),
    pa.field("best_epoch", pa.int64()),
]


EPOCH_FIELDS = [pa.field("run_id", pa.string()), pa.field("run_name", pa.string()), pa.field("epoch", pa.int64())]


def _arrow_type(values: pd.Series) -> pa.DataType:
    present = [v for v in values.tolist() if v is not None and not (isinstance(v, float) and v != v)]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def metric_columns(columns: list[str]) -> list[str]:
    """The metric (`a/b`) columns in schema order: for each prefix (none, final/, best/) and split
    that the columns hold, `<prefix><split>/<key>` for every registered metric key in the
    registry's order (present or not), then every other metric column (layers, optim/, time/) sorted."""

    ordered: list[str] = []
    for prefix in ("", "final/", "best/"):
        for split in SPLITS:
            if any(c.startswith(f"{prefix}{split}/") for c in columns):
                ordered += [f"{prefix}{split}/{key}" for key in METRICS.keys()]
    return ordered + sorted(c for c in columns if "/" in c and c not in set(ordered))


def schema_for(frame: pd.DataFrame, fixed: list[pa.Field]) -> pa.Schema:
    """Fixed columns as declared; config columns typed from the config's own JSON values (int,
    float, bool, str; lists as JSON text), so dtypes never drift; metrics float64 (metric_columns)."""
    names = {f.name for f in fixed}
    fields = list(fixed)
    for column in frame.columns:
        if column not in names and "/" not in column:
            fields.append(pa.field(column, _arrow_type(frame[column])))
    fields += [
        pa.field(column, pa.float64()) for column in metric_columns([c for c in frame.columns if c not in names])
    ]
    return pa.schema(fields)


def write_parquet(frame: pd.DataFrame, path: Path, fixed: list[pa.Field]) -> Path:
    schema = schema_for(frame, fixed)
    table = pa.Table.from_pandas(frame.reindex(columns=schema.names), schema=schema, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def write_typed(table: pd.DataFrame, path: Path) -> Path:
    """A table whose columns are typed already (float64 statistics, int64 counts, str keys), written
    with those dtypes: typing from the values (write_parquet) would make an all-NaN interval
    column, one seed's, a string column."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path)
    return path
