"""In-memory datasets by name, held as tensors so a batch is an index slice (no DataLoader).

Every dataset is split with its own fixed seed (`data.split_seed`), independent of the trial seed:
all trials of a sweep see the same train/test data and differ only in what the sweep varies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from trainers.config import DataConfig


@dataclass(frozen=True)
class Dataset:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.x_train, self.y_train) if name == "train" else (self.x_test, self.y_test)

    def to(self, device: torch.device | str) -> "Dataset":
        return Dataset(*(t.to(device) for t in (self.x_train, self.y_train, self.x_test, self.y_test)), self.num_classes)


def synthetic(cfg: DataConfig) -> Dataset:
    """K Gaussian clusters in R^dim: centres are random directions scaled to norm `separation`,
    noise is N(0, I). Balanced: train_per_class / test_per_class samples of each class."""
    gen = torch.Generator().manual_seed(cfg.split_seed)
    centres = torch.randn(cfg.num_classes, cfg.dim, generator=gen)
    centres = cfg.separation * centres / centres.norm(dim=1, keepdim=True)

    def draw(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(cfg.num_classes).repeat_interleave(per_class)
        return centres[y] + torch.randn(len(y), cfg.dim, generator=gen), y

    x_train, y_train = draw(cfg.train_per_class)
    x_test, y_test = draw(cfg.test_per_class)
    return Dataset(x_train, y_train, x_test, y_test, cfg.num_classes)


def digits(cfg: DataConfig) -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes; no download), as
    (1, 8, 8) images, stratified train/test split, standardized with the train mean and std."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        bunch.data, bunch.target, test_size=cfg.test_fraction, stratify=bunch.target, random_state=cfg.split_seed
    )
    x_train, x_test = (torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) for x in (x_train, x_test))
    mean, std = x_train.mean(), x_train.std()
    y_train, y_test = (torch.as_tensor(y, dtype=torch.long) for y in (y_train, y_test))
    return Dataset((x_train - mean) / std, y_train, (x_test - mean) / std, y_test, 10)


DATASETS: dict[str, Callable[[DataConfig], Dataset]] = {"synthetic": synthetic, "digits": digits}


def load_dataset(cfg: DataConfig) -> Dataset:
    return DATASETS[cfg.name](cfg)
