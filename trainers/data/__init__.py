"""Dataset loaders. The registry of names is trainers/dataset_configs.py: each variant's `load()`
gives an object with the interface of `TensorData` (in memory) or `ImageFolderData` (streamed):
`train_batches`, `eval_batches`, `normalize`, `input_shape`, `num_classes`, `class_counts()`,
`to(device)`.

`ensure_available` is the pre-flight check the CLI runs before any trial starts: it raises
`DataUnavailable` (naming the path and how to get the files), downloading first when
`data.download` allows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from trainers.data.base import DataUnavailable, TensorData
from trainers.dataset_configs import DataVariant

if TYPE_CHECKING:
    from trainers.data.imagenet import ImageFolderData

# The streamed loader (torchvision, a second of import) is imported by the one variant that uses it.
Dataset = Union[TensorData, "ImageFolderData"]


def ensure_available(cfg: DataVariant) -> None:
    """Raise DataUnavailable when the files of cfg's dataset are missing (fetching first when allowed)."""
    cfg.ensure_available()


def load_dataset(cfg: DataVariant) -> Dataset:
    return cfg.load()


def __getattr__(name: str):
    if name == "ImageFolderData":
        from trainers.data.imagenet import ImageFolderData

        return ImageFolderData
    raise AttributeError(f"module 'trainers.data' has no attribute {name!r}")


__all__ = ["DataUnavailable", "Dataset", "ImageFolderData", "TensorData", "ensure_available", "load_dataset"]
