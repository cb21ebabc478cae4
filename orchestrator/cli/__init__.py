"""The `ncsweep` command: the argument parser and `main` (parser.py), one module per group of
commands (sweeps, cluster, trial, results, tune), and what happens once a sweep's trials have ended
(outcome.py).
"""

from orchestrator.cli.parser import main

__all__ = ["main"]
