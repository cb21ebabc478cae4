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
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from trainers.errors import DataUnavailable  # noqa: F401 - what `ensure_available` raises
from trainers.registry import Registry, Variant
from trainers.strict import StrictModel

DATASETS = Registry("dataset", default="digits")
NoiseKind = Literal["symmetric", "asymmetric", "random"]


class LabelNoise(StrictModel):
    """Training labels corrupted at `rate`, drawn with data.split_seed (trainers/data/labels.py):
    symmetric: that fraction of the samples get a wrong label drawn uniformly from the other K - 1;
    asymmetric: that fraction of each class is relabelled by a class map (CIFAR-10's of Patrini et
    al. 2017, the next class k -> k + 1 mod K elsewhere); random: that fraction get a label drawn
    uniformly from all K (rate 1 is the official code's `cifar10_random`)."""

    kind: NoiseKind = "symmetric"
    rate: float = Field(0.4, ge=0.0, le=1.0)


class OpenSet(StrictModel):
    """Classes held out of training for open-set recognition (trainers/data/labels.py): the train
    (and val) split loses them, the known ones are renumbered 0..K'-1 in their order, and their test
    samples become the `unknown` split the open_set evaluation must reject. Either the classes
    (`unknown_classes`) or how many to draw (`count`, drawn with `seed`)."""

    unknown_classes: tuple[int, ...] | None = None
    count: int | None = Field(None, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _one_of(self) -> OpenSet:
        if (self.unknown_classes is None) == (self.count is None):
            raise ValueError("give either unknown_classes (a list of class indices) or count (how many to draw)")
        if self.unknown_classes is not None and len(set(self.unknown_classes)) != len(self.unknown_classes):
            raise ValueError(f"unknown_classes {list(self.unknown_classes)} repeats a class")
        return self

    def classes(self, num_classes: int) -> tuple[int, ...]:
        """The held-out classes of data with `num_classes` classes (sorted); ValueError naming the
        key and the allowed values when they do not leave at least 2 known classes."""
        import torch

        if self.count is not None:
            if self.count > num_classes - 2:
                raise ValueError(
                    f"data.open_set.count: {self.count} of {num_classes} classes leaves fewer than 2 known "
                    f"(allowed: 1 to {num_classes - 2})"
                )
            drawn = torch.randperm(num_classes, generator=torch.Generator().manual_seed(self.seed))[: self.count]
            return tuple(sorted(drawn.tolist()))
        outside = [c for c in self.unknown_classes if not 0 <= c < num_classes]
        if outside or len(self.unknown_classes) > num_classes - 2:
            why = f"class {outside[0]} does not exist" if outside else "fewer than 2 classes stay known"
            raise ValueError(
                f"data.open_set.unknown_classes: {list(self.unknown_classes)}: {why} (allowed: up to "
                f"{num_classes - 2} distinct classes of 0..{num_classes - 1})"
            )
        return tuple(sorted(self.unknown_classes))


class DataVariant(Variant):
    registry: ClassVar[Registry] = DATASETS
    # Fixes the train/test split or the subset drawn (and the metrics' subset with
    # metrics.max_samples), independent of the trial seed: every trial of a sweep sees the same data.
    split_seed: int = 0
    images: ClassVar[bool] = True  # False: feature vectors (only the mlp takes them)
    # n training samples per class, drawn with split_seed (the official code's --sample_size,
    # which keeps the first n of each class in file order).
    sample_size: int | None = Field(None, ge=1)
    label_noise: LabelNoise | None = None  # on the training split only; see LabelNoise
    # This fraction of each class of the training split becomes the `val` split (stratified, drawn
    # with split_seed, clean labels): what a search selects on, never the test split.
    val_fraction: float | None = Field(None, gt=0.0, lt=1.0)
    open_set: OpenSet | None = None  # classes held out of training, tested as unknowns; see OpenSet
    omitted_when_none: ClassVar[tuple[str, ...]] = ("open_set",)

    def load(self):
        """The data: a TensorData (in memory) or an object with its interface."""
        raise NotImplementedError

    def prepared(self):
        """`load()`, then the training split cut to `sample_size` per class and its labels
        corrupted by `label_noise` (trainers/data/labels.py): what a trial trains on."""
        from trainers.data.labels import prepare_train

        return prepare_train(self.load(), self)

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
