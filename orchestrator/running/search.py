"""Run a sweep with a `search:` section: one Tune experiment per grid x cases point, in turn.

Each point gets the same budget (`num_samples` configurations x `seeds`) and the same searcher seed,
so the values of the `--per` axis of `ncsweep tune` are tuned alike: with `random`, every point
even draws the same configurations. The sampling is Tune's: `random` is its BasicVariantGenerator
with the seeds as a grid key held constant across (`constant_grid_search`: one draw, run once per
seed); `optuna` is its OptunaSearch (TPE) behind a Repeater, which runs each suggestion once per
seed and reports the mean over the seeds back to the searcher. Early stopping is Tune's ASHA on the
same metric. The trials get readable names only once Tune has sampled them: the tracker asks
`SampleNames` (orchestrator/tracking.py, `resolve`).

A search is not resumable (`ncsweep resume` refuses it): its searchers' state lives per point.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from ray import tune

from orchestrator.errors import BadInput
from orchestrator.output.progress import SweepProgress
from orchestrator.running.session import Started, SweepOutcome, fit_tuners, start_sweep, tune_run_config
from orchestrator.running.trainable import train_sampled_trial
from orchestrator.sweep.search import sample_label, sampled_config
from orchestrator.sweep.spec import Sweep, Trial

SEED_INDEX = "seed_index"  # the random search's grid key: which of the sweep's seeds a trial runs
TRIAL_INDEX = "__trial_index__"  # Repeater's key for the same (Optuna)


@dataclass(frozen=True)
class Sample:
    """What a search's trial ran: its grid x cases point (group name), sampled values and seed."""

    point: str
    sampled: dict[str, Any]
    seed: int


class SampleNames:
    """Names one point's trials as Tune creates them: `<point>-<values>-s<seed>` in the group
    `<point>-<values>` (the seeds of one sampled configuration pool in MLflow's group-by). A draw
    that repeats an earlier one's values (a choice-only space, or TPE suggesting a point again) is a
    trial of its own: `-n<k>` sets its group apart."""

    def __init__(self, point: Trial, seeds: list[int], progress: SweepProgress, samples: dict[str, Sample]):
        self.point, self.seeds, self.progress, self.samples = point, seeds, progress, samples
        self.config = point.config.model_dump(mode="json")  # what every draw starts from
        # the draw's values as JSON -> its draws so far: (label, the seed indices that have run it)
        self.draws: dict[str, list[tuple[str, set[int]]]] = {}

    def label(self, sampled: dict[str, Any], index: int) -> str:
        """The draw's label. A draw's seeds are created one after another (Tune's grid over the
        seed index; the Repeater's group), so a seed joins the first draw of these values that
        lacks it, and a seed that every such draw has means a new draw."""
        draws = self.draws.setdefault(json.dumps(sampled, sort_keys=True), [])
        for label, indices in draws:
            if index not in indices:
                indices.add(index)
                return label
        used = {label for same in self.draws.values() for label, _ in same}
        label, k = sample_label(sampled), len(used)
        while label in used:
            label, k = f"{sample_label(sampled)}-n{k}", k + 1
        draws.append((label, {index}))
        return label

    def __call__(self, trial) -> Trial:
        sampled = dict(trial.config["space"])
        index = trial.config.get(TRIAL_INDEX, trial.config.get(SEED_INDEX, 0))
        seed = self.seeds[index]
        group = "-".join(
            part for part in (self.point.group if self.point.overrides else "", self.label(sampled, index)) if part
        )
        try:
            config = sampled_config(self.config, sampled, seed)
        except BadInput:  # a combination the ranges' ends did not show; the trial reports the error
            config = self.point.config
        name = f"{group}-s{seed}"
        self.samples[name] = Sample(self.point.group, sampled, seed)
        self.progress.claim(self.point.group, name, config.train.epochs)
        return Trial(name, config, group, self.point.overrides)


def trial_dirname(trial) -> str:
    return trial.trial_id


