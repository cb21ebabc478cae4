"""MLflow runs -> two pandas tables -> Parquet with explicit pyarrow schemas.

trials.parquet: one row per trial (child run): ids, status, every config parameter as a typed
column (dotted names, e.g. `loss.name`), wall time, `final/<split>/<metric>` at the last epoch and
`best/<split>/<metric>` at the best-test-accuracy epoch (the paper's model selection).
epochs.parquet: one row per trial x epoch with every logged metric.

The metric columns follow the metric registry (trainers/metrics, read without torch): every
registered key of each split present, float64, in the registry's order, even where no run logged
it (an older store), so the schema of a sweep's tables does not depend on which runs it holds.
"""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from mlflow.tracking import MlflowClient

from analysis.runs import CONFIG_TAG, DISTRIBUTIONS_ARTIFACT, HISTORY_ARTIFACT, PARENT_TAG, SPLITS, STATUS_TAG, SWEEP_TAG, TRIAL_TAG

TRIAL_FIELDS = [
    pa.field("run_id", pa.string()), pa.field("run_name", pa.string()), pa.field("sweep", pa.string()),
    pa.field("parent_run_id", pa.string()), pa.field("status", pa.string()), pa.field("wall_time_s", pa.float64()),
    pa.field("epochs", pa.int64()), pa.field("best_epoch", pa.int64()),
]  # fmt: skip
EPOCH_FIELDS = [pa.field("run_id", pa.string()), pa.field("run_name", pa.string()), pa.field("epoch", pa.int64())]


READERS = 8  # history artifacts downloaded at once


class NoRuns(LookupError):
    """Nothing to export: no such experiment, or no trial runs under it / the parent."""


def child_runs(client: MlflowClient, experiment: str, parent_run_id: str | None = None) -> list:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise NoRuns(f"no MLflow experiment named {experiment!r} at {client.tracking_uri}")
    query = f"tags.`{PARENT_TAG}` = '{parent_run_id}'" if parent_run_id else f"tags.`{TRIAL_TAG}` LIKE '%'"
    runs, token = [], None
    while True:
        page = client.search_runs([found.experiment_id], query, max_results=1000, page_token=token, order_by=["attributes.start_time ASC"])
        runs.extend(page)
        token = page.token
        if not token:
            break
    if not runs:
        raise NoRuns(f"no trial runs in experiment {experiment!r}" + (f" under parent run {parent_run_id}" if parent_run_id else ""))
    return runs


