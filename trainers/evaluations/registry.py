"""The evaluation registry: name -> a pure function of a split's features and labels, its keys and
its source. Like the metrics (trainers/metrics/registry.py), an evaluation is a function, not a
config variant: it has no keys of its own, its constants are named in its module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Evaluation:
    name: str
    fn: Callable  # (EvalInputs) -> {key: float}
    keys: tuple[str, ...]
    definition: str  # the first paragraph of fn's docstring: the formula and its source
    needs: str | None = None  # the setting without which it has nothing to read ("data.open_set")

    @property
    def family(self) -> str:
        return self.fn.__module__.rsplit(".", 1)[-1]


class EvaluationRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Evaluation] = {}

    def add(self, entry: Evaluation) -> None:
        if entry.name in self._by_name and self._by_name[entry.name].fn is not entry.fn:
            raise ValueError(f"evaluation {entry.name!r} is registered twice")
        self._by_name[entry.name] = entry

    def names(self) -> list[str]:
        return list(self._by_name)

    def __getitem__(self, name: str) -> Evaluation:
        return self._by_name[name]

    def __iter__(self):
        return iter(self._by_name.values())


EVALUATIONS = EvaluationRegistry()


def evaluation(name: str, keys: tuple[str, ...], needs: str | None = None) -> Callable:
    """Register fn(EvalInputs) -> {key: value} for each of `keys`, logged `<split>/<name>/<key>`;
    `needs` names the setting it reads (a trial listing it without that setting is a config error)."""

    def register(fn: Callable) -> Callable:
        doc = (fn.__doc__ or "").strip().split("\n\n")[0]
        EVALUATIONS.add(Evaluation(name, fn, keys, " ".join(doc.split()), needs))
        return fn

    return register
