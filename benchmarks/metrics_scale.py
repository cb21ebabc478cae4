"""The metrics pass at scale: the old computation (all of a split's features held in float64, then
every metric at once: trainers/metrics/reference.py) against the streaming pass (batches of 4096
accumulated in float64, the features read twice: trainers/metrics/split_pass.py), side by side in
one run on synthetic features with d = 2048 and K = 1000 (ImageNet's ResNet-50 features), at
N = 50k, 200k and 1.28M (ImageNet's training set). Prints each side's time and peak memory and the
largest relative difference between their metrics.

    .venv/bin/python benchmarks/metrics_scale.py [--sizes 50000,200000,1280000] [--dim 2048] [--classes 1000]

Each measurement runs in a fresh process, so its peak resident memory (getrusage's ru_maxrss) is
its own; "peak memory" is that peak minus the process's memory before the pass (torch, the
classifier, the class centres of the generator). The features come from a seeded generator chunk
by chunk (the streaming pass asks for them twice, as it would read a split twice); only the
metric computation is timed. The old computation peaks at about 74 bytes per feature value, i.e.
nine float64 copies of N x d (measured at N = 50k: 7.2 GB; the features, their copies centred by
the class means and by the global mean, the cosine's normalized copies); where that exceeds the
memory this machine has free, it is skipped and the row says so.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fresh_process import in_subprocess, peak_mb, rss_mb  # noqa: E402 - beside this script

CHUNK = 4096
OLD_BYTES_PER_VALUE = 74  # the old computation's measured peak per feature value (see the docstring)


def problem(n: int, d: int, k: int):
    """The classifier, and a function giving the features and labels of chunk i (seeded)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(k, d, dtype=torch.float64, generator=gen)
    weight = torch.randn(k, d, dtype=torch.float64, generator=gen) / math.sqrt(d)
    bias = torch.randn(k, dtype=torch.float64, generator=gen)

    def chunk(i: int):
        g = torch.Generator().manual_seed(1 + i)
        size = min(CHUNK, n - i * CHUNK)
        labels = torch.randint(0, k, (size,), generator=g)
        if i == 0:
            labels[: min(k, size)] = torch.arange(min(k, size))  # every class present
        return centres[labels] + torch.randn(size, d, dtype=torch.float64, generator=g), labels

    return weight, bias, chunk, (n + CHUNK - 1) // CHUNK


def measure(side: str, n: int, d: int, k: int) -> dict:
    """Run one side in this process; its time, peak memory above the start, and its metrics."""
    import torch

    from trainers.losses import LOSSES

    torch.set_num_threads(torch.get_num_threads())
    loss = LOSSES.make(name="ce")
    weight, bias, chunk, chunks = problem(n, d, k)
    before = rss_mb()
    if side == "old":
        from trainers.metrics.reference import all_metrics

        parts = [chunk(i) for i in range(chunks)]
        features, labels = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        del parts
        started = time.perf_counter()
        values = all_metrics(features, labels, weight, bias, loss)
        seconds = time.perf_counter() - started
    else:
        from trainers.metrics import Context, SplitPass

        split = SplitPass(Context.of(weight, bias, loss))
        seconds = 0.0
        for phase in (split.first, split.second):
            for i in range(chunks):
                h, y = chunk(i)
                started = time.perf_counter()
                phase(h, y)
                seconds += time.perf_counter() - started
        started = time.perf_counter()
        values = split.finish().values
        seconds += time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": peak_mb() - before, "values": values}


def available_mb() -> float:
    with open("/proc/meminfo") as f:
        info = {line.split(":")[0]: int(line.split()[1]) for line in f}
    return info["MemAvailable"] / 1024


def largest_difference(old: dict, new: dict) -> tuple[float, str]:
    worst, where = 0.0, ""
    for key, value in old.items():
        other = new[key]
        if math.isnan(value) and math.isnan(other):
            continue
        # maxangle is exactly 0 for K = 2 only; here K is large, every value is away from 0
        rel = abs(value - other) / max(abs(value), 1e-300)
        if rel > worst:
            worst, where = rel, key
    return worst, where


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,200000,1280000")
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        side, n, d, k = args.one[0], *map(int, args.one[1:])
        print(json.dumps(measure(side, n, d, k)))
        return
    d, k = args.dim, args.classes
    print(f"metrics of one split, d = {d}, K = {k}, float64; each side in its own process")
    print(f"{'N':>9}  {'old: time':>10} {'peak':>9}  {'streaming: time':>16} {'peak':>9}  largest relative difference")
    for n in map(int, args.sizes.split(",")):
        new = in_subprocess(__file__, "new", n, d, k)
        need = n * d * OLD_BYTES_PER_VALUE / 2**20
        if need > 0.9 * available_mb():
            old = {"skipped": f"skipped: needs ~{need / 1024:.0f} GB, {available_mb() / 1024:.0f} GB free"}
        else:
            old = in_subprocess(__file__, "old", n, d, k)
        new_text = f"{new['seconds']:>15.1f}s {new['peak_mb']:>7.0f}MB" if "seconds" in new else f"{new.get('error')}"
        if "seconds" in old:
            worst, where = largest_difference(old["values"], new["values"])
            print(f"{n:>9}  {old['seconds']:>9.1f}s {old['peak_mb']:>7.0f}MB  {new_text}  {worst:.1e} ({where})")
        else:
            print(f"{n:>9}  {old.get('skipped') or old.get('error')}  {new_text}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
