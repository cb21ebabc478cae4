"""Sweep files: load, validate and expand into one `TrialConfig` per trial.

A sweep is `base` (one partial TrialConfig) x `grid` (cartesian product over dotted keys) x
`cases` (coupled overrides) x `seeds`. The expansion is ours, not Tune's search-space DSL, so that
`ncsweep validate` can check every trial exactly, without Ray.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from orchestrator.errors import BadInput, dotted, from_validation, shown
from orchestrator.sweep.names import points_of, trial_name
from orchestrator.sweep.search import SchedulerSpec, SearchSpec, check_search
from trainers.config import TrialConfig, set_dotted
from trainers.strict import StrictModel


class Resources(StrictModel):
    cpu: float = Field(1.0, gt=0)
    gpu: float = Field(0.0, ge=0)  # fractional: 0.25 packs four trials onto one GPU


class CheckpointSpec(StrictModel):
    # Epochs between checkpoints (and always one at the last epoch); 0 = none, so a retried or
    # resumed trial starts over. A ResNet-18 state is ~90 MB: every 5-10 epochs costs little.
    every: int = Field(5, ge=0)
    keep: int = Field(2, ge=1)  # newest checkpoints kept per trial in the Tune storage


class FailureSpec(StrictModel):
    # Times Tune restarts a trial that raised or whose node died, from its latest checkpoint.
    # A bug fails every try alike, so keep this small.
    max_retries: int = Field(0, ge=0)


class SweepSpec(StrictModel):
    name: str = Field(min_length=1)
    experiment: str = "ncsweep"
    description: str = ""
    tracking_uri: str | None = None
    base: dict[str, Any] = {}
    grid: dict[str, list[Any]] | None = None
    cases: list[dict[str, Any]] = []
    seeds: list[int] = Field(default=[0], min_length=1)
    resources: Resources = Resources()
    max_concurrent: int | None = Field(None, ge=1)
    checkpoint: CheckpointSpec = CheckpointSpec()
    failure: FailureSpec = FailureSpec()
    search: SearchSpec | None = None  # sampled configurations per grid x cases point (search_spec.py)
    scheduler: SchedulerSpec | None = None  # early stopping of a search's trials
    # A search that selects on a test-split metric is bad input unless this says the user means it.
    allow_test_selection: bool = False
    # The seeds `ncsweep tune` runs each point's best configuration with (best.yaml).
    final_seeds: list[int] = Field(default=[0, 1, 2], min_length=1)
    # Extra #SBATCH options of `ncsweep slurm` (e.g. --mail-type=END, --constraint=a100).
    sbatch: list[str] = []


@dataclass(frozen=True)
class Trial:
    """One expanded trial: its readable name (the MLflow child run name), its config, and its group:
    the name without the seed, shared by the seeds of one setting (`bce-init5` for `bce-init5-s0`)."""

    name: str
    config: TrialConfig
    group: str = ""
    overrides: tuple[tuple[str, Any], ...] = ()  # what the grid and the case set, the seed left out


@dataclass(frozen=True)
class Sweep:
    path: Path
    spec: SweepSpec
    text: str
    trials: tuple[Trial, ...]

    @property
    def total(self) -> int:
        """Trials the sweep runs: one per expanded trial, times the samples of a search."""
        return len(self.trials) * (self.spec.search.num_samples if self.spec.search else 1)

    def points(self) -> dict[str, Trial]:
        """group -> its first trial: one per grid x cases point (what a search samples around)."""
        return points_of(self.trials)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def varied(self) -> dict[str, list[Any]]:
        """Dotted keys whose value differs between trials, with their distinct values in order."""
        flats = [t.config.flat() for t in self.trials]
        out: dict[str, list[Any]] = {}
        # Keys of every trial: variants carry their own keys (a ViT's model.kwargs.*, an LT's
        # data.imbalance_factor), so a key may be absent (None) in some trials.
        for key in dict.fromkeys(k for flat in flats for k in flat):
            values: list[Any] = []
            for flat in flats:
                if flat.get(key) not in values:
                    values.append(flat.get(key))
            if len(values) > 1:
                out[key] = values
        return out


def parse_yaml(text: str, where: str) -> Any:
    """YAML text -> Python values; what PyYAML cannot read (a syntax error, an impossible date,
    nesting deeper than Python's stack) is BadInput naming `where`."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        if not mark and getattr(exc, "position", None) is not None:  # the reader's errors: a byte YAML refuses
            at = f" (offset {exc.position})"
        detail = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{where}: not valid YAML{at}: {detail}") from None
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp with month 13
        raise BadInput(f"{where}: not valid YAML: {exc}") from None
    except RecursionError:
        raise BadInput(f"{where}: not valid YAML: nested too deeply") from None


def read_yaml(path: Path) -> tuple[str, Any]:
    """The text of a YAML file and its values. A path that is not a readable, non-empty UTF-8 YAML
    file is BadInput: one line naming the file and what is wrong with it."""
    if path.is_dir():
        raise BadInput(f"{path}: is a directory, not a YAML file")
    if not path.exists():
        raise BadInput(f"{path}: file not found")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); a sweep or trial "
            "file is YAML text"
        ) from None
    raw = parse_yaml(text, str(path))
    if raw is None:
        raise BadInput(f"{path}: empty (no YAML values in it)")
    return text, raw


