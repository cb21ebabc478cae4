"""What the training loop needs from a dataset, and the in-memory implementation most use.

Datasets that fit in memory (everything but ImageNet) live as tensors on the training device:
a batch is an index slice and augmentation is batched tensor ops, so the GPU never waits on
per-sample Python (the official code's PIL transforms are its bottleneck). Images stay uint8 until
the batch is drawn (4x less memory than float32), then are normalized on the device.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import torch

from trainers.augment.ops import random_crop_flip, random_rotate

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Normalization:
    """uint8 images -> (x / 255 - mean) / std per channel; grayscale repeated to `channels`."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    channels: int = 3
    # (mean, std) as tensors per device, made once: a fresh host-to-device copy every batch
    # would be a synchronization in the hot loop.
    _on: dict = field(default_factory=dict, compare=False, repr=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().div_(255.0)
        if x.shape[1] != self.channels:
            x = x.expand(-1, self.channels, -1, -1)
        if x.device not in self._on:
            self._on[x.device] = tuple(
                torch.tensor(v, device=x.device).view(1, -1, 1, 1) for v in (self.mean, self.std)
            )
        mean, std = self._on[x.device]
        return (x - mean) / std


# docs/science.md#protocols: MNIST is resized to 32 and repeated to 3 channels; CIFAR's usual statistics.
MNIST_NORM = Normalization((0.1307,) * 3, (0.3081,) * 3)
CIFAR_NORM = Normalization((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
IMAGENET_NORM = Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def subset_indices(n: int, max_samples: int | None, seed: int) -> torch.Tensor | None:
    """A fixed random subset of at most max_samples of n indices (sorted), or None for all."""
    if max_samples is None or max_samples >= n:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:max_samples].sort().values


@dataclass(frozen=True)
class TensorData:
    """A dataset held as four tensors; `norm` set means x are uint8 images normalized per batch."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    norm: Normalization | None = None
    # The training labels before data.label_noise (None: no noise); y_train holds the labels the
    # model trains on, and the train-split metrics are computed against those.
    y_train_clean: torch.Tensor | None = None
    # The validation split carved out of the training split (data.val_fraction), or None.
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    # The test samples of the classes data.open_set held out (labels: their original classes), or None.
    x_unknown: torch.Tensor | None = None
    y_unknown: torch.Tensor | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        shape = tuple(self.x_train.shape[1:])
        return (self.norm.channels, *shape[1:]) if self.norm else shape

    @property
    def train_size(self) -> int:
        return self.x_train.shape[0]

    def class_counts(self) -> torch.Tensor:
        """n_k, the training split's samples per class (K,), on the CPU: what the long-tail losses read."""
        return torch.bincount(self.y_train.cpu(), minlength=self.num_classes)

    def train_labels(self, clean: bool = False) -> torch.Tensor:
        """The training labels on the CPU: those trained on, or with `clean` those before the noise."""
        labels = self.y_train_clean if clean and self.y_train_clean is not None else self.y_train
        return labels.cpu()

    def train_subset(self, indices: torch.Tensor) -> TensorData:
        idx = indices.to(self.x_train.device)
        clean = None if self.y_train_clean is None else self.y_train_clean[idx]
        return replace(self, x_train=self.x_train[idx], y_train=self.y_train[idx], y_train_clean=clean)

    def with_train_labels(self, labels: torch.Tensor) -> TensorData:
        """The same data trained on `labels`; the labels it had stay as the clean ones."""
        return replace(
            self,
            y_train=labels.to(self.y_train.device),
            y_train_clean=self.train_labels(clean=True).to(self.y_train.device),
        )

    def with_val(self, train: torch.Tensor, val: torch.Tensor) -> TensorData:
        """The training samples at `val` become the validation split; those at `train` stay."""
        split = self.x_train.device
        carved = self.train_subset(train)
        return replace(carved, x_val=self.x_train[val.to(split)], y_val=self.train_labels(clean=True)[val].to(split))

    def with_open_set(self, unknown: tuple[int, ...]) -> TensorData:
        """The data without the classes `unknown` in training, the known ones renumbered 0..K'-1 in
        their order; the test samples of `unknown` become the `unknown` split."""
        device = self.y_train.device
        held = torch.zeros(self.num_classes, dtype=torch.bool)
        held[list(unknown)] = True
        renumber = (torch.cumsum(~held, 0) - 1).to(device)
        held = held.to(device)
        keep_train, keep_test = ~held[self.y_train], ~held[self.y_test]
        clean = None if self.y_train_clean is None else renumber[self.y_train_clean[keep_train]]
        return replace(
            self,
            x_train=self.x_train[keep_train],
            y_train=renumber[self.y_train[keep_train]],
            x_test=self.x_test[keep_test],
            y_test=renumber[self.y_test[keep_test]],
            x_unknown=self.x_test[~keep_test],
            y_unknown=self.y_test[~keep_test],
            num_classes=self.num_classes - len(unknown),
            y_train_clean=clean,
        )

    @property
    def has_val(self) -> bool:
        return self.x_val is not None

    def split(self, name: str) -> Batch:
        if name == "val":
            return self.x_val, self.y_val
        if name == "unknown":
            return self.x_unknown, self.y_unknown
        return (self.x_train, self.y_train) if name == "train" else (self.x_test, self.y_test)

    def clean_labels(self, split: str, max_samples: int | None = None, seed: int = 0) -> torch.Tensor | None:
        """The clean labels of `split` in the order `eval_batches` yields it (None: the labels are clean)."""
        if split != "train" or self.y_train_clean is None:
            return None
        keep = subset_indices(self.train_size, max_samples, seed)
        return self.y_train_clean if keep is None else self.y_train_clean[keep.to(self.y_train_clean.device)]

    def to(self, device: torch.device | str) -> TensorData:
        names = ("x_train", "y_train", "x_test", "y_test", "y_train_clean", "x_val", "y_val", "x_unknown", "y_unknown")
        return replace(self, **{n: getattr(self, n).to(device) for n in names if getattr(self, n) is not None})

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x) if self.norm else x

    def train_batches(
        self, batch_size: int, generator: torch.Generator, crop_padding: int | None = None, rotate: float = 0.0
    ) -> Iterator[Batch]:
        """Raw (un-normalized) batches of a random permutation; with crop_padding, DA1 (random
        crop after zero padding + horizontal flip, then a random rotation within +-`rotate`
        degrees when set) on the whole batch at once."""
        order = torch.randperm(self.train_size, generator=generator).to(self.x_train.device)
        for start in range(0, self.train_size, batch_size):
            idx = order[start : start + batch_size]
            x = self.x_train[idx]
            if crop_padding is not None:
                x = random_crop_flip(x, crop_padding)
                if rotate:
                    x = random_rotate(x, rotate)
            yield x, self.y_train[idx]

    def eval_batches(self, split: str, chunk: int, max_samples: int | None = None, seed: int = 0) -> Iterator[Batch]:
        """Normalized chunks of a split (a fixed subset with max_samples), in order."""
        x, y = self.split(split)
        keep = subset_indices(x.shape[0], max_samples, seed)
        if keep is not None:
            keep = keep.to(x.device)
            x, y = x[keep], y[keep]
        for start in range(0, x.shape[0], chunk):
            yield self.normalize(x[start : start + chunk]), y[start : start + chunk]
