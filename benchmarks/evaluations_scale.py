"""Retrieval and verification at scale: each evaluation on synthetic clustered features at
N = 10,000 and 100,000 (d = 512, ResNet-18's features; K = 100 classes), each in a fresh process,
with its time and its peak memory above the features it reads. What it shows: neither holds N x N
(at 100,000 that would be 80 GB of float64 similarities): retrieval holds a block of at most
BLOCK_ELEMENTS similarities (256 MB), verification a million pairs' indices and similarities and
the rows of PAIR_ELEMENTS pairs at a time.

    .venv/bin/python benchmarks/evaluations_scale.py [--sizes 10000,100000] [--dim 512] [--classes 100]

Peak memory is the process's resident peak (getrusage's ru_maxrss) minus its resident memory just
before the evaluation (torch, the N x d features and labels already made), so it is what the
evaluation itself adds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fresh_process import in_subprocess, peak_mb, rss_mb  # noqa: E402 - beside this script


def measure(name: str, n: int, d: int, k: int) -> dict:
    import torch

    from trainers.evaluations.retrieval import recall_and_map
    from trainers.evaluations.verification import verify

    g = torch.Generator().manual_seed(0)
    labels = torch.randint(k, (n,), generator=g)
    features = torch.randn(k, d, generator=g)[labels] + 3.0 * torch.randn(n, d, generator=g)  # classes overlap
    before = rss_mb()
    started = time.perf_counter()
    values = recall_and_map(features, labels) if name == "retrieval" else verify(features, labels, 0)
    seconds = time.perf_counter() - started
    peak = peak_mb() - before
    return {"seconds": seconds, "peak_mb": peak, "values": values, "features_mb": n * d * 4 / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, n, d, k = args.one[0], *map(int, args.one[1:])
        print(json.dumps(measure(name, n, d, k)))
        return
    print(f"d = {args.dim}, K = {args.classes}; each row a fresh process")
    print(f"{'evaluation':<14}{'N':>9}{'seconds':>10}{'peak MB':>10}{'N x N fp64 MB':>15}  values")
    for n in map(int, args.sizes.split(",")):
        for name in ("retrieval", "verification"):
            r = in_subprocess(__file__, name, n, args.dim, args.classes)
            if "error" in r:
                print(f"{name:<14}{n:>9}  failed: {r['error']}")
                continue
            values = ", ".join(f"{key} {value:.4f}" for key, value in r["values"].items())
            print(f"{name:<14}{n:>9}{r['seconds']:>10.1f}{r['peak_mb']:>10.0f}{n * n * 8 / 2**20:>15,.0f}  {values}")


if __name__ == "__main__":
    main()
