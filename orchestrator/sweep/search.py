"""The `search:` and `scheduler:` sections of a sweep file: what is sampled, how, and what stops early.

A search samples `num_samples` configurations from `space` (dotted keys -> one distribution each)
for every point of `grid` x `cases`, and runs each configuration once per seed. The distributions
are Ray Tune's (`tune.uniform` and friends), the searchers Tune's BasicVariantGenerator (`random`)
and OptunaSearch (`optuna`, TPE), the early stopping Tune's ASHA: ncsweep only checks the file and
names the trials (orchestrator/search.py runs them).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from analysis.store.layout import SPLITS
from orchestrator.errors import BadInput, dotted, from_validation
from orchestrator.sweep.names import name_part, points_of
from trainers.config import TrialConfig, set_dotted
from trainers.metrics import METRICS
from trainers.strict import StrictModel

KINDS = ("uniform", "loguniform", "randint", "quniform", "choice")


class Distribution(StrictModel):
    """Exactly one of: uniform [low, high]; loguniform [low, high] (low > 0); randint [low, high)
    (high excluded, as in Tune and numpy); quniform [low, high, q] (multiples of q); choice [values]."""

    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None
    quniform: tuple[float, float, float] | None = None
    choice: list[Any] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Distribution:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"expected exactly one distribution, one of {', '.join(KINDS)} (got {', '.join(given) or 'none'})"
            )
        if self.choice is None:
            low, high = getattr(self, self.kind)[:2]
            if not low < high:
                raise ValueError(f"{self.kind}: expected [low, high] with low < high (got {low:g}, {high:g})")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            raise ValueError(f"loguniform: the low end must be above 0 (got {self.loguniform[0]:g})")
        if self.quniform is not None and self.quniform[2] <= 0:
            raise ValueError(f"quniform: q must be above 0 (got {self.quniform[2]:g})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    def extremes(self) -> list[Any]:
        """The values a sampled trial can take at the ends of the range (every value of a choice):
        `validate` checks a trial config with each, so a bad range fails before anything runs."""
        if self.choice is not None:
            return list(self.choice)
        if self.randint is not None:
            return [self.randint[0], self.randint[1] - 1]
        if self.quniform is not None:
            low, high, q = self.quniform
            return [math.ceil(low / q) * q, math.floor(high / q) * q]
        return list(getattr(self, self.kind))

    def domain(self):
        """Ray Tune's sampling domain for this distribution."""
        from ray import tune

        if self.choice is not None:
            return tune.choice(list(self.choice))
        if self.quniform is not None:
            return tune.quniform(*self.quniform)
        return getattr(tune, self.kind)(*getattr(self, self.kind))

    def describe(self) -> str:
        values = getattr(self, self.kind)
        return f"{self.kind} [{', '.join(map(str, values))}]"


class SearchSpec(StrictModel):
    algorithm: Literal["random", "optuna"] = "random"
    num_samples: int = Field(ge=1)  # configurations sampled for every grid x cases point
    # What a configuration is judged on: `<split>/<metric>` at its last epoch, mean over its seeds.
    metric: str = "val/acc"
    mode: Literal["max", "min"] = "max"
    seed: int = Field(0, ge=0, lt=2**32)  # the searcher's: the same seed samples the same values
    space: dict[str, Distribution] = Field(min_length=1)

    @property
    def split(self) -> str:
        return self.metric.split("/", 1)[0]


class SchedulerSpec(StrictModel):
    """Tune's ASHA (Li et al., MLSys 2020): at epochs grace_period * reduction_factor^k, a trial
    whose search metric is not in the top 1/reduction_factor of those that reached that epoch stops."""

    name: Literal["asha"] = "asha"
    grace_period: int = Field(1, ge=1)  # epochs every trial runs before it can be stopped
    reduction_factor: float = Field(4.0, gt=1.0)


def check_search(spec, trials, source: str) -> None:
    """BadInput for a search that cannot run as written: a scheduler without a search, a sampled
    key that the grid, the cases or the seeds also set, a metric that is not `<split>/<metric>`,
    selection on the test split not allowed in so many words, a val metric without a validation
    split, or a range whose ends make an invalid trial config at some grid x cases point."""

    search = spec.search
    if search is None:
        raise BadInput(
            f"{source}: scheduler: early stopping needs a search: section (its metric and mode say what to stop on)"
        )
    case_keys = {k for case in spec.cases for k in case}
    for key in search.space:
        if key == "seed":
            raise BadInput(
                f"{source}: search.space.seed: the seeds come from seeds: (each sampled configuration runs once "
                "per seed)"
            )
        if key in (spec.grid or {}) or key in case_keys:
            raise BadInput(
                f"{source}: search.space.{key}: set by the {'grid' if key in (spec.grid or {}) else 'cases'} "
                "too; keep it in one of them"
            )
    split, _, name = search.metric.partition("/")
    if split not in SPLITS or name not in METRICS.keys():
        raise BadInput(
            f"{source}: search.metric: {search.metric!r} is not a logged metric; allowed: <split>/<metric> with "
            f"split {', '.join(SPLITS)} and a metric of `ncsweep list metrics`, e.g. val/acc"
        )
    if split == "test" and not spec.allow_test_selection:
        raise BadInput(
            f"{source}: search.metric: {search.metric!r} selects on the test split, which then no longer "
            "measures generalization; "
            "select on val/ (set data.val_fraction), or set allow_test_selection: true if you mean it"
        )
    if split == "val" and not all(t.config.data.val_fraction for t in trials):
        raise BadInput(
            f"{source}: search.metric: {search.metric!r} needs a validation split; set data.val_fraction in "
            "base (e.g. 0.1)"
        )
    if spec.scheduler is not None:
        shortest = min(t.config.train.epochs for t in trials)
        if spec.scheduler.grace_period > shortest:
            raise BadInput(
                f"{source}: scheduler.grace_period: {spec.scheduler.grace_period} epochs, more than a trial's "
                f"train.epochs ({shortest})"
            )

    for key, distribution in search.space.items():
        for value in distribution.extremes():
            for point in points_of(trials).values():
                sampled_config(
                    point.config.model_dump(mode="json"),
                    {key: value},
                    point.config.seed,
                    source,
                    f"search.space.{key} (value {value!r})",
                )


def sampled_config(
    point: dict, sampled: dict[str, Any], seed: int, source: str = "search", where: str = "search.space"
) -> TrialConfig:
    """The TrialConfig of a point's config with the sampled values and the seed set; BadInput
    naming `source` and `where` if they make it invalid."""
    tree = copy.deepcopy(point)
    try:
        for key, value in sampled.items():
            set_dotted(tree, key, value)
    except KeyError:
        raise BadInput(f"{source}: {where}: goes through a value that is not a section") from None
    tree["seed"] = seed
    try:
        return TrialConfig.model_validate(tree)
    except ValidationError as exc:
        raise from_validation(
            exc, source, TrialConfig, lambda loc: where + (f", at {dotted(loc)}" if loc else "")
        ) from None


def sample_label(sampled: dict[str, Any]) -> str:
    """A sampled configuration in a run name: `lr0.000316-bs64` (floats to 3 significant digits)."""

    return "-".join(
        name_part(key, float(f"{value:.3g}") if isinstance(value, float) else value) for key, value in sampled.items()
    )
