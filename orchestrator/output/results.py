"""What `ncsweep run`, `resume` and `analyze` print about the exported runs: the summary (per
setting with seed statistics, or per trial), the loss table, the headline paired comparisons, the
paper's claims, and where every file is."""

from __future__ import annotations

from analysis.outputs.formats import FORMATS
from analysis.store.layout import RUNS_VIEW, SHARED_VIEW_PARAM
from analysis.tables.claims import format_claims
from analysis.tables.compare import HEADLINE, format_comparison
from analysis.tables.losses import format_loss_table
from analysis.tables.summary import format_summary
from orchestrator.errors import BadInput
from orchestrator.tracking.store import with_backoff
from trainers.metrics import display_name

OK, TRIAL_FAILED, INTERRUPTED = 0, 1, 130  # as orchestrator/cli.py

MAX_COMPARISON_LINES = 40  # the rest are in comparisons.parquet


def print_losses(exported, only_if_pooled: bool = False) -> None:
    """The loss-comparison table (when the runs vary loss.name) and where it was written. With
    only_if_pooled, only when it is shorter than the per-trial table (seeds pooled into rows)."""

    table = exported.losses
    if table is None or (only_if_pooled and len(table) >= (exported.trials["status"] == "finished").sum()):
        return
    print(
        "\nLosses compared (final epoch; mean ± half-width of the 95% t interval over "
        f"seeds):\n{format_loss_table(table)}"
    )


def print_comparisons(exported) -> None:
    """The headline metrics of the paired comparisons, one line each (at most MAX_COMPARISON_LINES)."""

    table = exported.comparisons
    if table is None or table.empty:
        return
    setting = list(table.columns[: list(table.columns).index("loss")])
    head = table[table["metric"].isin(HEADLINE)]
    shown = min(len(head), MAX_COMPARISON_LINES)
    print(
        "\nPaired comparisons (loss - reference: mean difference [95% t interval], paired t-test p; Holm's correction "
        f"spans all {len(table)} rows of comparisons.parquet, every metric; printed: {shown} rows, the metrics "
        f"{', '.join(display_name(m) for m in HEADLINE)}):"
    )
    for _, row in head.head(MAX_COMPARISON_LINES).iterrows():
        print("  " + format_comparison(row, setting))
    if len(head) > MAX_COMPARISON_LINES:
        print(f"  ... {len(head) - MAX_COMPARISON_LINES} more lines, and every metric: comparisons.parquet")


def print_claims(exported) -> None:
    if exported.claims is not None and not exported.claims.empty:
        print("\nThe paper's claims (docs/science.md#claims) on these runs:")
        print("  " + format_claims(exported.claims).replace("\n", "\n  "))


def print_results(exported, per_trial: bool = False, after_run: bool = False) -> None:
    for note in exported.notes:
        print(f"note: {note}")
    print(format_summary(exported.trials, per_trial))
    print_losses(exported, only_if_pooled=after_run)
    print_comparisons(exported)
    print_claims(exported)


def print_files(exported) -> None:
    files = exported.files()
    print(f"Parquet:  {files.pop('trials_path')}\n          {files.pop('epochs_path')}")
    if files:
        print("Tables:   " + "\n          ".join(str(p) for p in files.values()))


LOCAL_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves a local store by default


def ui_base(uri: str) -> str:
    """The address of MLflow's UI for a tracking URI: the server itself, or `mlflow ui` on a local store."""
    return uri.rstrip("/") if uri.startswith(("http://", "https://")) else LOCAL_UI


def experiment_id(client, experiment: str) -> str | None:
    found = with_backoff(lambda: client.get_experiment_by_name(experiment), "looking up the experiment")
    return found.experiment_id if found else None


def run_url(uri: str, experiment: str | None) -> str | None:
    """A child run's page in the UI, `{run_id}` left to fill in (report.html links every run)."""
    return f"{ui_base(uri)}/#/experiments/{experiment}/runs/{{run_id}}" if experiment else None


def compare_line(client, experiment: str, uri: str, parent_run_id: str | None = None) -> str:
    """Where to look at the sweep in MLflow's UI: its runs table, opened on the sweep's saved view
    (its runs grouped by setting, the paper's metrics as columns) when the parent run is given."""
    found = experiment_id(client, experiment)
    view = RUNS_VIEW.format(experiment_id=found) if found else ""
    if found and parent_run_id:
        view += f"&{SHARED_VIEW_PARAM}={parent_run_id}"
    if uri.startswith(("http://", "https://")):
        return f"Compare:  {ui_base(uri)}/{view}  (the sweep's runs grouped by setting)"
    return (
        f"Compare:  mlflow ui --backend-store-uri {uri}, then {LOCAL_UI}/{view}  (the sweep's runs grouped by setting)"
    )


def parse_formats(text: str | None) -> list[str]:
    """--format md,latex -> ["md", "latex"]."""

    chosen = [part.strip() for part in text.split(",")] if text else []
    unknown = [part for part in chosen if part not in FORMATS]
    if unknown:
        raise BadInput(f"--format {text}: unknown format {unknown[0]!r}; allowed: {', '.join(FORMATS)}")
    return chosen
