"""N copies of one trial training at once on one device, each in its own process with its own
CUDA context: what Ray does with `resources.gpu: 1/N`. The copies build and warm up apart, start
their timed steps together (a barrier) and the aggregate is all their images over the span from
the first start to the last end."""

from __future__ import annotations

import multiprocessing as mp

import torch

from trainers.bench.feeds import ncsweep_steps
from trainers.bench.timing import timed
from trainers.config import TrialConfig
from trainers.setup import prepare

TIMEOUT_S = 900  # a copy that has not reported by then is taken as failed


def _copy(config_json: str, warmup: int, steps: int, min_seconds: float, threads: int, barrier, results) -> None:
    try:
        torch.set_num_threads(threads)
        t = prepare(TrialConfig.model_validate_json(config_json))
        step = ncsweep_steps(t)
        timed(step, t.device, warmup, 0)  # warm up apart, then start together
        barrier.wait()
        done, seconds, started = timed(step, t.device, 0, steps, min_seconds)
        results.put((done * t.config.train.batch_size, started, started + seconds))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        barrier.abort()
        results.put(f"{type(exc).__name__}: {exc}")


def packed_images_per_s(
    config: TrialConfig, copies: int, warmup: int, steps: int, cpus: int, min_seconds: float = 0.0
) -> float:
    """Aggregate training images/s of `copies` concurrent copies of the trial; each gets
    cpus // copies threads (at least one), as Ray would give each its share of the CPUs."""
    context = mp.get_context("spawn")  # CUDA cannot be used in a forked child
    barrier, results = context.Barrier(copies, timeout=TIMEOUT_S), context.Queue()
    threads = max(1, cpus // copies)
    args = (config.model_dump_json(), warmup, steps, min_seconds, threads, barrier, results)
    processes = [context.Process(target=_copy, args=args, daemon=True) for _ in range(copies)]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=TIMEOUT_S) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    errors = [r for r in reports if isinstance(r, str)]
    if errors:
        raise RuntimeError(f"a packed copy failed: {errors[0]}")
    images = sum(r[0] for r in reports)
    return images / (max(r[2] for r in reports) - min(r[1] for r in reports))
