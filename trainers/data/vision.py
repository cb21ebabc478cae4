"""MNIST, CIFAR-10 and CIFAR-100 through torchvision's dataset classes.

Each is decoded once into uint8 tensors (cached on disk, see cache.py) and then lives in memory as
a `TensorData`. torchvision's CIFAR classes refuse any file whose md5 differs from the official
archive's; ours accept files that parse and check the md5 only when a split has the official
size, so a corrupted real download is still caught while small test files in the real pickle
format load through the real code.
"""

from __future__ import annotations

import functools
import pickle
import shutil
from pathlib import Path
from typing import Literal

from trainers.data.base import DataUnavailable, FileData

OFFICIAL_SIZE = {True: 50_000, False: 10_000}  # CIFAR train / test images
MNIST_SIDE = 32  # docs/science.md: MNIST resized to 32 so the CIFAR backbones apply unchanged
HOW = {
    "mnist": "MNIST/raw/ with the four uncompressed IDX files (train-images-idx3-ubyte, ...)",
    "cifar10": "cifar-10-batches-py/ (the python version from https://www.cs.toronto.edu/~kriz/cifar.html)",
    "cifar100": "cifar-100-python/ (the python version from https://www.cs.toronto.edu/~kriz/cifar.html)",
}
NUM_CLASSES = {"mnist": 10, "cifar10": 10, "cifar100": 100}


class TorchvisionData(FileData):
    """MNIST and CIFAR in torchvision's on-disk formats; `download` lets torchvision fetch them."""

    name: Literal["mnist", "cifar10", "cifar100"] = "cifar10"
    download: bool = False

    @property
    def source(self) -> str:
        """The torchvision dataset whose files this reads."""
        return self.name

    @property
    def how(self) -> str:
        return HOW[self.source]

    def load(self):
        from trainers.data.tensors import CIFAR_NORM, MNIST_NORM, TensorData

        t = decoded(self)
        norm = MNIST_NORM if self.source == "mnist" else CIFAR_NORM
        return TensorData(t["x_train"], t["y_train"], t["x_test"], t["y_test"], NUM_CLASSES[self.source], norm)

    def ensure_available(self) -> None:
        ensure_files(self)

    def warm_cache(self) -> None:
        decoded(self)


def data_root(cfg: FileData) -> Path:
    """data.root, else $NCSWEEP_DATA, else ~/.cache/ncsweep/data."""
    return cfg.data_root()


@functools.cache
def lenient(source: str) -> type:
    """torchvision's CIFAR-10 or CIFAR-100 class, checking the files' existence instead of their
    md5 at load time (made on first use: torchvision is imported then)."""
    from torchvision.datasets import CIFAR10, CIFAR100
    from torchvision.datasets.utils import check_integrity

    class Lenient({"cifar10": CIFAR10, "cifar100": CIFAR100}[source]):
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
                    raise DataUnavailable(
                        f"{path}: md5 differs from the official CIFAR archive (corrupted?); delete "
                        f"{path.parent} and download again"
                    )

    Lenient.__module__, Lenient.__name__ = __name__, f"Lenient{source.upper()}"
    Lenient.__qualname__ = Lenient.__name__  # what pickle looks up: see __getattr__ below
    return Lenient


def __getattr__(name: str):
    """LenientCIFAR10 / LenientCIFAR100 by name, so a pickled dataset (a DataLoader worker's) finds its class."""
    for source in ("cifar10", "cifar100"):
        if name == f"Lenient{source.upper()}":
            return lenient(source)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def source_class(source: str) -> type:
    from torchvision.datasets import MNIST

    return MNIST if source == "mnist" else lenient(source)


def cifar_files(source: type, root: str | Path) -> list[Path]:
    """Every file of a torchvision CIFAR class (train and test batches, meta) under root."""
    names = [name for name, _ in source.train_list + source.test_list] + [source.meta["filename"]]
    return [Path(root, source.base_folder, name) for name in names]


def source_files(cfg: TorchvisionData) -> list[Path]:
    root = cfg.data_root()
    if cfg.source == "mnist":
        from torchvision.datasets import MNIST

        return [root / "MNIST" / "raw" / Path(name).stem for name, _ in MNIST.resources]
    return cifar_files(lenient(cfg.source), root)


def ensure_files(cfg: TorchvisionData) -> None:
    """Raise DataUnavailable unless every raw file is there; with data.download, fetch first."""
    missing = [p for p in source_files(cfg) if not p.is_file()]
    if not missing:
        return
    root = cfg.data_root()
    if not cfg.download:
        raise DataUnavailable(
            f"{missing[0]} not found ({len(missing)} of the {cfg.name} files missing under {root}). "
            f"Set data.download: true to fetch it with torchvision, or put {cfg.how} in {root} "
            f"(data.root, else $NCSWEEP_DATA, else ~/.cache/ncsweep/data)"
        )
    existed, created = root.exists(), root  # created: the outermost folder a download adds
    while not created.parent.exists():
        created = created.parent
    try:
        for train in (True, False):
            source_class(cfg.source)(str(root), train=train, download=True)
    except Exception as exc:  # torchvision raises URLError, HTTPError, RuntimeError...
        if not existed:  # leave no half-downloaded tree behind
            shutil.rmtree(created, ignore_errors=True)
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise DataUnavailable(
            f"downloading {cfg.name} into {root} failed ({reason}); fetch it on a machine with internet and "
            f"copy {cfg.how} there"
        ) from None


def _decode(cfg: TorchvisionData, train: bool):
    import torch
    import torch.nn.functional as F

    source = source_class(cfg.source)(str(cfg.data_root()), train=train)
    if cfg.source == "mnist":
        x = source.data[:, None].float()  # N,1,28,28; bilinear with antialias as PIL's Resize
        x = F.interpolate(x, size=MNIST_SIDE, mode="bilinear", antialias=True, align_corners=False)
        return x.round().clamp(0, 255).to(torch.uint8), source.targets.long()
    source.verify_if_official()
    x = torch.from_numpy(source.data).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    return x, torch.tensor(source.targets, dtype=torch.long)


def decoded(cfg: TorchvisionData) -> dict:
    """{x_train, y_train, x_test, y_test} as uint8 images and long labels, from the disk cache when
    the source files are unchanged."""
    from trainers.data.cache import cached

    ensure_files(cfg)

    def build() -> dict:
        (x_train, y_train), (x_test, y_test) = _decode(cfg, True), _decode(cfg, False)
        return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}

    return cached(cfg.data_root(), cfg.source, source_files(cfg), build)
