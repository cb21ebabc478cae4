"""The registry of metrics: the one list of metric keys.

A metric is a small pure function registered under its key by one of two decorators:

- `@metric("key")`: a function of the split's accumulated statistics (`SplitStats`: class counts,
  means, the within-class scatter, the classifier, the score moments) returning a float;
- `@sample_metric("key")`: a function of one batch (`Batch`) returning one value per sample; the
  metric is the mean of those values over the split, summed batch by batch in float64. With
  `second_pass=True` the batch also carries the split's final class means (and the train split's),
  which exist only once the whole split has been seen; `finish` turns the mean into the value when
  it is not the value itself (a mean gradient into a residual).

`layers=True` also computes the metric on every intermediate layer named in `metrics.layers`
(a layer has features and labels but no classifier of its own).

The trial's reports, the MLflow keys, the Parquet schema, the table of docs/metrics.md and
`ncsweep list metrics` all read this registry, in registration order. Nothing here imports
torch: the driver reads the keys without paying torch's import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["summary", "sample"]


@dataclass(frozen=True)
class Metric:
    key: str
    fn: Callable[..., Any]
    kind: Kind
    layers: bool = False  # also on intermediate layers
    second_pass: bool = False  # sample metric that needs the split's final class means
    finish: Callable[..., float] | None = None  # sample metric: (mean over samples, SplitStats) -> value
    only: str | None = None  # defined only under this condition ("label noise", "K > 5"): NaN otherwise
    label: str = ""  # its name for people (tables, figures, printed lines); default: the key, spaced

    @property
    def name(self) -> str:
        return self.label or self.key.replace("_", " ")

    @property
    def family(self) -> str:
        """The module that defines it (scores, nc1, etf, ncc, loss, or a user's file)."""
        return self.fn.__module__.rsplit(".", 1)[-1]

    @property
    def definition(self) -> str:
        """The first paragraph of its docstring on one line: the formula and where it comes from."""
        return " ".join((self.fn.__doc__ or "").strip().split("\n\n")[0].split())


class MetricRegistry:
    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def add(self, entry: Metric) -> None:
        if entry.key in self._metrics and self._metrics[entry.key].fn is not entry.fn:
            raise ValueError(
                f"metric key {entry.key!r} is registered twice: {self._metrics[entry.key].fn.__qualname__} and "
                f"{entry.fn.__qualname__}"
            )
        self._metrics[entry.key] = entry

    def __iter__(self):
        return iter(self._metrics.values())

    def __getitem__(self, key: str) -> Metric:
        return self._metrics[key]

    def __contains__(self, key: object) -> bool:
        return key in self._metrics

    def keys(self) -> list[str]:
        """Every key, in registration order: the per-split metrics `<split>/<key>`."""
        return list(self._metrics)

    def always_defined(self) -> list[str]:
        """The keys without an `only` condition: finite on any split of a trained model (but for
        the NaNs a metric's own definition names, such as a missing bias)."""
        return [m.key for m in self if m.only is None]

    def layer_keys(self) -> list[str]:
        """The keys also computed per layer: `<split>/layers/<name>/<key>`."""
        return [m.key for m in self if m.layers]


METRICS = MetricRegistry()


SPLITS = ("train", "val", "test")


def display_name(column: str) -> str:
    """The one name people read for a metric, in every table, figure, printed line and page:
    `<split> <the metric's name>`, whatever form the column takes (`final/test/uniform_acc`,
    `test/uniform_acc`, `test_uniform_acc`, `test uniform acc` all give `test uniform acc`).
    Anything else (`train/bias_position`, `optim/lr`) is spaced out as it is."""
    text = column
    for prefix in ("final/", "best/"):
        text = text.removeprefix(prefix)
    for separator in ("/", "_", " "):
        split, found, rest = text.partition(separator)
        if found and split in SPLITS:
            key = rest.replace(" ", "_")
            if key in METRICS:
                return f"{split} {METRICS[key].name}"
            named = [m for m in METRICS if m.name == rest]  # already a display name
            if named:
                return f"{split} {named[0].name}"
    return text.replace("/", " ").replace("_", " ")


def metric(key: str, *, layers: bool = False, label: str = "", only: str | None = None) -> Callable:
    """Register fn(SplitStats) -> float under `key` (`label`: its name for people, if not the key's;
    `only`: the condition outside which it is always NaN)."""

    def register(fn: Callable) -> Callable:
        METRICS.add(Metric(key, fn, "summary", layers=layers, label=label, only=only))
        return fn

    return register


def sample_metric(
    key: str,
    *,
    layers: bool = False,
    second_pass: bool = False,
    finish: Callable | None = None,
    only: str | None = None,
    label: str = "",
) -> Callable:
    """Register fn(Batch) -> per-sample values (a tensor with one row per sample, or None when the
    metric does not apply: the value is then NaN) under `key`; the value is their mean over the
    split, or finish(mean, SplitStats). `only` names the condition outside which it is always NaN."""

    def register(fn: Callable) -> Callable:
        metric = Metric(
            key, fn, "sample", layers=layers, second_pass=second_pass, finish=finish, only=only, label=label
        )
        METRICS.add(metric)
        return fn

    return register
