"""What every dataset is: a typed config variant (`data.name`) that loads its data.

A dataset module subclasses `DataVariant` (or `FileData` for data on disk), declares
`name: Literal[...]` and its own keys, and implements `load()`: an object with the interface of
`TensorData` (trainers/data/tensors.py, in memory) or `ImageFolderData` (streamed). A trial's
MLflow params and Parquet columns then hold only what applies to its data (a digits trial has no
`data.imbalance_factor`). Defining the class registers it, as for losses. torch is imported inside
the methods: reading a sweep file must not pay torch's import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from trainers.errors import DataUnavailable  # noqa: F401 - what `ensure_available` raises
from trainers.registry import Registry, Variant

DATASETS = Registry("dataset", default="digits")


class DataVariant(Variant):
    registry: ClassVar[Registry] = DATASETS
    # Fixes the train/test split or the subset drawn (and the metrics' subset with
    # metrics.max_samples), independent of the trial seed: every trial of a sweep sees the same data.
    split_seed: int = 0
    images: ClassVar[bool] = True  # False: feature vectors (only the mlp takes them)

    def load(self):
        """The data: a TensorData (in memory) or an object with its interface."""
        raise NotImplementedError

    def ensure_available(self) -> None:
        """Raise DataUnavailable when files are missing (fetching first when allowed): the CLI's
        pre-flight check, before any trial starts."""

    def warm_cache(self) -> None:
        """Decode once on the driver, so the concurrent trials of a sweep find a cache instead of
        all decoding the same files at once (no-op for data without one)."""


class FileData(DataVariant):
    """Data read from files: `root` defaults to $NCSWEEP_DATA, else ~/.cache/ncsweep/data."""

    root: str | None = None

    def data_root(self) -> Path:
        root = self.root or os.environ.get("NCSWEEP_DATA") or "~/.cache/ncsweep/data"
        return Path(root).expanduser()
