"""What a trial costs its machine, logged each epoch beside its metrics (`sys/`, `time/`)."""

from __future__ import annotations

import resource
import sys

import torch


def reset_peak_memory(device: torch.device) -> None:
    """Start the CUDA peak over at a trial's start: a reused worker process ran other trials before."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_mem_mb(device: torch.device) -> float:
    """sys/peak_mem_mb: on a GPU, torch's peak of allocated device memory since the trial started
    (torch.cuda.max_memory_allocated; the caching allocator reserves somewhat more); on a CPU, the
    peak resident memory of the worker process (getrusage's ru_maxrss), which with a reused worker
    is the peak over the trials it has run, an upper bound for this one."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
