"""The two ways of feeding a training step that the bench compares, each an endless stream of
steps on a `Trainee` (trainers/setup.py), so both run the same model, loss, regularizers and
optimizer and differ only in where the batches come from.

- ncsweep's: the dataset lives on the device as uint8 tensors; crop, flip and normalization are
  batched tensor ops there (trainers/augment/ops.py).
- the official code's: torchvision's CIFAR10 Dataset with per-image PIL transforms
  (RandomCrop(32, 4), RandomHorizontalFlip, ToTensor, Normalize) in DataLoader worker
  processes, each batch copied to the device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from trainers.data.tensors import CIFAR_NORM
from trainers.loop import prepared_batches, train_step
from trainers.losses import soft_targets
from trainers.setup import Trainee

Step = Callable[[], None]


def _forever(batches: Callable[[], Iterator]) -> Iterator:
    while True:
        yield from batches()


def ncsweep_steps(t: Trainee) -> Step:
    """One training step per call, on ncsweep's on-device batches (epoch after epoch)."""
    t.model.train()
    batches = _forever(lambda: prepared_batches(t))

    def step() -> None:
        x, targets = next(batches)
        train_step(t, x, targets)

    return step


def official_loader(root: Path, batch_size: int, workers: int, pin_memory: bool) -> torch.utils.data.DataLoader:
    """The official code's training loader over the CIFAR-10 files under root."""
    from torchvision import transforms

    from trainers.data.vision import lenient  # torchvision's class; existence instead of md5

    augment = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(CIFAR_NORM.mean, CIFAR_NORM.std),
        ]
    )
    dataset = lenient("cifar10")(str(root), train=True, transform=augment)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        pin_memory=pin_memory,
        drop_last=True,
        persistent_workers=workers > 0,
    )


def official_steps(t: Trainee, root: Path, workers: int) -> Step:
    """One training step per call, on batches from the official loader (epoch after epoch)."""
    loader = official_loader(root, t.config.train.batch_size, workers, t.device.type == "cuda")
    batches = _forever(lambda: iter(loader))
    layout = torch.channels_last if t.channels_last else torch.contiguous_format
    t.model.train()

    def step() -> None:
        x, y = next(batches)
        x = x.to(t.device, non_blocking=True).contiguous(memory_format=layout)
        targets = soft_targets(y.to(t.device, non_blocking=True), t.data.num_classes, t.config.loss.label_smoothing)
        train_step(t, x, targets)

    return step
