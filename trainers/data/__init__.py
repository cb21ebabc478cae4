"""Datasets by name. Each loader maps a `DataConfig` to an object with the interface of
`TensorData` (in memory) or `ImageFolderData` (streamed): `train_batches`, `eval_batches`,
`normalize`, `input_shape`, `num_classes`, `to(device)`.

`ensure_available` is the pre-flight check the CLI runs before any trial starts: it raises
`DataUnavailable` (naming the path and how to get the files), downloading first when
`data.download` allows.
"""

from __future__ import annotations

from typing import Callable, Union

from trainers.config import DataConfig
from trainers.data import imagenet as _imagenet
from trainers.data import vision as _vision
from trainers.data.base import DataUnavailable, TensorData
from trainers.data.imagenet import ImageFolderData
from trainers.data.vectors import digits, synthetic

Dataset = Union[TensorData, ImageFolderData]

DATASETS: dict[str, Callable[[DataConfig], Dataset]] = {
    "synthetic": synthetic,
    "digits": digits,
    "mnist": _vision.mnist,
    "cifar10": _vision.cifar10,
    "cifar100": _vision.cifar100,
    "cifar100_lt": _vision.cifar100_lt,
    "imagenet": _imagenet.imagenet,
}


def ensure_available(cfg: DataConfig) -> None:
    """Raise DataUnavailable when the files of cfg's dataset are missing (fetching first when allowed)."""
    if cfg.name in _vision.SOURCES:
        _vision.ensure_files(cfg)
    elif cfg.name == "imagenet":
        _imagenet.ensure_files(cfg)


def load_dataset(cfg: DataConfig) -> Dataset:
    return DATASETS[cfg.name](cfg)


__all__ = ["DATASETS", "DataUnavailable", "Dataset", "ImageFolderData", "TensorData", "ensure_available", "load_dataset"]
