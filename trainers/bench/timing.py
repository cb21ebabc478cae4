"""Wall-clock timing of device work: a CUDA step only queues kernels, so the clock starts and
stops on a synchronized device, after warm-up steps (cuDNN's algorithm search, torch.compile,
the loader's first batches) that a long run amortizes."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(
    step: Callable[[], object], device: torch.device, warmup: int, steps: int, min_seconds: float = 0.0
) -> tuple[int, float, float]:
    """(calls, seconds, start time) of at least `steps` timed calls of `step` lasting at least
    `min_seconds` (a small model's step takes milliseconds), after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    synchronize(device)
    started = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
    done = 0
    while done < steps or time.perf_counter() - started < min_seconds:
        for _ in range(max(steps, 1)):
            step()
        done += max(steps, 1)
        synchronize(device)
    return done, time.perf_counter() - started, started


def device_name(device: torch.device) -> str:
    """The GPU's marketing name, or the CPU's model name and core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os
    import platform

    model = platform.processor() or "CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model} ({os.cpu_count()} cores)"
