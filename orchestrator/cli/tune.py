"""`ncsweep tune SWEEP --per loss.name`: a fair comparison in one command.

A loss tuned by hand against CE at CE's defaults is not a fair comparison: each value of the `--per`
axis deserves the same tuning budget, judged on a validation split, never on the test split. So:
1. the sweep's search runs at every grid x cases point with the same budget and searcher seed
   (orchestrator/search.py);
2. each point's best configuration is the one with the best mean of the search metric at its last
   epoch over its seeds, among the trials that ran every epoch (a trial ASHA stopped has no last
   epoch to compare);
3. they are written as a new sweep file (the chosen values as `cases`, x the sweep's `final_seeds`,
   no search), which anyone can rerun with `ncsweep run`;
4. that sweep runs, and its tables (the per-setting seed statistics and, when the points differ by
   loss, the paired comparisons on the test split) are the tuned-vs-tuned comparison.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from analysis.tables.text import text_table
from orchestrator.cli.sweeps import ready_to_run
from orchestrator.errors import TRIAL_FAILED, BadInput
from orchestrator.sweep.spec import load_sweep

DROPPED = ("search", "scheduler", "grid", "cases", "allow_test_selection", "final_seeds")


def check_tunable(sweep, per: str, best: Path) -> None:
    """BadInput before anything runs: no search, a --per key the grid and cases do not set, or a
    best file that exists (it would be overwritten)."""
    spec = sweep.spec
    if spec.search is None:
        raise BadInput(
            f"{sweep.path}: search: missing; `ncsweep tune` tunes what the search: section samples (see "
            "sweeps/search/tune_losses.yaml)"
        )
    keys = [*(spec.grid or {}), *dict.fromkeys(k for case in spec.cases for k in case)]
    if per not in keys:
        raise BadInput(
            f"--per {per}: the sweep's grid and cases do not set it; allowed: "
            f"{', '.join(keys) or 'none (add a grid, e.g. loss.name: [ce, bce])'}"
        )
    if best.exists():
        raise BadInput(f"--best {best}: exists; name another file (nothing was started)")


def best_per_point(samples: dict, trials, metric: str, mode: str) -> dict[str, dict[str, Any]]:
    """point -> {"sampled": values, "mean": the mean of final/<metric> over its finished seeds,
    "seeds": how many}: each point's best sampled configuration (first drawn on ties)."""
    import pandas as pd

    final = f"final/{metric}"
    if final not in trials or not samples:
        return {}
    rows = []
    for name, status, value in trials[["run_name", "status", final]].itertuples(index=False):
        sample = samples.get(name)
        if sample is not None and status == "finished" and value == value:
            rows.append({"point": sample.point, "key": json.dumps(sample.sampled, sort_keys=True), "value": value})
    if not rows:
        return {}
    frame = pd.DataFrame(rows).groupby(["point", "key"], sort=False)["value"].agg(["mean", "count"]).reset_index()
    out = {}
    for point, group in frame.groupby("point", sort=False):
        row = group.loc[group["mean"].idxmax() if mode == "max" else group["mean"].idxmin()]
        out[point] = {"sampled": json.loads(row["key"]), "mean": float(row["mean"]), "seeds": int(row["count"])}
    return out


def best_sweep_text(sweep, chosen: dict[str, dict[str, Any]], path: Path) -> str:
    """The sweep file of the chosen configurations: the original without its search, one case per
    point (what the point set, plus its best values), run with `final_seeds`."""
    spec = sweep.spec
    raw = yaml.safe_load(sweep.text)
    for key in DROPPED:
        raw.pop(key, None)
    raw["name"] = f"{spec.name}-best"
    raw["description"] = (
        f"The best configuration of each point of {spec.name} on {spec.search.metric}, x "
        f"{len(spec.final_seeds)} seeds (ncsweep tune)"
    )
    points = sweep.points()
    raw["cases"] = [{**dict(points[point].overrides), **choice["sampled"]} for point, choice in chosen.items()]
    raw["seeds"] = list(spec.final_seeds)
    lines = [
        f"# Written by `ncsweep tune {sweep.path}`: each point's best of {spec.search.num_samples} "
        f"{spec.search.algorithm} samples",
        f"# x {len(spec.seeds)} seeds on {spec.search.metric} ({spec.search.mode}, mean over seeds at the last epoch):",
        *(f"#   {point}: {choice['mean']:.4f} over {choice['seeds']} seeds" for point, choice in chosen.items()),
        f"# Rerun it: ncsweep run {path}",
    ]
    return "\n".join(lines) + "\n" + yaml.safe_dump(raw, sort_keys=False)


