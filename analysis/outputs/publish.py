"""`ncsweep analyze --paper`: the paper's tables and figures from exported runs, written next to
the Parquet files and logged under the sweep's parent MLflow run (so `mlflow ui` shows them)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from analysis.figures.paper import paper_figures
from analysis.outputs.export import Exported
from analysis.outputs.parquet import write_typed
from analysis.store.layout import FIGURES_DIR
from analysis.store.read import load_distributions
from analysis.tables.paper import paper_tables


@dataclass
class PaperOutputs:
    tables: list[Path]
    figures: list[Path]
    logged_to: list[str] = field(default_factory=list)  # parent run ids that got the figures


def publish_paper(tracking_uri: str, exported: Exported, out_dir: Path) -> PaperOutputs:
    client = MlflowClient(tracking_uri)
    trials = exported.trials
    with tempfile.TemporaryDirectory() as scratch:
        distributions = load_distributions(client, trials["run_id"], Path(scratch))
    outputs = PaperOutputs(
        write_paper_tables(paper_tables(trials), out_dir),
        paper_figures(trials, exported.epochs, distributions, out_dir),
    )
    parents = sorted(set(trials["parent_run_id"].dropna()))
    if len(parents) == 1:  # figures of several sweeps together belong to no single sweep run
        for figure in outputs.figures:
            client.log_artifact(parents[0], str(figure), FIGURES_DIR)
        outputs.logged_to = parents
    return outputs


def write_paper_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """<name>.parquet per table, typed from the pandas dtypes (export.write_typed)."""
    return [write_typed(table, Path(out_dir) / f"{name}.parquet") for name, table in tables.items()]
