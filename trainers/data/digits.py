"""scikit-learn's bundled handwritten digits: real images that need no download."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.data.base import DataVariant


class Digits(DataVariant):
    """scikit-learn's bundled 8x8 digits (no download), a stratified split."""

    name: Literal["digits"] = "digits"
    test_fraction: float = Field(0.25, gt=0.0, lt=1.0)

    def load(self):
        """1797 images, 10 classes, as (1, 8, 8) images; stratified train/test split with
        `split_seed` (the same for every trial of a sweep), standardized with the train mean and std."""
        import torch
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        from trainers.data.tensors import TensorData

        bunch = load_digits()
        x_train, x_test, y_train, y_test = train_test_split(
            bunch.data, bunch.target, test_size=self.test_fraction, stratify=bunch.target, random_state=self.split_seed
        )
        x_train, x_test = (torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) for x in (x_train, x_test))
        mean, std = x_train.mean(), x_train.std()
        y_train, y_test = (torch.as_tensor(y, dtype=torch.long) for y in (y_train, y_test))
        return TensorData((x_train - mean) / std, y_train, (x_test - mean) / std, y_test, 10)
