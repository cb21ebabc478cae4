"""Datasets through the real torchvision readers, on tiny files in the real formats; DA1 and DA2."""

import math
import pickle

import pytest
import torch
from datafiles import write_cifar10, write_cifar100, write_imagefolder, write_mnist
from torchvision.datasets import MNIST

from trainers.augment.da1_da2 import MixupConfig
from trainers.augment.mixup import build_mixup, mix
from trainers.augment.ops import random_crop_flip
from trainers.data import DATASETS, DataUnavailable, ensure_available, load_dataset, vision
from trainers.data.cache import CACHE_DIR


def test_cifar10_pickles_load_as_uint8_tensors_and_are_cached(tmp_path):
    folder = write_cifar10(tmp_path)
    data = load_dataset(DATASETS.make(name="cifar10", root=str(tmp_path)))
    assert data.x_train.shape == (50, 3, 32, 32) and data.x_train.dtype == torch.uint8
    assert data.x_test.shape == (20, 3, 32, 32) and data.num_classes == 10
    first = pickle.loads((folder / "data_batch_1").read_bytes())
    assert data.y_train[:10].tolist() == first["labels"]
    assert torch.equal(data.x_train[0].flatten(), torch.as_tensor(first["data"][0]))  # CHW, as stored
    cached = list((tmp_path / CACHE_DIR).glob("cifar10-*.pt"))
    assert len(cached) == 1
    again = load_dataset(DATASETS.make(name="cifar10", root=str(tmp_path)))
    assert torch.equal(again.x_train, data.x_train)
    x = data.normalize(data.x_train[:4])
    expected = (data.x_train[:4, 1].float() / 255 - 0.4822) / 0.1994
    assert x.dtype == torch.float32 and torch.allclose(x[:, 1], expected)


def test_changed_source_files_rebuild_the_cache(tmp_path):
    write_cifar10(tmp_path, seed=0)
    a = load_dataset(DATASETS.make(name="cifar10", root=str(tmp_path)))
    write_cifar10(tmp_path, seed=1)
    b = load_dataset(DATASETS.make(name="cifar10", root=str(tmp_path)))
    assert not torch.equal(a.x_train, b.x_train)


def test_full_size_files_are_md5_checked(tmp_path, monkeypatch):
    """The official md5 is checked when a split has the official size (here: pretend 50 is)."""
    write_cifar10(tmp_path)
    monkeypatch.setitem(vision.OFFICIAL_SIZE, True, 50)
    with pytest.raises(DataUnavailable, match="md5 differs from the official CIFAR archive"):
        load_dataset(DATASETS.make(name="cifar10", root=str(tmp_path)))


def test_mnist_idx_is_resized_to_32_and_repeated_to_three_channels(tmp_path):
    write_mnist(tmp_path)
    data = load_dataset(DATASETS.make(name="mnist", root=str(tmp_path)))
    raw = MNIST(str(tmp_path), train=True)  # torchvision's own reader of the same files
    assert data.x_train.shape == (50, 1, 32, 32) and torch.equal(data.y_train, raw.targets)
    assert data.input_shape == (3, 32, 32)
    means = data.x_train.float().mean(dim=(1, 2, 3))
    assert torch.allclose(means, raw.data.float().mean(dim=(1, 2)), atol=2.0)  # resizing keeps brightness
    x = data.normalize(data.x_train[:2])
    assert x.shape == (2, 3, 32, 32) and torch.equal(x[:, 0], x[:, 2])
    assert torch.allclose(x[:, 0], (data.x_train[:2, 0].float() / 255 - 0.1307) / 0.3081)


def test_cifar100_lt_follows_the_exponential_profile_with_a_balanced_test_set(tmp_path):
    write_cifar100(tmp_path, train_per_class=20, test_per_class=2)
    data = load_dataset(DATASETS.make(name="cifar100_lt", root=str(tmp_path), imbalance_factor=10))
    counts = torch.bincount(data.y_train, minlength=100).tolist()
    assert counts == [int(20 * 10 ** (-k / 99)) for k in range(100)]
    assert counts[0] == 20 and counts[-1] == 2
    assert torch.bincount(data.y_test, minlength=100).tolist() == [2] * 100
    same = load_dataset(DATASETS.make(name="cifar100_lt", root=str(tmp_path), imbalance_factor=10))
    other = load_dataset(DATASETS.make(name="cifar100_lt", root=str(tmp_path), imbalance_factor=10, split_seed=1))
    assert torch.equal(same.x_train, data.x_train) and not torch.equal(other.x_train, data.x_train)


