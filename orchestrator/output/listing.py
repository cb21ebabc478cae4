"""`ncsweep list`: every registered loss, classifier head, model, dataset, optimizer, schedule,
augmentation and metric with its own keys and defaults. The registries (trainers/registry.py,
trainers/metrics/registry.py) are the only lists
of names; this reads them."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

from pydantic import BaseModel

from trainers.augment import AUGMENTATIONS
from trainers.data import DATASETS
from trainers.evaluations import EVALUATIONS
from trainers.heads import CLASSIFIERS
from trainers.losses import LOSSES
from trainers.metrics import METRICS
from trainers.models import MODELS
from trainers.optim import OPTIMIZERS
from trainers.schedules import SCHEDULES

FAMILIES = (
    "losses",
    "classifiers",
    "models",
    "datasets",
    "optimizers",
    "schedules",
    "augmentations",
    "metrics",
    "evaluations",
)
REGISTRIES = {
    "losses": LOSSES,
    "classifiers": CLASSIFIERS,
    "models": MODELS,
    "datasets": DATASETS,
    "optimizers": OPTIMIZERS,
    "schedules": SCHEDULES,
}


def metrics_markdown() -> str:
    """The metric registry as docs/metrics.md's table (`ncsweep list metrics --markdown`)."""

    rows = ["| key | definition | module | per layer |", "|---|---|---|---|"]
    for m in METRICS:
        rows.append(
            f"| `{m.key}` | {m.definition.replace('|', '&#124;')} | `{m.family}` | {'yes' if m.layers else ''} |"
        )
    return "\n".join(rows)


def evaluations_markdown() -> str:
    """The evaluation registry as docs/metrics.md's table (`ncsweep list evaluations --markdown`)."""
    rows = ["| `metrics.evaluations` | needs | logged keys | definition | module |", "|---|---|---|---|---|"]
    for e in EVALUATIONS:
        keys = ", ".join(f"`test/{e.name}/{k}`" for k in e.keys)
        needs = f"`{e.needs}`" if e.needs else ""
        rows.append(f"| `{e.name}` | {needs} | {keys} | {e.definition.replace('|', '&#124;')} | `{e.family}` |")
    return "\n".join(rows)


def _default(field) -> str:
    return "required" if field.is_required() else f"`{getattr(field.default, '__name__', field.default)!r}`"


def family_markdown(family: str) -> str:
    """One family's registry as a Markdown table (`ncsweep list FAMILY --markdown`): docs/plugins.md
    and docs/metrics.md hold these, and a test fails when a page is stale (`make docs` rewrites them)."""
    if family == "metrics":
        return metrics_markdown()
    if family == "evaluations":
        return evaluations_markdown()
    if family == "augmentations":
        rows = ["| `train.augment` | what it does | its keys (default) |", "|---|---|---|"]
        for name, cls in AUGMENTATIONS.items():
            keys = ", ".join(
                f"`{k}` ({v!r})" if not isinstance(v, BaseModel) else f"`{k}` (section)" for k, v in cls.keys.items()
            )
            rows.append(f"| `{name}` | {summary(cls.__doc__, 200)} | {keys or '-'} |")
        return "\n".join(rows)
    registry = REGISTRIES[family]
    losses = family == "losses"
    behaviour = bias_behaviour() if losses else {}
    rows = ["| name | what it is | keys (default) | module |", "|---|---|---|---|"]
    if losses:
        rows = ["| name | what it is | keys (default) | module | bias on digits (claim 7a) |", "|---|---|---|---|---|"]
    for cls in registry.variants():
        keys = ", ".join(f"`{k}` ({_default(f)})" for k, f in cls.keys().items() if k != "name")
        names = " \\| ".join(f"`{n}`" for n in cls.names())
        seen = f" {' / '.join(behaviour[n] for n in cls.names() if n in behaviour) or 'not run'} |" if losses else ""
        rows.append(
            f"| {names} | {summary(cls.__doc__, 200).replace('|', '&#124;')} | "
            f"{keys.replace('|', '&#124;') or '-'} | `{cls.__module__.replace('.', '/')}.py` |{seen}"
        )
    return "\n".join(rows)


# Written by `python -m analysis.outputs.behaviour` from the claims sweeps' results (docs/statistics.md).
CLAIMS_7A = Path(__file__).resolve().parents[2] / "docs" / "claims_7a.csv"


def bias_behaviour() -> dict[str, str]:
    """loss -> its side of the CE / BCE divide on claim 7a, as the digits claims sweeps showed it
    (docs/claims_7a.csv; none outside a checkout of the repository)."""
    if not CLAIMS_7A.exists():
        return {}
    with CLAIMS_7A.open(newline="") as f:
        return {row["loss"]: f"{row['behaviour']} (`{row['sweep'].rsplit('-', 2)[0]}`)" for row in csv.DictReader(f)}


BEGIN, END = "<!-- generated: ncsweep list {} --markdown -->", "<!-- end generated -->"


def refresh_docs(path) -> bool:
    """Rewrite every generated table of a docs page from the registries; True if anything changed."""
    page = Path(path)
    text = old = page.read_text()
    for family in FAMILIES:
        begin = BEGIN.format(family)
        if begin in text:
            head, _, rest = text.partition(begin)
            _, _, tail = rest.partition(END)
            text = f"{head}{begin}\n{family_markdown(family)}\n{END}{tail}"
    page.write_text(text)
    return text != old


def print_metrics() -> None:
    print("metrics (logged as <split>/<key>; per layer: <split>/layers/<name>/<key>):")
    for m in METRICS:
        print(f"  {m.key} [{m.family}{', per layer' if m.layers else ''}]: {m.definition}")


def summary(doc: str | None, width: int = 150) -> str:
    """A docstring's first paragraph on one line, shortened at a word (never mid-word, and never at
    an abbreviation's dot: "He et al. 2016")."""
    first = (doc or "").strip().split("\n\n")[0]
    return textwrap.shorten(" ".join(first.split()), width=width, placeholder=" ...")


def print_family(family: str, markdown: bool = False) -> None:
    if markdown:
        print(family_markdown(family))
        return
    if family == "metrics":
        print_metrics()
        return
    if family == "evaluations":
        print("evaluations (metrics.evaluations; logged as test/<evaluation>/<key> at the last epoch):")
        for e in EVALUATIONS:
            needs = f" (needs {e.needs})" if e.needs else ""
            print(f"  {e.name} [{', '.join(e.keys)}]{needs}: {summary(e.definition)}")
        return

    if family == "augmentations":
        print("augmentations (train.augment; default none):")
        for name, cls in AUGMENTATIONS.items():
            print(f"  {name}: {summary(cls.__doc__)}")
            if cls.keys:
                print(
                    "      keys: "
                    f"{', '.join(f'{k}={v!r}' if not isinstance(v, BaseModel) else k for k, v in cls.keys.items())}"
                )
        return
    registry = REGISTRIES[family]
    print(f"{family} (default {registry.default}):")
    for cls in registry.variants():
        keys = [
            f"{k}={getattr(f.default, '__name__', f.default)!r}" if not f.is_required() else k
            for k, f in cls.keys().items()
            if k != "name"
        ]
        print(f"  {' | '.join(cls.names())}: {summary(cls.__doc__)}")
        if keys:
            print(f"      keys: {', '.join(keys)}")


if __name__ == "__main__":  # `make docs`: python -m orchestrator.output.listing docs/*.md
    import sys

    for page in sys.argv[1:]:
        if refresh_docs(page):
            print(f"rewrote the generated tables of {page}")
