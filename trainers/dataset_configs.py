"""Datasets as config variants (`data.name` picks one; each carries only its own settings).

A trial's MLflow params and Parquet columns then hold only what applies to its data: a digits
trial has no `data.imbalance_factor`. Each variant loads itself (`load`) and, for data on disk,
checks its files before any trial starts (`ensure_available`, the CLI's pre-flight). The loaders
live in trainers/data and are imported on use (torch).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from trainers.registry import Registry, Variant

DATASETS = Registry("dataset", default="digits")


class DataVariant(Variant):
    registry: ClassVar[Registry] = DATASETS
    # Fixes the train/test split or the subset drawn (and the metrics' subset with
    # metrics.max_samples), independent of the trial seed: every trial of a sweep sees the same data.
    split_seed: int = 0
    images: ClassVar[bool] = True  # False: feature vectors (only the mlp takes them)

    def load(self):
        raise NotImplementedError

    def ensure_available(self) -> None:
        """Raise DataUnavailable when files are missing (fetching first when allowed)."""


class Synthetic(DataVariant):
    """Gaussian clusters around random class centres (K classes in R^dim); no files."""

    name: Literal["synthetic"] = "synthetic"
    images: ClassVar[bool] = False
    num_classes: int = Field(10, ge=2)
    dim: int = Field(32, ge=1)
    train_per_class: int = Field(100, ge=1)
    test_per_class: int = Field(50, ge=1)
    separation: float = Field(3.0, ge=0.0)  # distance scale of the class centres; noise std is 1

    def load(self):
        from trainers.data.vectors import synthetic

        return synthetic(self)


class Digits(DataVariant):
    """scikit-learn's bundled 8x8 digits (no download), a stratified split."""

    name: Literal["digits"] = "digits"
    test_fraction: float = Field(0.25, gt=0.0, lt=1.0)

    def load(self):
        from trainers.data.vectors import digits

        return digits(self)


class FileData(DataVariant):
    """Data read from files: `root` defaults to $NCSWEEP_DATA, else ~/.cache/ncsweep/data."""

    root: str | None = None


class TorchvisionData(FileData):
    """MNIST and CIFAR in torchvision's on-disk formats; `download` lets torchvision fetch them."""

    name: Literal["mnist", "cifar10", "cifar100"] = "cifar10"
    download: bool = False

    def load(self):
        from trainers.data import vision

        return getattr(vision, self.name)(self)

    def ensure_available(self) -> None:
        from trainers.data.vision import ensure_files

        ensure_files(self)


class Cifar100LongTail(TorchvisionData):
    """CIFAR-100 with an exponentially long-tailed training set and the balanced test set."""

    name: Literal["cifar100_lt"] = "cifar100_lt"
    imbalance_factor: float = Field(100.0, ge=1.0)  # n_max / n_min


class ImageNet(FileData):
    """An ImageFolder tree (train/ and val/), streamed from disk by loader processes."""

    name: Literal["imagenet"] = "imagenet"
    image_size: int = Field(224, ge=8)  # train crop and eval centre crop
    workers: int = Field(8, ge=0)  # JPEG-decoding loader processes

    def load(self):
        from trainers.data.imagenet import imagenet

        return imagenet(self)

    def ensure_available(self) -> None:
        from trainers.data.imagenet import ensure_files

        ensure_files(self)


DataConfig = DATASETS.field()
