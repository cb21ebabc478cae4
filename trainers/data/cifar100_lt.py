"""CIFAR-100-LT: CIFAR-100 with an exponentially long-tailed training set (Cao et al. 2019), the
long-tail benchmark of docs/science.md#protocols (experiment 7)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.data.vision import TorchvisionData, decoded


class Cifar100LongTail(TorchvisionData):
    """CIFAR-100 with an exponentially long-tailed training set and the balanced test set."""

    name: Literal["cifar100_lt"] = "cifar100_lt"
    # n_max / n_min. At most 500: CIFAR-100 has 500 training images a class, and the last class keeps
    # floor(500 / imbalance_factor) of them, none past 500 (the preflight also checks smaller files).
    imbalance_factor: float = Field(100.0, ge=1.0, le=500.0)

    @property
    def source(self) -> str:
        return "cifar100"

    @property
    def how(self) -> str:
        return super().how + "; the long tail is cut from it"

    def load(self):
        from trainers.data.tensors import CIFAR_NORM, TensorData

        t = decoded(self)
        keep = long_tail_indices(t["y_train"], 100, self.imbalance_factor, self.split_seed)
        return TensorData(t["x_train"][keep], t["y_train"][keep], t["x_test"], t["y_test"], 100, CIFAR_NORM)


def long_tail_indices(labels, num_classes: int, imbalance_factor: float, seed: int):
    """Indices of an exponentially imbalanced subset: class k keeps
    n_k = floor(n_max * IF^(-k / (K - 1))) samples (Cao et al. 2019, the CIFAR-LT profile), drawn at
    random with a fixed seed; n_max is the smallest class count of the source (500 for CIFAR-100).
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    counts = torch.bincount(labels, minlength=num_classes)
    n_max = int(counts.min())
    keep = []
    for k in range(num_classes):
        n_k = int(n_max * imbalance_factor ** (-k / (num_classes - 1)))
        members = (labels == k).nonzero().squeeze(1)
        keep.append(members[torch.randperm(len(members), generator=gen)[:n_k]])
    return torch.cat(keep).sort().values
