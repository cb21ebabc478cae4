"""Gaussian clusters: a dataset that needs no files, with a known geometry."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from trainers.data.base import DataVariant


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
        """Centres are random directions scaled to norm `separation`, noise is N(0, I); balanced:
        train_per_class / test_per_class samples of each class, drawn with `split_seed`."""
        import torch

        from trainers.data.tensors import TensorData

        gen = torch.Generator().manual_seed(self.split_seed)
        centres = torch.randn(self.num_classes, self.dim, generator=gen)
        centres = self.separation * centres / centres.norm(dim=1, keepdim=True)

        def draw(per_class: int):
            y = torch.arange(self.num_classes).repeat_interleave(per_class)
            return centres[y] + torch.randn(len(y), self.dim, generator=gen), y

        x_train, y_train = draw(self.train_per_class)
        x_test, y_test = draw(self.test_per_class)
        return TensorData(x_train, y_train, x_test, y_test, self.num_classes)
