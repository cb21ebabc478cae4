"""ImageNet-1k (or any ImageFolder tree) streamed from disk: `<root>/imagenet/{train,val}/<class>/*`.

1.28M JPEGs do not fit in memory, so unlike the other datasets this one decodes per sample in
DataLoader worker processes (torchvision's ImageFolder) and hands uint8 batches to the device,
where they are normalized like every other dataset. DA1 for ImageNet is the standard
RandomResizedCrop + flip in the loader (a 32-pixel crop with padding means nothing at 224).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, RandomSampler, Subset
from torchvision import transforms
from torchvision.datasets import ImageFolder

from trainers.data.base import IMAGENET_NORM, Batch, DataUnavailable, subset_indices
from trainers.data.vision import data_root
from trainers.dataset_configs import ImageNet

EVAL_BATCH = 256
LAYOUT = "imagenet/train/<class>/*.JPEG and imagenet/val/<class>/*.JPEG (ImageFolder layout, val sorted into class folders)"


def folders(cfg: ImageNet) -> tuple[Path, Path]:
    base = data_root(cfg) / "imagenet"
    return base / "train", base / "val"


def ensure_files(cfg: ImageNet) -> None:
    for folder in folders(cfg):
        if not folder.is_dir() or not any(p.is_dir() for p in folder.iterdir()):
            how = "torchvision cannot download ImageNet; get it from https://image-net.org and put"
            raise DataUnavailable(f"{folder} not found or has no class folders. {how} {LAYOUT} under {data_root(cfg)} (data.root, else $NCSWEEP_DATA)")


def _to_uint8(size: int, train: bool) -> transforms.Compose:
    if train:
        crop = [transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()]
    else:  # the usual 256 -> 224 centre crop, scaled to any image_size
        crop = [transforms.Resize(round(size * 256 / 224)), transforms.CenterCrop(size)]
    return transforms.Compose([*crop, transforms.PILToTensor()])


@dataclass
class ImageFolderData:
    train_set: ImageFolder
    test_set: ImageFolder
    image_size: int
    workers: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    norm = IMAGENET_NORM

    @property
    def num_classes(self) -> int:
        return len(self.train_set.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (3, self.image_size, self.image_size)

    @property
    def train_size(self) -> int:
        return len(self.train_set)

    def class_counts(self) -> torch.Tensor:
        """n_k, the training folder's images per class (K,), from the file list (no image is read)."""
        return torch.bincount(torch.tensor(self.train_set.targets, dtype=torch.long), minlength=self.num_classes)

    def to(self, device: torch.device | str) -> ImageFolderData:
        moved = copy.copy(self)
        moved.device = torch.device(device)
        return moved

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)

    def _batches(self, dataset, batch_size: int, sampler=None) -> Iterator[Batch]:
        loader = DataLoader(
            dataset, batch_size=batch_size, sampler=sampler, num_workers=self.workers,
            pin_memory=self.device.type == "cuda", persistent_workers=False,
        )  # fmt: skip
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def train_batches(self, batch_size: int, generator: torch.Generator, crop_padding: int | None = None) -> Iterator[Batch]:
        """Shuffled uint8 batches; DA1 (any crop_padding) = RandomResizedCrop + flip per sample."""
        dataset = copy.copy(self.train_set)
        dataset.transform = _to_uint8(self.image_size, train=crop_padding is not None)
        yield from self._batches(dataset, batch_size, RandomSampler(dataset, generator=generator))

    def eval_batches(self, split: str, chunk: int, max_samples: int | None = None, seed: int = 0) -> Iterator[Batch]:
        dataset = copy.copy(self.train_set if split == "train" else self.test_set)
        dataset.transform = _to_uint8(self.image_size, train=False)
        keep = subset_indices(len(dataset), max_samples, seed)
        if keep is not None:
            dataset = Subset(dataset, keep.tolist())
        for x, y in self._batches(dataset, min(chunk, EVAL_BATCH)):
            yield self.normalize(x), y


def imagenet(cfg: ImageNet) -> ImageFolderData:
    ensure_files(cfg)
    train_dir, val_dir = folders(cfg)
    train, val = ImageFolder(str(train_dir)), ImageFolder(str(val_dir))
    if train.classes != val.classes:
        raise DataUnavailable(f"{val_dir}: its class folders differ from {train_dir}'s ({len(val.classes)} vs {len(train.classes)}); both need the same classes")
    return ImageFolderData(train, val, cfg.image_size, cfg.workers)