def test_imagefolder_streams_train_and_val(tmp_path):
    write_imagefolder(tmp_path, classes=3, train_per_class=4, val_per_class=2, side=40)
    data = load_dataset(DATASETS.make(name="imagenet", root=str(tmp_path), image_size=32, workers=0))
    assert data.num_classes == 3 and data.train_size == 12 and data.input_shape == (3, 32, 32)
    batches = list(data.train_batches(5, torch.Generator().manual_seed(0), crop_padding=4))
    assert [tuple(x.shape) for x, _ in batches] == [(5, 3, 32, 32), (5, 3, 32, 32), (2, 3, 32, 32)]
    assert batches[0][0].dtype == torch.uint8
    assert sorted(torch.cat([y for _, y in batches]).tolist()) == sorted([0, 1, 2] * 4)
    evals = list(data.eval_batches("test", chunk=4))
    assert sum(len(y) for _, y in evals) == 6 and evals[0][0].dtype == torch.float32
    assert sum(len(y) for _, y in data.eval_batches("train", chunk=4, max_samples=5)) == 5


def test_missing_files_name_the_path_and_the_fix(tmp_path):
    with pytest.raises(DataUnavailable) as err:
        ensure_available(DATASETS.make(name="cifar100", root=str(tmp_path)))
    assert f"{tmp_path}/cifar-100-python/train not found" in str(err.value) and "data.download: true" in str(err.value)
    with pytest.raises(DataUnavailable, match="image-net.org"):
        ensure_available(DATASETS.make(name="imagenet", root=str(tmp_path)))
    ensure_available(DATASETS.make(name="digits"))  # bundled: nothing to check


def test_a_failed_download_is_reported(tmp_path, monkeypatch):
    """data.download with an unreachable mirror (a closed port on this host; no internet)."""
    from conftest import free_port

    monkeypatch.setattr(MNIST, "mirrors", [f"http://127.0.0.1:{free_port()}/"])
    root = tmp_path / "new" / "data"
    with pytest.raises(DataUnavailable, match="downloading mnist into .* failed"):
        ensure_available(DATASETS.make(name="mnist", root=str(root), download=True))
    assert list(tmp_path.iterdir()) == []  # the folders the download made are gone again


def test_random_crop_flip_is_a_crop_of_the_padded_image_or_its_mirror():
    """Brute force: every output sample equals one of the (2p+1)^2 x 2 crops of its input."""
    torch.manual_seed(0)
    x = torch.randint(0, 256, (16, 3, 6, 6), dtype=torch.uint8)
    out = random_crop_flip(x, padding=2)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    flips = 0
    for i in range(16):
        crops = [padded[i, :, dy : dy + 6, dx : dx + 6] for dy in range(5) for dx in range(5)]
        plain = any(torch.equal(out[i], c) for c in crops)
        mirrored = any(torch.equal(out[i], c.flip(-1)) for c in crops)
        assert plain or mirrored
        flips += mirrored and not plain
    assert 0 < flips < 16
    unpadded = random_crop_flip(x, padding=0)
    assert all(torch.equal(unpadded[i], x[i]) or torch.equal(unpadded[i], x[i].flip(-1)) for i in range(16))


def test_mixup_gives_smoothed_soft_targets_and_drops_an_odd_sample():
    torch.manual_seed(0)
    mixup = build_mixup(MixupConfig(), num_classes=10)
    x, y = torch.randn(7, 3, 8, 8), torch.arange(7)
    mixed, q = mix(mixup, x, y)
    assert mixed.shape == (6, 3, 8, 8) and q.shape == (6, 10)
    assert torch.allclose(q.sum(dim=1), torch.ones(6))
    assert q.min() >= 0.1 / 10 - 1e-6  # label smoothing 0.1 puts eps/K on every class
    plain = build_mixup(MixupConfig(prob=0.0, label_smoothing=0.0), num_classes=10)
    _, hard = mix(plain, x, y)
    assert torch.equal(hard, torch.nn.functional.one_hot(y[:6], 10).float())
    assert not math.isnan(q.sum().item())
