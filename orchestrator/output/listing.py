"""`ncsweep list`: every registered loss, classifier head, model, dataset and metric with its own
keys and defaults. The registries (trainers/registry.py, trainers/metrics/registry.py) are the only lists
of names; this reads them."""

from __future__ import annotations

import textwrap

from trainers.data import DATASETS
from trainers.heads import CLASSIFIERS
from trainers.losses import LOSSES
from trainers.metrics import METRICS
from trainers.models import MODELS

FAMILIES = ("losses", "classifiers", "models", "datasets", "metrics")


def metrics_markdown() -> str:
    """The metric registry as the README's table (`ncsweep list metrics --markdown`)."""

    rows = ["| key | definition | module | per layer |", "|---|---|---|---|"]
    for m in METRICS:
        rows.append(f"| `{m.key}` | {m.definition.replace('|', '&#124;')} | `{m.family}` | {'yes' if m.layers else ''} |")
    return "\n".join(rows)


def print_metrics(markdown: bool) -> None:
    if markdown:
        print(metrics_markdown())
        return
    print("metrics (logged as <split>/<key>; per layer: <split>/layers/<name>/<key>):")
    for m in METRICS:
        print(f"  {m.key} [{m.family}{', per layer' if m.layers else ''}]: {m.definition}")


def summary(doc: str | None, width: int = 150) -> str:
    """A docstring's first paragraph on one line, shortened at a word (never mid-word, and never at
    an abbreviation's dot: "He et al. 2016")."""
    first = (doc or "").strip().split("\n\n")[0]
    return textwrap.shorten(" ".join(first.split()), width=width, placeholder=" ...")


def print_family(family: str, markdown: bool = False) -> None:
    if family == "metrics":
        print_metrics(markdown)
        return

    registry = {"losses": LOSSES, "classifiers": CLASSIFIERS, "models": MODELS, "datasets": DATASETS}[family]
    print(f"{family} (default {registry.default}):")
    for cls in registry.variants():
        keys = [f"{k}={getattr(f.default, '__name__', f.default)!r}" if not f.is_required() else k for k, f in cls.keys().items() if k != "name"]
        print(f"  {' | '.join(cls.names())}: {summary(cls.__doc__)}")
        if keys:
            print(f"      keys: {', '.join(keys)}")
