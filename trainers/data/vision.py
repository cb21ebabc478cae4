"""MNIST, CIFAR-10, CIFAR-100 and CIFAR-100-LT through torchvision's dataset classes.

Each is decoded once into uint8 tensors (cached on disk, see cache.py) and then lives in memory as
a `TensorData`. torchvision's CIFAR classes refuse any file whose md5 differs from the official
archive's; ours accept files that parse and check the md5 only when a split has the official
size, so a corrupted real download is still caught while small test files in the real pickle
format load through the real code.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.datasets import CIFAR10, CIFAR100, MNIST
from torchvision.datasets.utils import check_integrity

from trainers.data.base import CIFAR_NORM, MNIST_NORM, DataUnavailable, TensorData
from trainers.data.cache import cached
from trainers.dataset_configs import Cifar100LongTail, TorchvisionData

OFFICIAL_SIZE = {True: 50_000, False: 10_000}  # CIFAR train / test images
MNIST_SIDE = 32  # PAPER.md: MNIST resized to 32 so the CIFAR backbones apply unchanged


def data_root(cfg: TorchvisionData) -> Path:
    """data.root, else $NCSWEEP_DATA, else ~/.cache/ncsweep/data."""
    root = cfg.root or os.environ.get("NCSWEEP_DATA") or "~/.cache/ncsweep/data"
    return Path(root).expanduser()


def cifar_files(source: type, root: str | Path) -> list[Path]:
    """Every file of a torchvision CIFAR class (train and test batches, meta) under root."""
    names = [name for name, _ in source.train_list + source.test_list] + [source.meta["filename"]]
    return [Path(root, source.base_folder, name) for name in names]


class _LenientCifar:
    """Mixin for torchvision's CIFAR classes: existence instead of md5 at load time."""

    def _check_integrity(self) -> bool:
        return all(path.is_file() for path in cifar_files(type(self), self.root))

    def _load_meta(self) -> None:
        path = Path(self.root, self.base_folder, self.meta["filename"])
        if not path.is_file():
            raise RuntimeError(f"{path} not found")
        with open(path, "rb") as f:
            self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def verify_if_official(self) -> None:
        """md5 of every file of this split (and the meta file) when the split is full size."""
        if len(self.data) != OFFICIAL_SIZE[self.train]:
            return
        files = (self.train_list if self.train else self.test_list) + [(self.meta["filename"], self.meta["md5"])]
        for name, md5 in files:
            path = Path(self.root, self.base_folder, name)
            if not check_integrity(str(path), md5):
                raise DataUnavailable(f"{path}: md5 differs from the official CIFAR archive (corrupted?); delete {path.parent} and download again")


class Cifar10(_LenientCifar, CIFAR10):
    pass


class Cifar100(_LenientCifar, CIFAR100):
    pass


SOURCES = {"mnist": MNIST, "cifar10": Cifar10, "cifar100": Cifar100, "cifar100_lt": Cifar100}
HOW = {
    "mnist": "MNIST/raw/ with the four uncompressed IDX files (train-images-idx3-ubyte, ...)",
    "cifar10": "cifar-10-batches-py/ (the python version from https://www.cs.toronto.edu/~kriz/cifar.html)",
    "cifar100": "cifar-100-python/ (the python version from https://www.cs.toronto.edu/~kriz/cifar.html)",
}
HOW["cifar100_lt"] = HOW["cifar100"] + "; the long tail is cut from it"


def source_files(cfg: TorchvisionData) -> list[Path]:
    root, source = data_root(cfg), SOURCES[cfg.name]
    if source is MNIST:
        return [root / "MNIST" / "raw" / Path(name).stem for name, _ in MNIST.resources]
    return cifar_files(source, root)