def _plain(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config JSON -> dotted columns, lists as JSON text. (Like trainers.config.flatten, but
    analysis reads MLflow alone and must not import the trainer.)"""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = _plain(value)
    return out


def best_epoch(history: dict[int, dict[str, float]]) -> int | None:
    """The epoch of highest test accuracy (train accuracy when no test split), earliest on ties."""
    for key in ("test/acc", "train/acc"):
        scored = [(values[key], -epoch) for epoch, values in history.items() if key in values and values[key] == values[key]]
        if scored:
            return -max(scored)[1]
    return None


def tables(client: MlflowClient, experiment: str, parent_run_id: str | None = None, use_artifacts: bool = True, notes: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """trials and epochs tables. Each run's history comes from its history artifact (one download)
    when it has one, else from the tracking store, read in bulk (`use_artifacts=False` reads every
    run from the store). Runs whose artifact is gone are said in `notes`."""
    from analysis.history import ArtifactGone, read_history, store_histories

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per run otherwise
    trial_rows, epoch_rows = [], []
    runs = child_runs(client, experiment, parent_run_id)
    gone: list[str] = []

    def artifact(run) -> dict | None:
        try:
            return read_history(client, run, Path(scratch)) if use_artifacts else None
        except ArtifactGone:
            gone.append(run.info.run_id)
            return None

    with tempfile.TemporaryDirectory() as scratch:
        # Downloads in parallel: against a tracking server each is a round trip.
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            found = list(pool.map(artifact, runs))
    from_store = store_histories(client, [run for run, history in zip(runs, found) if history is None])
    if gone and notes is not None:
        notes.append(
            f"{len(gone)} of {len(runs)} runs have no {HISTORY_ARTIFACT} where their tag says (a store copied without its artifacts, or a pruned "
            "artifact store): their metrics were read from the tracking store, the same values"
        )
    for run, history in zip(runs, found):
        info, tags = run.info, run.data.tags
        history = history if history is not None else from_store[info.run_id]
        epochs = sorted(history)
        best = best_epoch(history)
        end = info.end_time or info.start_time
        row: dict[str, Any] = {
            "run_id": info.run_id, "run_name": info.run_name, "sweep": tags.get(SWEEP_TAG),
            "parent_run_id": tags.get(PARENT_TAG), "status": tags.get(STATUS_TAG),
            "wall_time_s": (end - info.start_time) / 1000.0, "epochs": epochs[-1] if epochs else 0, "best_epoch": best,
        }  # fmt: skip
        row.update(_flatten(json.loads(tags.get(CONFIG_TAG, "{}"))))
        for key in sorted({k for values in history.values() for k in values}):
            last = max((e for e in epochs if key in history[e]), default=None)
            row[f"final/{key}"] = history[last][key] if last is not None else None
            row[f"best/{key}"] = history[best].get(key) if best is not None else None
        trial_rows.append(row)
        for epoch in epochs:
            epoch_rows.append({"run_id": info.run_id, "run_name": info.run_name, "epoch": epoch, **history[epoch]})
    return pd.DataFrame(trial_rows), pd.DataFrame(epoch_rows)


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
    from trainers.metrics import METRICS

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
    fields += [pa.field(column, pa.float64()) for column in metric_columns([c for c in frame.columns if c not in names])]
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


@dataclass(frozen=True)
class Exported:
    trials_path: Path
    epochs_path: Path
    trials: pd.DataFrame
    epochs: pd.DataFrame
    # When the runs vary loss.name: losses.parquet, its figure and the table (analysis.losses), and
    # the paired comparisons against the reference losses (analysis.compare).
    losses_path: Path | None = None
    losses_figure: Path | None = None
    losses: pd.DataFrame | None = None
    settings_path: Path | None = None  # the summary per setting, seeds pooled (analysis.summary)
    settings: pd.DataFrame | None = None
    comparisons_path: Path | None = None
    comparisons: pd.DataFrame | None = None
    # When the runs can test one of the paper's claims, or asked to (analysis.claims).
    claims_path: Path | None = None
    claims: pd.DataFrame | None = None
    layers_figure: Path | None = None  # when the runs logged per-layer metrics (analysis.layers)
    notes: list[str] = field(default_factory=list)  # what the reader should know (runs read from the store)

    def summary_tables(self) -> dict[str, pd.DataFrame]:
        """The tables that summarize the runs (seed statistics, comparisons, claims), by file stem."""
        tables = {"settings": self.settings, "losses": self.losses, "comparisons": self.comparisons, "claims": self.claims}
        return {name: table for name, table in tables.items() if table is not None}

    def files(self) -> dict[str, Path]:
        """Every file written: field name -> path."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name.endswith(("_path", "_figure")) and getattr(self, f.name) is not None}


def export(
    tracking_uri: str, experiment: str, out_dir: Path, parent_run_id: str | None = None, references=None, claims: bool | None = None, include_stopped: bool = False,
) -> Exported:  # fmt: skip
    """Write trials.parquet and epochs.parquet into out_dir; when the runs vary loss.name also
    losses.parquet, fig_losses.png and comparisons.parquet (against `references`, default CE and
    BCE where present; references given and absent are MissingReference); claims.parquet when
    `claims`, or by default when the runs can test a claim; fig_layers.png when they logged
    layers. The final-epoch tables leave out the trials a scheduler stopped early unless
    `include_stopped` (trials.parquet and epochs.parquet always hold them). Returns the paths and the tables."""
    from analysis.claims import can_test_claims, claims_table  # matplotlib and scipy; they import this module
    from analysis.compare import REFERENCES, comparisons
    from analysis.layers import write_layer_figure
    from analysis.losses import compares_losses, write_loss_outputs
    from analysis.paper import counting_stopped, finished
    from analysis.summary import settings_table

    client = MlflowClient(tracking_uri)
    notes: list[str] = []
    logged, epochs = tables(client, experiment, parent_run_id, notes=notes)
    trials = counting_stopped(logged) if include_stopped else logged  # what the tables below count
    # Before anything is written: a reference asked for and absent is bad input.
    compared = comparisons(trials, references or REFERENCES, required=references is not None) if compares_losses(finished(trials)) else None
    exported = Exported(
        write_parquet(logged, Path(out_dir) / "trials.parquet", TRIAL_FIELDS),
        write_parquet(epochs, Path(out_dir) / "epochs.parquet", EPOCH_FIELDS),
        logged,
        epochs,
        notes=notes,
    )
    out_dir = Path(out_dir)
    settings = settings_table(trials, logged["status"] if include_stopped and "status" in logged else None)
    exported = replace(exported, layers_figure=write_layer_figure(trials, out_dir), settings=settings, settings_path=write_typed(settings, out_dir / "settings.parquet"))
    losses = write_loss_outputs(trials, epochs, out_dir)
    if losses is not None:
        exported = replace(exported, losses_path=losses[0], losses_figure=losses[1], losses=losses[2])
    if compared is not None:
        exported = replace(exported, comparisons=compared, comparisons_path=write_typed(compared, out_dir / "comparisons.parquet"))
    if claims or (claims is None and can_test_claims(trials)):
        table = claims_table(trials, epochs)
        exported = replace(exported, claims=table, claims_path=write_typed(table, out_dir / "claims.parquet"))
    return exported


def load_distributions(client: MlflowClient, run_ids, scratch: Path) -> dict[str, dict]:
    """run_id -> the trial's final distributions artifact (bias vector, score samples); runs
    without one (errored before their last epoch) are left out."""
    out: dict[str, dict] = {}
    for run_id in run_ids:
        if not any(f.path == DISTRIBUTIONS_ARTIFACT for f in client.list_artifacts(run_id)):
            continue
        local = client.download_artifacts(run_id, DISTRIBUTIONS_ARTIFACT, str(scratch))
        out[run_id] = json.loads(Path(local).read_text())
    return out