def point_tuner(sweep: Sweep, point: Trial, index: int, run: Started, max_concurrent: int | None) -> tune.Tuner:
    """The Tune experiment of one point: its searcher, ASHA if asked, and the sampled trainable."""
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator
    from ray.tune.search.repeater import Repeater

    spec, search = sweep.spec, sweep.spec.search
    seeds = len(spec.seeds)
    limit = max_concurrent or spec.max_concurrent
    space: dict[str, Any] = {"space": {key: d.domain() for key, d in search.space.items()}}
    if search.algorithm == "random":
        space[SEED_INDEX] = tune.grid_search(list(range(seeds)))
        # The generator limits its own concurrency (Tune's max_concurrent_trials takes Searchers only).
        algorithm, samples = (
            BasicVariantGenerator(constant_grid_search=True, random_state=search.seed, max_concurrent=limit or 0),
            search.num_samples,
        )
        limit = None
    else:
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        if run.verbosity == 0:  # "A new study created in memory": the progress view says what runs
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        optuna = OptunaSearch(metric=search.metric, mode=search.mode, seed=search.seed)
        algorithm, samples = Repeater(optuna, repeat=seeds, set_index=True), search.num_samples * seeds
    scheduler = None
    if spec.scheduler is not None:
        longest = max(t.config.train.epochs for t in sweep.trials)
        scheduler = ASHAScheduler(
            time_attr="epoch",
            metric=search.metric,
            mode=search.mode,
            max_t=longest,
            grace_period=spec.scheduler.grace_period,
            reduction_factor=spec.scheduler.reduction_factor,
        )
    resources = {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu}
    trainable = tune.with_parameters(
        train_sampled_trial,
        point=point.config.model_dump(mode="json"),
        seeds=list(spec.seeds),
        checkpoint_every=spec.checkpoint.every,
    )
    return tune.Tuner(
        tune.with_resources(trainable, resources),
        param_space=space,
        tune_config=tune.TuneConfig(
            search_alg=algorithm,
            scheduler=scheduler,
            num_samples=samples,
            max_concurrent_trials=limit,
            reuse_actors=True,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=tune_run_config(sweep, f"point{index}", run.results_dir, run),
    )


def run_search(
    sweep: Sweep,
    tracking_uri: str,
    storage: str,
    max_concurrent: int | None = None,
    wait_for_resources: bool = False,
    verbose: bool = False,
) -> SweepOutcome:
    """Every point's search in turn under one MLflow parent run; the outcome's `samples` say what
    each trial ran (for `ncsweep tune`)."""
    # A search's metric is logged every metrics.every epochs: the epochs between have none, which
    # Tune would otherwise take for a typo in the metric's name (validate checked the name).
    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
    spec, search = sweep.spec, sweep.spec.search
    where = list(sweep.points().values())
    per_point = search.num_samples * len(spec.seeds)
    progress = SweepProgress({f"{p.group}#{i}": p.config.train.epochs for p in where for i in range(per_point)})
    run = start_sweep(sweep, tracking_uri, storage, wait_for_resources, verbose, progress)
    samples: dict[str, Sample] = {}
    stopping = (
        f", ASHA (grace {spec.scheduler.grace_period}, reduction {spec.scheduler.reduction_factor:g})"
        if spec.scheduler
        else ""
    )
    print(
        f"Searching sweep {spec.name!r}: {search.num_samples} {search.algorithm} samples x {len(spec.seeds)} "
        f"seeds at each of {len(where)} points "
        f"= {sweep.total} trials, judged on {search.metric} ({search.mode}){stopping} (MLflow parent run "
        f"{run.parent_run_id})",
        flush=True,
    )
    print(f"Results:  {run.results_dir}  (a search is not resumable: if this driver dies, run it again)", flush=True)

    def tuners():
        for index, point in enumerate(where):
            run.tracker.resolve = SampleNames(point, list(spec.seeds), progress, samples)
            yield point_tuner(sweep, point, index, run, max_concurrent)

    outcome = fit_tuners(tuners(), run.client, run.tracker, run.results_dir, sweep.total, run.started, progress)
    outcome.samples = samples
    return outcome
