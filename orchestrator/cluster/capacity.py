"""How many trials of a sweep a cluster runs at once: `ncsweep validate FILE --cluster gpus=8,cpus=64`.

Ray places a trial where its whole request fits, so with per-trial requests (cpu, gpu) a cluster of
C CPUs and G GPUs runs at most floor(C / cpu) and, when trials ask for a GPU, floor(G / gpu) trials
at once (fractional gpu: 0.25 packs four trials per GPU). Per-node fragmentation can only lower it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from orchestrator.errors import BadInput

KEYS = ("cpus", "gpus")


@dataclass(frozen=True)
class Capacity:
    at_once: int
    limited_by: str  # "cpus", "gpus", "max_concurrent", "trials" (joined with "and" on a tie)
    waves: int  # rounds of trials, if they all took equally long


def parse_cluster(text: str) -> dict[str, float]:
    """'gpus=8,cpus=64' -> {'gpus': 8.0, 'cpus': 64.0}; bad input names the flag and the keys."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not sep or key not in KEYS or number < 0:
            raise BadInput(f"--cluster {text}: expected {'=N,'.join(KEYS)}=N with N >= 0 (got {part!r})")
        out[key] = number
    if "cpus" not in out:
        raise BadInput(f"--cluster {text}: cpus=N is required (e.g. --cluster gpus=8,cpus=64)")
    return out


def capacity(
    cpu: float, gpu: float, cpus: float, gpus: float, trials: int, max_concurrent: int | None = None
) -> Capacity:
    limits = {"cpus": math.floor(cpus / cpu + 1e-9)}
    if gpu > 0:
        limits["gpus"] = math.floor(gpus / gpu + 1e-9)
    if max_concurrent:
        limits["max_concurrent"] = max_concurrent
    limits["trials"] = trials
    at_once = min(limits.values())
    limited_by = " and ".join(k for k, v in limits.items() if v == at_once)
    return Capacity(at_once, limited_by, math.ceil(trials / at_once) if at_once else 0)


def local_node(count_gpus: bool = True) -> dict[str, float]:
    """What a local Ray started here would have: the CPUs this process may run on, the CUDA GPUs
    (counted through torch, seconds of import: only when a trial asks for a GPU)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if not count_gpus:
        return {"CPU": float(cpus)}
    import torch

    return {"CPU": float(cpus), "GPU": float(torch.cuda.device_count())}


def check_fits(cpu: float, gpu: float, nodes: list[dict[str, float]], where: str, source: str) -> None:
    """BadInput when no node can ever hold one trial's request: Ray would wait forever (it only
    warns, after a minute). `nodes` are Ray resource dicts ({"CPU": 16, "GPU": 2, ...})."""
    if any(n.get("CPU", 0.0) + 1e-9 >= cpu and n.get("GPU", 0.0) + 1e-9 >= gpu for n in nodes):
        return
    top_gpu = max((n.get("GPU", 0.0) for n in nodes), default=0.0)
    key = "resources.gpu" if gpu > top_gpu + 1e-9 else "resources.cpu"
    largest = max(nodes, key=lambda n: (n.get("GPU", 0.0), n.get("CPU", 0.0)), default={})
    raise BadInput(
        f"{source}: {key}: a trial asks for cpu {cpu:g}, gpu {gpu:g}, but no node of {where} can hold that "
        f"(the largest has cpu {largest.get('CPU', 0.0):g}, gpu {largest.get('GPU', 0.0):g}), so no trial could "
        "ever start. "
        f"Lower {key}, run where such a node exists, or pass --wait-for-resources for an autoscaling cluster "
        "that will add one. "
        f"Nothing was started."
    )
