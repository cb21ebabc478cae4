"""Decoded datasets cached on disk as uint8 tensors, so only the first trial pays for decoding.

The file name carries a hash of the source files' names, sizes and modification times: replacing
the raw files rebuilds the cache instead of silently reusing stale tensors. Writes go to a
temporary file and are renamed into place, so trials starting together on one filesystem never
read half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import torch

Tensors = dict[str, torch.Tensor]
CACHE_DIR = "ncsweep-decoded"


def signature(key: str, sources: list[Path]) -> str:
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(sources)]
    return hashlib.sha256(json.dumps([key, stats]).encode()).hexdigest()[:16]


def cached(root: Path, key: str, sources: list[Path], build: Callable[[], Tensors]) -> Tensors:
    path = root / CACHE_DIR / f"{key}-{signature(key, sources)}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    tensors = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        torch.save(tensors, partial)
        os.replace(partial, path)
    except OSError:  # a read-only data root: decode every time rather than fail the trial
        pass
    return tensors
