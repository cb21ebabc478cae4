from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from analysis.figures.layers import write_layer_figure
from analysis.figures.losses import make_loss_figure
from analysis.figures.plotting import save
from analysis.figures.report import bias_figure
from analysis.outputs.formats import write_formats
from analysis.outputs.parquet import EPOCH_FIELDS, TRIAL_FIELDS, write_parquet, write_typed
from analysis.store.read import tables
from analysis.tables.claims import can_test_claims, claims_table
from analysis.tables.compare import REFERENCES, comparisons
from analysis.tables.losses import compares_losses, loss_table
from analysis.tables.selection import counting_stopped, finished
from analysis.tables.summary import settings_table


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
    # Where each setting's final bias sits against its mean scores (claim 7a), when logged.
    scores_figure: Path | None = None
    report_path: Path | None = None  # report.html (analysis/outputs/report.py), written after the export
    notes: list[str] = field(default_factory=list)  # what the reader should know (runs read from the store)
    markdown: tuple[Path, ...] = ()  # the summary tables as Markdown, which MLflow's artifact viewer shows as text

    def summary_tables(self) -> dict[str, pd.DataFrame]:
        """The tables that summarize the runs (seed statistics, comparisons, claims), by file stem."""
        tables = {
            "settings": self.settings,
            "losses": self.losses,
            "comparisons": self.comparisons,
            "claims": self.claims,
        }
        return {name: table for name, table in tables.items() if table is not None}

    def files(self) -> dict[str, Path]:
        """Every file written: field name -> path."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name.endswith(("_path", "_figure")) and getattr(self, f.name) is not None
        } | {f"{path.stem}_markdown": path for path in self.markdown}


def export(
    tracking_uri: str,
    experiment: str,
    out_dir: Path,
    parent_run_id: str | None = None,
    references=None,
    claims: bool | None = None,
    include_stopped: bool = False,
) -> Exported:
    """Write trials.parquet and epochs.parquet into out_dir; when the runs vary loss.name also
    losses.parquet, fig_losses.png and comparisons.parquet (against `references`, default CE and
    BCE where present; references given and absent are MissingReference); claims.parquet when
    `claims`, or by default when the runs can test a claim; fig_layers.png when they logged
    layers. The final-epoch tables leave out the trials a scheduler stopped early unless
    `include_stopped` (trials.parquet and epochs.parquet always hold them). Returns the paths and the tables."""

    client = MlflowClient(tracking_uri)
    notes: list[str] = []
    logged, epochs = tables(client, experiment, parent_run_id, notes=notes)
    trials = counting_stopped(logged) if include_stopped else logged  # what the tables below count
    # Before anything is written: a reference asked for and absent is bad input.
    compared = (
        comparisons(trials, references or REFERENCES, required=references is not None)
        if compares_losses(finished(trials))
        else None
    )
    exported = Exported(
        write_parquet(logged, Path(out_dir) / "trials.parquet", TRIAL_FIELDS),
        write_parquet(epochs, Path(out_dir) / "epochs.parquet", EPOCH_FIELDS),
        logged,
        epochs,
        notes=notes,
    )
    out_dir = Path(out_dir)
    settings = settings_table(trials, logged["status"] if include_stopped and "status" in logged else None)
    exported = replace(
        exported,
        layers_figure=write_layer_figure(trials, out_dir),
        settings=settings,
        settings_path=write_typed(settings, out_dir / "settings.parquet"),
    )
    losses = write_loss_outputs(trials, epochs, out_dir)
    if losses is not None:
        exported = replace(exported, losses_path=losses[0], losses_figure=losses[1], losses=losses[2])
    if compared is not None:
        exported = replace(
            exported, comparisons=compared, comparisons_path=write_typed(compared, out_dir / "comparisons.parquet")
        )
    if claims or (claims is None and can_test_claims(trials)):
        table = claims_table(trials, epochs)
        exported = replace(exported, claims=table, claims_path=write_typed(table, out_dir / "claims.parquet"))
    scores = bias_figure(trials)
    if scores is not None:
        exported = replace(exported, scores_figure=save(scores, out_dir / "fig_bias.png"))
    # The same tables as Markdown: MLflow's artifact viewer shows text, not Parquet.
    return replace(exported, markdown=tuple(write_formats(exported.summary_tables(), out_dir, ["md"])))


def write_loss_outputs(
    trials: pd.DataFrame, epochs: pd.DataFrame, out_dir: Path
) -> tuple[Path, Path | None, pd.DataFrame] | None:
    """losses.parquet and fig_losses.png in out_dir when the runs vary loss.name; else None."""
    if not compares_losses(finished(trials)):
        return None
    table = loss_table(trials)
    path = write_parquet(table, Path(out_dir) / "losses.parquet", [])
    fig = make_loss_figure(epochs, trials)
    figure = save(fig, Path(out_dir) / "fig_losses.png") if fig is not None else None
    return path, figure, table
