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
from typing import Any, Literal

from pydantic import Field

from trainers.data.base import DataUnavailable, FileData

EVAL_BATCH = 256
LAYOUT = (
    "imagenet/train/<class>/*.JPEG and imagenet/val/<class>/*.JPEG (ImageFolder layout, val sorted into class folders)"
)


class ImageNet(FileData):
    """An ImageFolder tree (train/ and val/), streamed from disk by loader processes."""

    name: Literal["imagenet"] = "imagenet"
    image_size: int = Field(224, ge=8)  # train crop and eval centre crop
    workers: int = Field(8, ge=0)  # JPEG-decoding loader processes

    def folders(self) -> tuple[Path, Path]:
        base = self.data_root() / "imagenet"
        return base / "train", base / "val"

    def ensure_available(self) -> None:
        for folder in self.folders():
            if not folder.is_dir() or not any(p.is_dir() for p in folder.iterdir()):
                how = "torchvision cannot download ImageNet; get it from https://image-net.org and put"
                raise DataUnavailable(
                    f"{folder} not found or has no class folders. {how} {LAYOUT} under {self.data_root()} "
                    "(data.root, else $NCSWEEP_DATA)"
                )

    def load(self) -> ImageFolderData:
        from torchvision.datasets import ImageFolder

        self.ensure_available()
        train_dir, val_dir = self.folders()
        train, val = ImageFolder(str(train_dir)), ImageFolder(str(val_dir))
        if train.classes != val.classes:
            raise DataUnavailable(
                f"{val_dir}: its class folders differ from {train_dir}'s ({len(val.classes)} vs "
                f"{len(train.classes)}); both need the same classes"
            )
        return ImageFolderData(train, val, self.image_size, self.workers)


def _to_uint8(size: int, train: bool, rotate: float = 0.0):
    from torchvision import transforms

    if train:
        crop = [transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()]
        if rotate:
            crop.append(transforms.RandomRotation(rotate))
    else:  # the usual 256 -> 224 centre crop, scaled to any image_size
        crop = [transforms.Resize(round(size * 256 / 224)), transforms.CenterCrop(size)]
    return transforms.Compose([*crop, transforms.PILToTensor()])


def _cpu():
    import torch

    return torch.device("cpu")


@dataclass
class ImageFolderData:
    """The streamed dataset, with TensorData's interface (trainers/data/tensors.py)."""

    train_set: Any  # torchvision ImageFolder
    test_set: Any
    image_size: int
    workers: int
    device: Any = field(default_factory=_cpu)
    train_clean: Any = None  # the training labels before data.label_noise (a long tensor), or None
    val_set: Any = None  # the validation split carved out of train_set (data.val_fraction), or None

    def train_labels(self, clean: bool = False):
        import torch

        if clean and self.train_clean is not None:
            return self.train_clean
        return torch.tensor(self.train_set.targets, dtype=torch.long)

    def _relabelled(self, samples: list, clean) -> ImageFolderData:
        dataset = copy.copy(self.train_set)
        dataset.samples = dataset.imgs = samples
        dataset.targets = [label for _, label in samples]
        moved = copy.copy(self)
        moved.train_set, moved.train_clean = dataset, clean
        return moved

    def train_subset(self, indices) -> ImageFolderData:
        keep = indices.tolist()
        clean = None if self.train_clean is None else self.train_clean[indices]
        return self._relabelled([self.train_set.samples[i] for i in keep], clean)

    def with_val(self, train, val) -> ImageFolderData:
        """The training images at `val` become the validation split; those at `train` stay."""
        carved = self.train_subset(train)
        carved.val_set = copy.copy(self.train_set)
        carved.val_set.samples = carved.val_set.imgs = [self.train_set.samples[i] for i in val.tolist()]
        carved.val_set.targets = [label for _, label in carved.val_set.samples]
        return carved

    @property
    def has_val(self) -> bool:
        return self.val_set is not None

    def with_train_labels(self, labels) -> ImageFolderData:
        """The same images trained on `labels`; the labels they had stay as the clean ones."""
        samples = [(path, int(label)) for (path, _), label in zip(self.train_set.samples, labels.tolist())]
        return self._relabelled(samples, self.train_labels(clean=True))

    def clean_labels(self, split: str, max_samples: int | None = None, seed: int = 0):
        """The clean labels of `split` in the order `eval_batches` yields it (None: the labels are clean)."""
        from trainers.data.tensors import subset_indices

        if split != "train" or self.train_clean is None:
            return None
        keep = subset_indices(len(self.train_clean), max_samples, seed)
        return self.train_clean if keep is None else self.train_clean[keep]

    @property
    def num_classes(self) -> int:
        return len(self.train_set.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (3, self.image_size, self.image_size)

    @property
    def train_size(self) -> int:
        return len(self.train_set)

    def class_counts(self):
        """n_k, the training folder's images per class (K,), from the file list (no image is read)."""
        import torch

        return torch.bincount(torch.tensor(self.train_set.targets, dtype=torch.long), minlength=self.num_classes)

    def to(self, device) -> ImageFolderData:
        import torch

        moved = copy.copy(self)
        moved.device = torch.device(device)
        return moved

    def normalize(self, x):
        from trainers.data.tensors import IMAGENET_NORM

        return IMAGENET_NORM(x)

    def _batches(self, dataset, batch_size: int, sampler=None) -> Iterator:
        from torch.utils.data import DataLoader

        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def train_batches(
        self, batch_size: int, generator, crop_padding: int | None = None, rotate: float = 0.0
    ) -> Iterator:
        """Shuffled uint8 batches; DA1 (any crop_padding) = RandomResizedCrop + flip per sample
        (and RandomRotation within +-`rotate` degrees when set)."""
        from torch.utils.data import RandomSampler

        dataset = copy.copy(self.train_set)
        dataset.transform = _to_uint8(self.image_size, train=crop_padding is not None, rotate=rotate)
        yield from self._batches(dataset, batch_size, RandomSampler(dataset, generator=generator))

    def eval_batches(self, split: str, chunk: int, max_samples: int | None = None, seed: int = 0) -> Iterator:
        from torch.utils.data import Subset

        from trainers.data.tensors import subset_indices

        dataset = copy.copy({"train": self.train_set, "val": self.val_set}.get(split, self.test_set))
        dataset.transform = _to_uint8(self.image_size, train=False)
        keep = subset_indices(len(dataset), max_samples, seed)
        if keep is not None:
            dataset = Subset(dataset, keep.tolist())
        for x, y in self._batches(dataset, min(chunk, EVAL_BATCH)):
            yield self.normalize(x), y
