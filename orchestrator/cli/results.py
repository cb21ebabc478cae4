"""`ncsweep analyze` and `ncsweep list`: tables and figures from the runs in MLflow; the registered plug-ins."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from orchestrator.errors import OK, BadInput


def cmd_analyze(args: argparse.Namespace) -> int:
    from analysis.outputs.export import export
    from analysis.store.read import NoRuns
    from analysis.tables.compare import MissingReference
    from orchestrator.output.results import parse_formats, print_files, print_results
    from orchestrator.tracking.uri import resolve_tracking_uri

    formats = parse_formats(args.format)
    uri = resolve_tracking_uri(args.tracking_uri, None)
    try:
        exported = export(
            uri,
            args.experiment,
            Path(args.out),
            args.parent,
            references=args.reference,
            claims=args.claims or None,
            include_stopped=args.include_stopped,
        )
    except NoRuns as exc:
        raise BadInput(f"--experiment {args.experiment}: {exc}") from None
    except MissingReference as exc:
        raise BadInput(f"--reference: {exc}") from None
    print_results(exported, args.per_trial)
    print()
    print_files(exported)
    print(f"Report:   {analysis_report(uri, args, exported)}")
    if args.include_stopped:  # the paper's tables too count the trials a scheduler stopped
        from dataclasses import replace

        from analysis.tables.selection import counting_stopped

        exported = replace(exported, trials=counting_stopped(exported.trials))
    if args.paper:
        from analysis.outputs.publish import publish_paper

        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per trial otherwise

        outputs = publish_paper(uri, exported, Path(args.out))
        print("Tables:   " + "\n          ".join(map(str, outputs.tables)))
        print("Figures:  " + ("\n          ".join(map(str, outputs.figures)) or "(nothing to draw)"))
        if outputs.logged_to:
            print(f"MLflow:   figures logged under {outputs.logged_to[0]}/figures")
        elif outputs.figures:
            print("MLflow:   figures not logged (several sweeps; pass --parent RUN_ID to pick one)")
    if formats:
        from analysis.outputs.formats import write_formats
        from analysis.tables.paper import paper_tables

        tables = {**exported.summary_tables(), **(paper_tables(exported.trials) if args.paper else {})}
        print("Pasted:   " + "\n          ".join(map(str, write_formats(tables, Path(args.out), formats))))
    return OK


def analysis_report(uri: str, args: argparse.Namespace, exported) -> Path:
    """report.html in --out; logged to the sweep's parent run when the runs are one sweep's."""
    from mlflow.tracking import MlflowClient

    from analysis.outputs.report import describe_sweep, write_report
    from orchestrator.output.results import experiment_id, run_url
    from orchestrator.tracking.store import with_backoff

    client = MlflowClient(uri)
    sweeps = sorted(set(exported.trials["sweep"].dropna())) if "sweep" in exported.trials else []
    about = {"experiment": args.experiment, **describe_sweep(exported.trials)}
    url = run_url(uri, experiment_id(client, args.experiment))
    report = write_report(exported, Path(args.out), ", ".join(sweeps) or args.experiment, about, url)
    parents = sorted(set(exported.trials["parent_run_id"].dropna()))
    if len(parents) == 1:
        with_backoff(lambda: client.log_artifact(parents[0], str(report)), "logging report.html")
    return report


def cmd_list(args: argparse.Namespace) -> int:
    from orchestrator.output.listing import FAMILIES, print_family

    unknown = [w for w in args.what if w not in FAMILIES]
    if unknown:
        raise BadInput(f"list {unknown[0]}: unknown; allowed: {', '.join(FAMILIES)}")
    for family in args.what or FAMILIES:
        print_family(family, args.markdown)
    return OK
