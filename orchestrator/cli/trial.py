"""`ncsweep train` and `ncsweep bench`: one trial in this process (no Ray, no MLflow), or its speed."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrator.errors import OK, TRIAL_FAILED, BadInput, from_validation
from orchestrator.sweep.spec import parse_yaml, read_yaml
from trainers.config import TrialConfig, set_dotted


def parse_overrides(pairs: Sequence[str]) -> list[tuple[str, Any]]:
    out = []
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--set {pair}: expected key=value with a dotted key, e.g. loss.name=bce")
        out.append((key.strip(), parse_yaml(text, f"--set {pair}: the value")))
    return out


def trial_config(args: argparse.Namespace, tree: dict[str, Any] | None = None) -> tuple[TrialConfig, str]:
    """The trial config of `train` and `bench`: the TRIAL file (else `tree`) with the --set
    overrides, validated; and where it came from, for messages."""
    tree = dict(tree or {})
    source = "--set"
    if args.trial:
        _, tree = read_yaml(Path(args.trial))
        if not isinstance(tree, dict):
            raise BadInput(f"{args.trial}: (top level): expected a mapping of trial config sections")
        source = args.trial
    for key, value in parse_overrides(args.set):
        try:
            set_dotted(tree, key, value)
        except KeyError:
            raise BadInput(f"--set {key}: goes through a value that is not a section") from None
    try:
        return TrialConfig.model_validate(tree), source
    except ValidationError as exc:
        raise from_validation(exc, source, TrialConfig) from None


def cmd_train(args: argparse.Namespace) -> int:
    config, source = trial_config(args)
    from orchestrator.output.train import epoch_line, final_tables
    from orchestrator.running.preflight import check_inputs
    from trainers import FINISHED, run_trial

    check_inputs([config], source)
    last: dict = {}

    def report(epoch: int, metrics: dict[str, float]) -> None:
        print(epoch_line(epoch, metrics), flush=True)
        if any(k.endswith("/nc1") for k in metrics):
            last.update(epoch=epoch, metrics=metrics)

    status = run_trial(config, report)
    if last:
        print(final_tables(last["epoch"], last["metrics"]))
    print(status)
    return OK if status == FINISHED else TRIAL_FAILED


def parse_pack(text: str | None) -> list[int]:
    """--pack 1,2,4 -> [1, 2, 4]."""
    parts = text.split(",") if text else []
    if not all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        raise BadInput(f"--pack {text}: expected numbers of copies >= 1, e.g. 1,2,4")
    return [int(p) for p in parts]


def cmd_bench(args: argparse.Namespace) -> int:
    import tempfile

    from trainers.bench.report import BENCH_DATA, BENCH_TRIAL, print_table, run_bench, write_json

    config, source = trial_config(args, None if args.trial else BENCH_TRIAL)
    pack = parse_pack(args.pack)
    cpus = args.cpus or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="ncsweep-bench-") as scratch:
        if config.data.name == "cifar10" and config.data.root is None:
            # No data given: random pixels in the real file format (a step costs the same).
            from trainers.bench.cifar_files import write_random_cifar10

            write_random_cifar10(Path(scratch), *BENCH_DATA[args.quick])
            config = config.model_copy(update={"data": config.data.model_copy(update={"root": scratch})})
        from orchestrator.running.preflight import check_inputs

        check_inputs([config], source)
        result = run_bench(config, args.reference, pack, args.quick, cpus, say=lambda line: print(line, flush=True))
    print_table(result)
    write_json(result, Path(args.json))
    print(f"JSON:     {args.json}")
    return OK
