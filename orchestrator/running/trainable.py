"""The Tune trainable, in a module of its own: a trial's worker imports this module to unpickle
the function, and it pulls in only Ray Tune and the trainer (not the driver's MLflow, pandas and
rich: over a second of import on every worker's first trial)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import ray
from ray import tune

from orchestrator.sweep.search import sampled_config
from trainers import state as train_state
from trainers.config import TrialConfig
from trainers.report import CHECKPOINT, DISTRIBUTIONS


def train_trial(tune_config: dict, configs: dict[str, dict]) -> None:
    """The Tune trainable: a plain function that rebuilds the typed config and reports each epoch.

    Tune's config holds only the trial's name; `configs` (name -> config, in Ray's object store
    once for the sweep) holds the rest. Tune deep-copies its configs per trial and writes them all
    into every experiment-state snapshot, so a full config there costs the driver time that
    grows with the square of the trial count.

    A restarted trial (a retry after a failure, or a resumed sweep) gets its latest checkpoint from
    Tune and continues after that epoch. The final distributions travel as one JSON string: Tune's
    result loggers would otherwise flatten thousands of list entries into columns.
    """
    run_config(TrialConfig.model_validate(configs[tune_config["trial"]]), tune_config["checkpoint_every"])


def train_sampled_trial(tune_config: dict, point: dict, seeds: list[int], checkpoint_every: int) -> None:
    """The trainable of a search (orchestrator/search.py): Tune's config holds the sampled values
    (`space`, dotted keys) and the seed's index (Repeater's `__trial_index__` for Optuna, a grid
    key for the random search); `point` is the grid x cases point's config."""

    index = tune_config.get("__trial_index__", tune_config.get("seed_index", 0))
    run_config(sampled_config(point, tune_config["space"], seeds[index]), checkpoint_every)


def run_config(config: TrialConfig, checkpoint_every: int) -> None:
    """Train `config` under Tune: from its latest checkpoint when Tune restarts it, one report per epoch."""
    from trainers import run_trial  # torch: in the trial's worker only, the driver never needs it

    resume_from = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            resume_from = train_state.load(Path(folder))
    where = {
        "node_id": ray.get_runtime_context().get_node_id(),
        "resumed_from": resume_from["epoch"] if resume_from else 0,
    }

    def report(epoch: int, metrics: dict) -> None:
        result = {**metrics, **where, "epoch": epoch}
        if DISTRIBUTIONS in result:
            result[DISTRIBUTIONS] = json.dumps(result[DISTRIBUTIONS])
        state = result.pop(CHECKPOINT, None)
        if state is None:
            tune.report(result)
            return
        with tempfile.TemporaryDirectory() as folder:  # Tune copies it to the storage in report()
            train_state.save(state, Path(folder))
            tune.report(result, checkpoint=tune.Checkpoint.from_directory(folder))

    run_trial(config, report, checkpoint_every, resume_from)
