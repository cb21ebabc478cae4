"""`ncsweep bench`: run the measurements for one trial config and print them as one table (also
written as JSON).

Rows, all in training images/s on the current device:
- the trial's own training (ncsweep's on-device batches) for each way of computing the device
  supports: fp32, bf16 autocast, channels_last, the trial's default, torch.compile;
- with `reference`, the same model, batch and optimizer fed by the official code's loader, and
  the ratio ncsweep / official;
- the metrics pass (every NC metric on every configured split, and the layers of
  `metrics.layers` when the trial sets it) as a share of an epoch at `metrics.every: 1`, and
  against a plain forward of the same images through the backbone with no metric: what the metric
  math adds on top of the forward it needs;
- the evaluations (metrics.evaluations, else those that need no setting: retrieval and
  verification) on the test split, against the plain forward of the test split they need;
- with `pack`, N concurrent copies of the trial (as Ray places trials with `gpu: 1/N`), their
  aggregate and its ratio to one copy.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from trainers.accel import autocast_dtype, resolve_device, use_channels_last
from trainers.bench.feeds import ncsweep_steps, official_steps
from trainers.bench.pack import packed_images_per_s
from trainers.bench.timing import device_name, synchronize, timed
from trainers.config import TrialConfig
from trainers.evaluate import evaluate, feature_chunks
from trainers.setup import prepare

# Without a TRIAL file: the paper's CIFAR-10 ResNet-18 recipe (CIFAR stem, batch 128, DA1 crop and
# flip), every metric every epoch, on random CIFAR-10 files of this many images (train, test; the
# second pair with --quick). The metrics share does not depend on the size, only on the 5:1 ratio.
BENCH_TRIAL = {
    "data": {"name": "cifar10"},
    "model": {"name": "resnet18"},
    "train": {"batch_size": 128, "augment": "da1"},
    "metrics": {"every": 1},
}
BENCH_DATA = {False: (10_000, 2_000), True: (1_280, 256)}
# Steps per measurement (warm-up, timed) by device and --quick: enough on a GPU for cuDNN's search
# and torch.compile to settle; on a CPU a ResNet-18 step at batch 128 takes seconds.
STEPS = {("cuda", False): (10, 100), ("cuda", True): (5, 30), ("cpu", False): (2, 8), ("cpu", True): (1, 3)}
MIN_SECONDS = {False: 10.0, True: 3.0}  # and at least this long (--quick), for models whose step takes ms
COMPILE_WARMUP = 3  # the first compiled steps compile (forward, then backward)


@dataclass(frozen=True)
class Setting:
    """One way of computing a training step."""

    bf16: bool
    channels_last: bool
    compile: bool = False

    @property
    def label(self) -> str:
        parts = ["bf16" if self.bf16 else "fp32", "channels_last" if self.channels_last else "NCHW"]
        return " + ".join(parts + (["compile"] if self.compile else []))

    def apply(self, config: TrialConfig) -> TrialConfig:
        train = config.train.model_copy(
            update={
                "precision": "bf16" if self.bf16 else "fp32",
                "channels_last": self.channels_last,
                "compile": self.compile,
            }
        )
        return config.model_copy(update={"train": train})


@dataclass
class Row:
    row: str
    images_per_s: float | None = None
    ratio: float | None = None  # to the row named in `note`
    note: str = ""


def trial_default(config: TrialConfig, device: torch.device, input_shape: tuple[int, ...]) -> Setting:
    return Setting(
        autocast_dtype(config.train, device) is not None,
        use_channels_last(config.train, device, input_shape),
        config.train.compile,
    )


def settings(default: Setting, device: torch.device, images: bool, quick: bool) -> tuple[list[Setting], list[Row]]:
    """The settings to measure on this device, and rows saying why others are not."""
    skipped: list[Row] = []
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        bf16 = bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())
    if not bf16:
        skipped.append(Row("bf16 autocast", note="skipped: no native bf16 on this device (it would be emulated)"))
    candidates = [Setting(False, False), Setting(True, False), Setting(False, True), Setting(True, True), default]
    chosen = []
    for s in candidates:
        if (s.bf16 and not bf16) or (s.channels_last and not images) or s in chosen:
            continue
        chosen.append(s)
    if device.type == "cpu" and quick:
        skipped.append(Row("torch.compile", note="skipped with --quick on a CPU (compiling takes minutes here)"))
    else:
        chosen.append(Setting(default.bf16, default.channels_last, True))
    return chosen, skipped


def images_per_s(config: TrialConfig, data, steps_of, warmup: int, steps: int, min_seconds: float) -> float:
    t = prepare(config, data)
    done, seconds, _ = timed(steps_of(t), t.device, warmup, steps, min_seconds)
    return done * config.train.batch_size / seconds


def _seconds(run, device: torch.device) -> float:
    run()  # warm-up: cuDNN's algorithm search
    synchronize(device)
    started = time.perf_counter()
    run()
    synchronize(device)
    return time.perf_counter() - started


def metrics_share(config: TrialConfig, data, train_images_per_s: float) -> tuple[float, float, float]:
    """(seconds of one metrics pass, its share of an epoch that trains on the whole training split
    at `train_images_per_s` and then runs the pass, seconds of a plain forward of the same images:
    each configured split once through the backbone, the features thrown away)."""
    t = prepare(config, data)
    seconds = _seconds(lambda: evaluate(config, t.model, data, channels_last=t.channels_last, tap=t.tap), t.device)

    def plain() -> None:
        for split in config.metrics.splits:
            for _ in feature_chunks(t.model, data, split, config, t.channels_last):
                pass

    forward = _seconds(plain, t.device)
    epoch = data.train_size / train_images_per_s
    return seconds, seconds / (epoch + seconds), forward


def evaluations_cost(config: TrialConfig, data) -> tuple[float, float, tuple[str, ...]]:
    """(seconds of a plain forward of the test split, seconds of the evaluations on its features,
    their names): metrics.evaluations, else every evaluation that needs no setting."""
    from trainers.evaluate import evaluation_inputs, run_evaluations
    from trainers.evaluations import EVALUATIONS
    from trainers.metrics import Context, SplitPass

    names = config.metrics.evaluations or tuple(e.name for e in EVALUATIONS if e.needs is None)
    config = config.model_copy(update={"metrics": config.metrics.model_copy(update={"evaluations": names})})
    t = prepare(config, data)
    ctx = Context.from_head(t.model.head)
    chunks: list = []

    def forward() -> None:
        chunks.clear()
        chunks.extend((f.float(), y) for f, y, _, _ in feature_chunks(t.model, data, "test", config, t.channels_last))

    seconds = _seconds(forward, t.device)
    train = SplitPass(ctx)
    for f, y, _, _ in feature_chunks(t.model, data, "train", config, t.channels_last):
        train.first(f, y)
    stats = train.statistics()

    def evaluations() -> None:
        run_evaluations(config, evaluation_inputs(config, t.model, data, ctx, chunks, stats, t.channels_last), "test")

    return seconds, _seconds(evaluations, t.device), names


def run_bench(config: TrialConfig, reference: bool, pack: list[int], quick: bool, cpus: int, say=print) -> dict:
    """Measure, print progress through `say`, and return the table as a JSON-ready dict."""
    device = resolve_device(config.train.device)
    if device.type == "cpu":
        torch.set_num_threads(cpus)
    warmup, steps = STEPS[(device.type, quick)]
    min_seconds = MIN_SECONDS[quick]
    data = config.data.prepared().to(device)
    images = len(data.input_shape) == 3
    default = trial_default(config, device, data.input_shape)
    chosen, skipped = settings(default, device, images, quick)
    rows: list[Row] = []
    measured: dict[Setting, float] = {}
    for setting in chosen:
        say(f"measuring {setting.label} ...")
        # Compiled: the epoch's last, smaller batch recompiles once (dynamic batch size) and so
        # belongs in the warm-up, not in the timed steps (it cost 25x on an H200 at 10,000 images).
        extra = COMPILE_WARMUP + math.ceil(data.train_size / config.train.batch_size) if setting.compile else 0
        measured[setting] = images_per_s(setting.apply(config), data, ncsweep_steps, warmup + extra, steps, min_seconds)
    base = measured[default]
    for setting, value in measured.items():
        rows.append(
            Row(
                f"ncsweep, {setting.label}",
                value,
                value / base,
                "the trial's setting" if setting == default else "ratio to the trial's setting",
            )
        )
    if reference:
        if config.data.name != "cifar10":
            rows.append(Row("official loader", note="skipped: the official recipe reads CIFAR-10 (data.name: cifar10)"))
        else:
            say(f"measuring the official loader ({cpus} workers) ...")
            official = images_per_s(
                default.apply(config),
                data,
                lambda t: official_steps(t, config.data.data_root(), cpus),
                warmup + 1,
                steps,
                min_seconds,
            )
            rows.append(Row(f"official loader ({cpus} workers), {default.label}", official, None, ""))
            rows.append(
                Row(
                    "ratio ncsweep / official",
                    None,
                    base / official,
                    f"{default.label}, batch {config.train.batch_size}",
                )
            )
    say("measuring the metrics pass ...")
    seconds, share, forward = metrics_share(default.apply(config), data, base)
    layers = f" and layers {config.metrics.layers}" if config.metrics.layers else ""
    rows.append(
        Row(
            "metrics pass, share of an epoch at metrics.every 1",
            None,
            share,
            f"{seconds:.2f} s per pass over {', '.join(config.metrics.splits)}{layers}",
        )
    )
    rows.append(
        Row(
            "metrics pass / plain forward",
            None,
            seconds / forward,
            f"the same images through the backbone, no metric: {forward:.2f} s",
        )
    )
    say("measuring the evaluations ...")
    forward, spent, names = evaluations_cost(default.apply(config), data)
    rows.append(
        Row(
            "evaluations + test forward / test forward",
            None,
            (forward + spent) / forward,
            f"{', '.join(names)}: {spent:.2f} s on the test features; their forward {forward:.2f} s",
        )
    )
    for copies in pack:
        say(f"measuring {copies} packed copies ...")
        total = packed_images_per_s(default.apply(config), copies, warmup, steps, cpus, min_seconds)
        rows.append(Row(f"pack {copies} (aggregate)", total, None, f"{max(1, cpus // copies)} CPU threads each"))
    rows += skipped
    one = next((r.images_per_s for r in rows if r.row == "pack 1 (aggregate)"), None)
    for r in rows:
        if r.row.startswith("pack ") and one:
            r.ratio = r.images_per_s / one
            r.note += "; ratio to pack 1"
    return {
        "device": device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "command": " ".join(["ncsweep", *sys.argv[1:]]) if sys.argv else "ncsweep bench",
        "quick": quick,
        "cpus": cpus,
        "steps": {"warmup": warmup, "timed_at_least": steps, "seconds_at_least": min_seconds},
        "train_size": data.train_size,
        "config": config.model_dump(mode="json"),
        "rows": [asdict(r) for r in rows],
    }


def print_table(result: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ncsweep bench on {result['device']} (torch {result['torch']})")
    for name, justify in (("row", "left"), ("images/s", "right"), ("ratio", "right"), ("note", "left")):
        table.add_column(name, justify=justify)
    for r in result["rows"]:
        ratio = "" if r["ratio"] is None else (f"{r['ratio']:.1%}" if "share" in r["row"] else f"{r['ratio']:.2f}x")
        table.add_row(r["row"], "" if r["images_per_s"] is None else f"{r['images_per_s']:,.0f}", ratio, r["note"])
    (console or Console(width=160)).print(table)


def write_json(result: dict, path: Path) -> None:
    path.write_text(json.dumps(result, indent=2) + "\n")
