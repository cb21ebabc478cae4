"""Random-pixel CIFAR-10 in the real on-disk format (cifar-10-batches-py pickles), so the
throughput of both input pipelines is measured through their real readers without a download.
Pixels do not change the cost of a training step; only the shapes do."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

FOLDER = "cifar-10-batches-py"


def write_random_cifar10(root: Path, n_train: int, n_test: int, seed: int = 0) -> Path:
    """root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}: uint8 images stored
    as rows of 3072 bytes (R, G, B planes of 32x32) and labels 0..9, as in the official archive."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)

    def batch(n: int) -> dict:
        return {
            "data": rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8),
            "labels": rng.integers(0, 10, n).tolist(),
        }

    for i, part in enumerate(np.array_split(np.arange(n_train), 5), start=1):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch(len(part))))
    (folder / "test_batch").write_bytes(pickle.dumps(batch(n_test)))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class{k}" for k in range(10)]}))
    return folder