def print_chosen(chosen: dict[str, dict[str, Any]], metric: str) -> None:
    keys = list(dict.fromkeys(k for choice in chosen.values() for k in choice["sampled"]))
    rows = [
        [
            point,
            *(
                f"{choice['sampled'].get(k, ''):.4g}"
                if isinstance(choice["sampled"].get(k), float)
                else str(choice["sampled"].get(k, ""))
                for k in keys
            ),
            f"{choice['mean']:.4f}",
            str(choice["seeds"]),
        ]
        for point, choice in chosen.items()
    ]
    print(f"\nBest configuration per point (mean {metric} over seeds, last epoch):")
    print(text_table(["point", *keys, metric, "seeds"], rows))


def cmd_tune(args) -> int:
    # Ray, MLflow and the tables: imported by the command that runs trials, not by every command's parser.
    from orchestrator.cli.outcome import report_outcome
    from orchestrator.running.run import run_sweep

    sweep = load_sweep(args.sweep)
    best_path = Path(args.best)
    check_tunable(sweep, args.per, best_path)
    uri = ready_to_run(sweep, args)
    print(
        f"Tuning: the same search at each value of {args.per}, then the best of each with seeds "
        f"{list(sweep.spec.final_seeds)}",
        flush=True,
    )
    outcome = run_sweep(sweep, uri, args.storage, args.max_concurrent, args.wait_for_resources, args.verbose)
    code = report_outcome(sweep, uri, outcome, args.per_trial)
    if outcome.interrupted or outcome.exported is None:
        return code
    search = sweep.spec.search
    chosen = best_per_point(outcome.samples, outcome.exported.trials, search.metric, search.mode)
    missing = [point for point in sweep.points() if point not in chosen]
    if missing:
        print(f"no trial ran to its last epoch at {', '.join(missing)}: nothing to choose there; best.yaml not written")
        return TRIAL_FAILED
    print_chosen(chosen, search.metric)
    best_path.write_text(best_sweep_text(sweep, chosen, best_path))
    print(f"Best:     {best_path}  (rerun: ncsweep run {best_path})\n", flush=True)
    best = load_sweep(best_path)
    final = run_sweep(best, uri, args.storage, args.max_concurrent, args.wait_for_resources, args.verbose)
    print(f"\nTuned vs tuned ({args.per}; each at its best configuration, test split):")
    # The exit code is the final runs': a search's diverged or stopped samples are part of searching.
    return report_outcome(best, uri, final, args.per_trial)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "tune", help="the same search for each value of --per, then each one's best with final_seeds: a fair comparison"
    )
    p.add_argument("sweep")
    p.add_argument(
        "--per", required=True, metavar="KEY", help="the axis compared, a key the grid or cases set, e.g. loss.name"
    )
    p.add_argument(
        "--best",
        default="best.yaml",
        help="where the chosen configurations are written as a sweep file (default ./best.yaml; never overwritten)",
    )
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: spec, MLFLOW_TRACKING_URI, ./mlflow.db)")
    p.add_argument(
        "--storage", default="ncsweep_results", help="Tune results, checkpoints, Parquet (default ./ncsweep_results)"
    )
    p.add_argument("--max-concurrent", type=int, help="at most this many trials at once")
    p.add_argument("--wait-for-resources", action="store_true", help="start even when no node can hold a trial yet")
    p.add_argument("--verbose", action="store_true", help="also Ray Tune's own console output")
    p.add_argument("--per-trial", action="store_true", help="summaries: one row per trial")
    p.set_defaults(func=cmd_tune)
