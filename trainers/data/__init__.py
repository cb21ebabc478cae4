"""Datasets by name: every module in this package but the helpers defines one (or a small family),
as losses do.

Adding a dataset is one new file here (docs/extending.md#add-your-own-dataset): importing this
package imports every module in it but HELPERS, and each `DataVariant` subclass registers itself in
`DATASETS`, which the trial config's `data` field, `ncsweep list` and the docs read. Each variant's
`load()` gives an object with the interface of `TensorData` (in memory) or `ImageFolderData`
(streamed): `train_batches`, `eval_batches`, `normalize`, `input_shape`, `num_classes`,
`class_counts()`, `to(device)`. Nothing here imports torch: the helpers that do load on use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from trainers.data.base import DATASETS, DataUnavailable, DataVariant, FileData, LabelNoise
from trainers.registry import import_plugins

if TYPE_CHECKING:
    from trainers.data.imagenet import ImageFolderData
    from trainers.data.tensors import TensorData

# Modules that are not datasets: the registry, the in-memory data, label noise and per-class
# subsets, the decode cache and the outside data of an OOD test (these import torch).
HELPERS = ("base", "tensors", "labels", "cache", "outside")
import_plugins(
    __name__, __path__, first=("digits", "synthetic", "patches", "vision", "cifar100_lt", "imagenet"), helpers=HELPERS
)

DataConfig = DATASETS.field()  # the trial config's `data` type: every dataset registered above
Dataset = Union["TensorData", "ImageFolderData"]


def ensure_available(cfg: DataVariant) -> None:
    """Raise DataUnavailable when the files of cfg's dataset are missing (fetching first when allowed)."""
    cfg.ensure_available()


def load_dataset(cfg: DataVariant) -> Dataset:
    """The data a trial trains on: loaded, then `data.sample_size` and `data.label_noise` applied."""
    return cfg.prepared()


def __getattr__(name: str):
    if name == "TensorData":
        from trainers.data.tensors import TensorData

        return TensorData
    if name == "ImageFolderData":
        from trainers.data.imagenet import ImageFolderData

        return ImageFolderData
    raise AttributeError(f"module 'trainers.data' has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "DataConfig",
    "LabelNoise",
    "DataUnavailable",
    "DataVariant",
    "Dataset",
    "FileData",
    "ImageFolderData",
    "TensorData",
    "ensure_available",
    "load_dataset",
]
