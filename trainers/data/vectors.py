"""The two datasets that need no files: Gaussian clusters and scikit-learn's bundled digits.

Every dataset is split with its own fixed seed (`data.split_seed`), independent of the trial seed:
all trials of a sweep see the same train/test data and differ only in what the sweep varies.
"""

from __future__ import annotations

import torch

from trainers.data.base import TensorData
from trainers.dataset_configs import Digits, Synthetic


def synthetic(cfg: Synthetic) -> TensorData:
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
    return TensorData(x_train, y_train, x_test, y_test, cfg.num_classes)


def digits(cfg: Digits) -> TensorData:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes; no download), as
    (1, 8, 8) images, stratified train/test split, standardized with the train mean and std."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(bunch.data, bunch.target, test_size=cfg.test_fraction, stratify=bunch.target, random_state=cfg.split_seed)
    x_train, x_test = (torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) for x in (x_train, x_test))
    mean, std = x_train.mean(), x_train.std()
    y_train, y_test = (torch.as_tensor(y, dtype=torch.long) for y in (y_train, y_test))
    return TensorData((x_train - mean) / std, y_train, (x_test - mean) / std, y_test, 10)
