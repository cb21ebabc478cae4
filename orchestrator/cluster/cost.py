"""What a sweep costs: the estimate before it runs (`ncsweep validate SWEEP --cluster gpus=8,cpus=64
--bench bench.json`) and the bill after (`sweep/trial_hours`, `sweep/gpu_hours` on its parent run).

The estimate scales what `ncsweep bench` measured: a trial's epoch is (training images) / (images/s
of the trial's setting) plus the metrics pass at the measured share of an epoch, every
metrics.every epochs; trials asking for a fraction 1/n of a GPU run at the bench's `pack n` rate
per copy. The wall time spreads the trials over what the cluster runs at once (capacity.py).
It is only as good as the likeness of the bench's trial to the sweep's: the note says what it was.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from analysis.tables.summary import trial_hours
from orchestrator.cluster.capacity import capacity
from orchestrator.errors import BadInput

SETTING_NOTE = "the trial's setting"
SHARE_ROW = "metrics pass, share of an epoch"


@dataclass
class Estimate:
    trials: int
    at_once: int
    trial_hours: float  # summed over the trials
    gpu_hours: float  # trial hours x resources.gpu
    wall_s: float
    notes: list[str] = field(default_factory=list)


def setting_row(bench: dict) -> dict:
    """The bench's row for the trial's own setting (what a sweep's trial runs)."""
    return next(r for r in bench["rows"] if r.get("note") == SETTING_NOTE and r.get("images_per_s"))


def load_bench(path: str) -> dict:
    """The JSON `ncsweep bench` wrote; BadInput naming the file when it is not one."""
    try:
        bench = json.loads(Path(path).read_text())
        setting_row(bench)
        int(bench["train_size"])
    except FileNotFoundError:
        raise BadInput(f"--bench {path}: file not found; write one with `ncsweep bench --json {path}`") from None
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        raise BadInput(
            f"--bench {path}: not a JSON file written by `ncsweep bench` (it needs train_size and a row for "
            f"{SETTING_NOTE!r})"
        ) from None
    return bench


def images_per_s(bench: dict, gpu: float) -> tuple[float, str]:
    """A trial's training rate: the trial's setting, or per copy of `pack n` when trials ask 1/n of a GPU."""
    if 0 < gpu < 1:
        copies = round(1 / gpu)
        packed = next(
            (r for r in bench["rows"] if r["row"] == f"pack {copies} (aggregate)" and r.get("images_per_s")), None
        )
        if packed is not None:
            return packed[
                "images_per_s"
            ] / copies, f"pack {copies} ({packed['images_per_s']:.0f} images/s for {copies} copies)"
    setting = setting_row(bench)
    return setting["images_per_s"], f"{setting['row']} ({setting['images_per_s']:.0f} images/s)"


def trial_seconds(config, bench: dict, rate: float) -> float:
    """One trial's time: its epochs of training, plus the metrics passes at the measured share."""
    share = next(
        (r["ratio"] for r in bench["rows"] if r["row"].startswith(SHARE_ROW) and r.get("ratio") is not None), 0.0
    )
    epoch = bench["train_size"] / rate
    metrics = share / (1 - share) * epoch if share < 1 else 0.0
    epochs = config.train.epochs
    passes = math.ceil(epochs / config.metrics.every)
    return epochs * epoch + passes * metrics


def estimate(sweep, cluster: dict[str, float], bench: dict) -> Estimate:
    res = sweep.spec.resources
    rate, source = images_per_s(bench, res.gpu)
    samples = sweep.spec.search.num_samples if sweep.spec.search else 1
    seconds = [trial_seconds(t.config, bench, rate) for t in sweep.trials] * samples
    fit = capacity(res.cpu, res.gpu, cluster["cpus"], cluster.get("gpus", 0.0), len(seconds), sweep.spec.max_concurrent)
    if fit.at_once == 0:
        raise BadInput(
            f"{sweep.path}: resources (cpu {res.cpu:g}, gpu {res.gpu:g} per trial): no trial fits on the cluster given"
        )
    wall = max(sum(seconds) / fit.at_once, max(seconds))
    config = bench.get("config", {})
    notes = [
        f"from {bench.get('command', 'ncsweep bench')} on {bench.get('device', '?')}: {source}, "
        f"{config.get('data', {}).get('name', '?')} "
        f"{config.get('model', {}).get('name', '?')} at batch {config.get('train', {}).get('batch_size', '?')}, "
        f"{bench['train_size']} training images per epoch"
    ]
    names = {(t.config.data.name, t.config.model.name) for t in sweep.trials}
    if names != {(config.get("data", {}).get("name"), config.get("model", {}).get("name"))}:
        notes.append(
            f"the sweep's trials ({', '.join(sorted(f'{d} {m}' for d, m in names))}) differ from the bench's: "
            "bench one of them for a closer estimate"
        )
    if sweep.spec.scheduler is not None:
        notes.append("an upper bound: ASHA stops some trials early")
    hours = sum(seconds) / 3600
    return Estimate(len(seconds), fit.at_once, hours, hours * res.gpu, wall, notes)


def bill(trials, gpu: float) -> dict[str, float]:
    """sweep/trial_hours (the trials' wall times, summed) and sweep/gpu_hours (x resources.gpu)."""
    hours = trial_hours(trials)
    return {"trial_hours": hours, "gpu_hours": hours * gpu}
