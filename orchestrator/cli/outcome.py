"""What `run`, `resume` and `tune` do once the trials have ended: export the tables into the results
folder, publish the sweep's summary to its parent run, print where everything is, pick the exit code."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pyarrow.fs

from analysis.outputs.export import export
from analysis.outputs.report import write_report
from analysis.store.read import NoRuns
from orchestrator.cluster.cost import bill
from orchestrator.errors import INTERRUPTED, OK, TRIAL_FAILED
from orchestrator.output.progress import format_duration
from orchestrator.output.results import compare_line, experiment_id, print_files, print_results, run_url
from orchestrator.running.storage import is_uri, join
from orchestrator.tracking.parent import publish_summary
from orchestrator.tracking.store import with_backoff


def report_outcome(sweep, uri: str, outcome, per_trial: bool = False) -> int:
    """Parquet next to Tune's results, the summary tables, and where everything is."""

    try:
        exported = with_backoff(
            lambda: export_to(uri, sweep.spec.experiment, outcome.results_dir, outcome.parent_run_id),
            "reading the runs back for the tables",
        )
    except NoRuns as exc:  # no trial got as far as starting
        print(f"no results to export: {exc}", file=sys.stderr)
        if outcome.interrupted:
            print(how_to_continue(sweep, outcome), flush=True)
            return INTERRUPTED
        return TRIAL_FAILED
    outcome.exported = exported  # for `ncsweep tune`, which picks the best trials from it
    print()
    print_results(exported, per_trial, after_run=True)
    statuses = list(outcome.statuses.values()) + ["interrupted" if outcome.interrupted else "not run"] * (
        sweep.total - len(outcome.statuses)
    )
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print(f"\n{sweep.total} trials in {outcome.wall_s:.0f} s: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    report = sweep_report(sweep, exported, outcome, counts, run_url(uri, experiment_id(client, sweep.spec.experiment)))
    if report is not None:
        # At the artifacts' root, where the UI lists it first and shows it inline.
        with_backoff(lambda: client.log_artifact(outcome.parent_run_id, str(report)), "logging report.html")
    local = [Path(p) for p in exported.files().values() if Path(str(p)).is_file()]  # s3:// results stay where they are
    publish_summary(
        client,
        outcome.parent_run_id,
        counts,
        outcome.wall_s,
        exported.trials,
        local,
        sweep.spec.resources.gpu,
    )
    print_files(replace(exported, report_path=report))
    print(f"MLflow:   experiment {sweep.spec.experiment!r}, parent run {outcome.parent_run_id} at {uri}")
    print(compare_line(client, sweep.spec.experiment, uri, outcome.parent_run_id))
    if outcome.interrupted:
        print(how_to_continue(sweep, outcome), flush=True)
        return INTERRUPTED
    return OK if outcome.ok else TRIAL_FAILED


def sweep_report(sweep, exported, outcome, counts: dict[str, int], url: str | None) -> Path | None:
    """report.html in a local results folder (an s3:// one gets the tables; the page is in MLflow)."""
    if is_uri(outcome.results_dir):
        return None
    cost = bill(exported.trials, sweep.spec.resources.gpu)
    about = {
        "sweep file": str(sweep.path),
        "description": sweep.spec.description or "",
        "trials": f"{sweep.total}: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        "wall time": format_duration(outcome.wall_s),
        "cost": f"{cost['trial_hours']:.3g} trial hours, {cost['gpu_hours']:.3g} GPU hours",
        "MLflow": f"experiment {sweep.spec.experiment!r}, parent run {outcome.parent_run_id}",
    }
    return write_report(exported, Path(outcome.results_dir), sweep.spec.name, about, url)


def how_to_continue(sweep, outcome) -> str:
    """The last line of an interrupted sweep: resume it, or (a search, not resumable) run it again."""
    if sweep.spec.search is not None:
        return f"interrupted: a search is not resumable; run it again: ncsweep run {sweep.path}"
    return f"interrupted: continue with: ncsweep resume {outcome.results_dir}"


def export_to(tracking_uri: str, experiment: str, results_dir: str, parent_run_id: str):
    """analysis.export into the results folder; for s3://... written locally first, then copied."""

    if not is_uri(results_dir):
        return export(tracking_uri, experiment, Path(results_dir), parent_run_id)
    import tempfile
    from dataclasses import replace

    with tempfile.TemporaryDirectory() as scratch:
        exported = export(tracking_uri, experiment, Path(scratch), parent_run_id)
        pyarrow.fs.copy_files(scratch, results_dir)
    return replace(exported, **{name: join(results_dir, path.name) for name, path in exported.files().items()})