def load_sweep(path: str | Path) -> Sweep:
    """Read, validate and expand a sweep file; every trial config is validated. Raises BadInput."""
    path = Path(path)
    text, raw = read_yaml(path)
    return _build(path, text, raw)


def sweep_from_text(path: str | Path, text: str) -> Sweep:
    """The sweep as it was when a run started (`ncsweep resume` keeps the text, not the file,
    which may have been edited since)."""
    return _build(Path(path), text, yaml.safe_load(text))


def _build(path: Path, text: str, raw: Any) -> Sweep:
    if not isinstance(raw, dict):
        raise BadInput(f"{path}: (top level): expected a mapping with keys {', '.join(SweepSpec.model_fields)}")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise from_validation(exc, str(path), SweepSpec) from None
    trials = tuple(expand(spec, str(path)))
    if spec.search is not None or spec.scheduler is not None:
        check_search(spec, trials, str(path))
    return Sweep(path, spec, text, trials)


def expand(spec: SweepSpec, source: str = "<sweep>") -> list[Trial]:
    """base x grid x cases x seeds -> validated trials (cases outermost, seeds innermost)."""
    if spec.grid is not None and not spec.grid:
        raise BadInput(
            f"{source}: grid: empty; give dotted keys with lists of values (e.g. loss.name: [ce, bce]), or "
            "leave grid out"
        )
    for key, values in (spec.grid or {}).items():
        if not values:
            raise BadInput(f"{source}: grid.{shown(key)}: empty list; give at least one value")
    grid = spec.grid or {}
    cases = spec.cases or [{}]
    for i, case in enumerate(cases):
        clash = sorted(set(case) & set(grid))
        if clash:
            raise BadInput(
                f"{source}: cases[{i}].{shown(clash[0])}: set by both grid and cases; keep it in one of them"
            )
    _check_config(spec.base, source, lambda loc: f"base.{dotted(loc)}" if loc else "base")
    trials: list[Trial] = []
    names: set[str] = set()
    for case_index, case in enumerate(cases):
        for combo in itertools.product(*grid.values()):
            for seed in spec.seeds:
                origin: dict[str, str] = {}
                overrides: list[tuple[str, Any]] = []
                tree = copy.deepcopy(spec.base)
                for key, value in [*zip(grid, combo), *case.items()]:
                    origin[key] = f"grid.{shown(key)}" if key in grid else f"cases[{case_index}].{shown(key)}"
                    overrides.append((key, value))
                    _set(tree, key, value, source, origin[key])
                named = [(k, v) for k, v in overrides if k in grid or k in _case_label_keys(case)]
                if "seed" not in grid and "seed" not in case:
                    tree["seed"] = seed
                    overrides.append(("seed", seed))
                    named.append(("seed", seed))
                name = trial_name(named)
                config = _check_config(tree, source, lambda loc: _blame(loc, origin, overrides, name))
                if name in names:
                    name = f"{name}-{len(trials)}"
                names.add(name)
                group = trial_name([(k, v) for k, v in named if k != "seed"])
                trials.append(Trial(name, config, group, tuple((k, v) for k, v in overrides if k != "seed")))
    return trials


def _case_label_keys(case: dict[str, Any]) -> list[str]:
    """A case is named by its `*.name` choices (sgd, adamw), or by all its keys if it has none."""
    names = [k for k in case if k.endswith(".name")]
    return names or list(case)


def _set(tree: dict[str, Any], key: str, value: Any, source: str, where: str) -> None:
    try:
        set_dotted(tree, key, value)
    except KeyError:
        raise BadInput(f"{source}: {where}: {key!r} goes through a value that is not a section") from None


def _blame(loc: tuple[Any, ...], origin: dict[str, str], overrides: list[tuple[str, Any]], name: str) -> str:
    """The sweep-file key responsible for an error at TrialConfig location `loc`: the grid or case
    entry that set it (or a key below it, for an unknown section), else `base`."""
    if not loc:  # a rule across sections: name the trial by what the sweep set
        return f"trial {name}"
    key = dotted(loc)
    values = dict(overrides)
    for candidate in [key, *(dotted(loc[:i]) for i in range(len(loc) - 1, 0, -1))]:
        if candidate in origin:
            return f"{origin[candidate]} (value {values[candidate]!r})"
    below = [k for k in origin if k.startswith(key + ".")]
    if below:
        return origin[below[0]]
    return f"base.{key}"


def _check_config(tree: dict[str, Any], source: str, where) -> TrialConfig:
    try:
        return TrialConfig.model_validate(tree)
    except ValidationError as exc:
        raise from_validation(exc, source, TrialConfig, where) from None