def ensure_files(cfg: TorchvisionData) -> None:
    """Raise DataUnavailable unless every raw file is there; with data.download, fetch first."""
    missing = [p for p in source_files(cfg) if not p.is_file()]
    if not missing:
        return
    root = data_root(cfg)
    if not cfg.download:
        raise DataUnavailable(
            f"{missing[0]} not found ({len(missing)} of the {cfg.name} files missing under {root}). "
            f"Set data.download: true to fetch it with torchvision, or put {HOW[cfg.name]} in {root} "
            f"(data.root, else $NCSWEEP_DATA, else ~/.cache/ncsweep/data)"
        )
    existed, created = root.exists(), root  # created: the outermost folder a download adds
    while not created.parent.exists():
        created = created.parent
    try:
        for train in (True, False):
            SOURCES[cfg.name](str(root), train=train, download=True)
    except Exception as exc:  # torchvision raises URLError, HTTPError, RuntimeError...
        if not existed:  # leave no half-downloaded tree behind
            shutil.rmtree(created, ignore_errors=True)
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise DataUnavailable(f"downloading {cfg.name} into {root} failed ({reason}); fetch it on a machine with internet and copy {HOW[cfg.name]} there") from None


def _decode(cfg: TorchvisionData, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    source = SOURCES[cfg.name](str(data_root(cfg)), train=train)
    if isinstance(source, MNIST):
        x = source.data[:, None].float()  # N,1,28,28; bilinear with antialias as PIL's Resize
        x = F.interpolate(x, size=MNIST_SIDE, mode="bilinear", antialias=True, align_corners=False)
        return x.round().clamp(0, 255).to(torch.uint8), source.targets.long()
    source.verify_if_official()
    x = torch.from_numpy(source.data).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    return x, torch.tensor(source.targets, dtype=torch.long)


def decoded(cfg: TorchvisionData) -> dict[str, torch.Tensor]:
    ensure_files(cfg)
    key = "cifar100" if cfg.name == "cifar100_lt" else cfg.name

    def build() -> dict[str, torch.Tensor]:
        (x_train, y_train), (x_test, y_test) = _decode(cfg, True), _decode(cfg, False)
        return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}

    return cached(data_root(cfg), key, source_files(cfg), build)


def long_tail_indices(labels: torch.Tensor, num_classes: int, imbalance_factor: float, seed: int) -> torch.Tensor:
    """Indices of an exponentially imbalanced subset: class k keeps
    n_k = floor(n_max * IF^(-k / (K - 1))) samples (Cao et al. 2019, the CIFAR-LT profile), drawn at
    random with a fixed seed; n_max is the smallest class count of the source (500 for CIFAR-100).
    """
    gen = torch.Generator().manual_seed(seed)
    counts = torch.bincount(labels, minlength=num_classes)
    n_max = int(counts.min())
    keep = []
    for k in range(num_classes):
        n_k = int(n_max * imbalance_factor ** (-k / (num_classes - 1)))
        members = (labels == k).nonzero().squeeze(1)
        keep.append(members[torch.randperm(len(members), generator=gen)[:n_k]])
    return torch.cat(keep).sort().values


def mnist(cfg: TorchvisionData) -> TensorData:
    t = decoded(cfg)
    return TensorData(t["x_train"], t["y_train"], t["x_test"], t["y_test"], 10, MNIST_NORM)


def cifar10(cfg: TorchvisionData) -> TensorData:
    t = decoded(cfg)
    return TensorData(t["x_train"], t["y_train"], t["x_test"], t["y_test"], 10, CIFAR_NORM)


def cifar100(cfg: TorchvisionData) -> TensorData:
    t = decoded(cfg)
    return TensorData(t["x_train"], t["y_train"], t["x_test"], t["y_test"], 100, CIFAR_NORM)


def cifar100_lt(cfg: Cifar100LongTail) -> TensorData:
    """CIFAR-100 with a long-tailed training set (data.imbalance_factor) and the balanced test set."""
    t = decoded(cfg)
    keep = long_tail_indices(t["y_train"], 100, cfg.imbalance_factor, cfg.split_seed)
    return TensorData(t["x_train"][keep], t["y_train"][keep], t["x_test"], t["y_test"], 100, CIFAR_NORM)
