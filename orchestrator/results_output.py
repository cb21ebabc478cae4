"""What `ncsweep run`, `resume` and `analyze` print about the exported runs: the summary (per
setting with seed statistics, or per trial), the loss table, the headline paired comparisons, the
paper's claims, and where every file is."""

from __future__ import annotations

import sys
from pathlib import Path

OK, TRIAL_FAILED, INTERRUPTED = 0, 1, 130  # as orchestrator/cli.py

MAX_COMPARISON_LINES = 40  # the rest are in comparisons.parquet


def print_losses(exported, only_if_pooled: bool = False) -> None:
    """The loss-comparison table (when the runs vary loss.name) and where it was written. With
    only_if_pooled, only when it is shorter than the per-trial table (seeds pooled into rows)."""
    from analysis.losses import format_loss_table

    table = exported.losses
    if table is None or (only_if_pooled and len(table) >= (exported.trials["status"] == "finished").sum()):
        return
    print(f"\nLosses compared (final epoch; mean ± half-width of the 95% t interval over seeds):\n{format_loss_table(table)}")


def print_comparisons(exported) -> None:
    """The headline metrics of the paired comparisons, one line each (at most MAX_COMPARISON_LINES)."""
    from analysis.compare import HEADLINE, format_comparison

    table = exported.comparisons
    if table is None or table.empty:
        return
    setting = list(table.columns[: list(table.columns).index("loss")])
    head = table[table["metric"].isin(HEADLINE)]
    print(f"\nPaired comparisons (loss - reference; mean difference [95% interval], paired t-test p and Holm's over all {len(table)} rows):")
    for _, row in head.head(MAX_COMPARISON_LINES).iterrows():
        print("  " + format_comparison(row, setting))
    if len(head) > MAX_COMPARISON_LINES:
        print(f"  ... {len(head) - MAX_COMPARISON_LINES} more lines, and every metric: comparisons.parquet")


def print_claims(exported) -> None:
    from analysis.claims import format_claims

    if exported.claims is not None and not exported.claims.empty:
        print("\nThe paper's claims (PAPER.md section 7) on these runs:")
        print("  " + format_claims(exported.claims).replace("\n", "\n  "))


def print_results(exported, per_trial: bool = False, after_run: bool = False) -> None:
    from analysis.summary import format_summary

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


def compare_line(client, experiment: str, uri: str) -> str:
    """Where to look at the sweep in MLflow's UI: its runs table (group them by ncsweep.group)."""
    from analysis.runs import RUNS_VIEW
    from orchestrator.mlflow_store import with_backoff

    found = with_backoff(lambda: client.get_experiment_by_name(experiment), "looking up the experiment")
    view = RUNS_VIEW.format(experiment_id=found.experiment_id) if found else ""
    if uri.startswith(("http://", "https://")):
        return f"Compare:  {uri.rstrip('/')}/{view}  (Group by: ncsweep.group pools the seeds)"
    return f"Compare:  mlflow ui --backend-store-uri {uri}, then http://127.0.0.1:5000/{view}  (Group by: ncsweep.group pools the seeds)"


def parse_formats(text: str | None) -> list[str]:
    """--format md,latex -> ["md", "latex"]."""
    from analysis.formats import FORMATS
    from orchestrator.errors import BadInput

    chosen = [part.strip() for part in text.split(",")] if text else []
    unknown = [part for part in chosen if part not in FORMATS]
    if unknown:
        raise BadInput(f"--format {text}: unknown format {unknown[0]!r}; allowed: {', '.join(FORMATS)}")
    return chosen


def report_outcome(sweep, uri: str, outcome, per_trial: bool = False) -> int:
    """Parquet next to Tune's results, the summary tables, and where everything is."""
    from analysis.export import NoRuns
    from orchestrator.mlflow_store import with_backoff
    from orchestrator.results_output import compare_line, print_files, print_results
    from orchestrator.storage import export_to

    try:
        exported = with_backoff(lambda: export_to(uri, sweep.spec.experiment, outcome.results_dir, outcome.parent_run_id), "reading the runs back for the tables")
    except NoRuns as exc:  # no trial got as far as starting
        print(f"no results to export: {exc}", file=sys.stderr)
        if outcome.interrupted:
            print(how_to_continue(sweep, outcome), flush=True)
            return INTERRUPTED
        return TRIAL_FAILED
    outcome.exported = exported  # for `ncsweep tune`, which picks the best trials from it
    print()
    print_results(exported, per_trial, after_run=True)
    statuses = list(outcome.statuses.values()) + ["interrupted" if outcome.interrupted else "not run"] * (sweep.total - len(outcome.statuses))
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print(f"\n{sweep.total} trials in {outcome.wall_s:.0f} s: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    from mlflow.tracking import MlflowClient

    from orchestrator.tracking import publish_summary

    local = [Path(p) for p in exported.files().values() if Path(str(p)).is_file()]  # s3:// results stay where they are
    publish_summary(MlflowClient(uri), outcome.parent_run_id, counts, outcome.wall_s, exported.trials, local, sweep.spec.resources.gpu)
    print_files(exported)
    print(f"MLflow:   experiment {sweep.spec.experiment!r}, parent run {outcome.parent_run_id} at {uri}")
    print(compare_line(MlflowClient(uri), sweep.spec.experiment, uri))
    if outcome.interrupted:
        print(how_to_continue(sweep, outcome), flush=True)
        return INTERRUPTED
    return OK if outcome.ok else TRIAL_FAILED


def how_to_continue(sweep, outcome) -> str:
    """The last line of an interrupted sweep: resume it, or (a search, not resumable) run it again."""
    if sweep.spec.search is not None:
        return f"interrupted: a search is not resumable; run it again: ncsweep run {sweep.path}"
    return f"interrupted: continue with: ncsweep resume {outcome.results_dir}"
