"""Label noise and per-class subsets (data.label_noise, data.sample_size), their metrics, and the
official code's remaining options (classifier.bias_init_mode, model.feature_dim, train.rotate,
schedule.min_lr), each against an independent computation or the official code's own formula."""

from __future__ import annotations

import math

import pytest
import torch
from datafiles import write_imagefolder

from trainers.augment.ops import random_rotate, rotate
from trainers.config import TrialConfig
from trainers.data import DATASETS, load_dataset
from trainers.data.labels import CIFAR10_MAP, noisy_labels, per_class_subset
from trainers.heads import CLASSIFIERS
from trainers.loop import run_trial
from trainers.metrics import Context, SplitPass
from trainers.models import MODELS

LABELS = torch.arange(10).repeat_interleave(100)  # 1,000 samples, 100 per class


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.4, 0.8])
def test_symmetric_noise_flips_exactly_the_rate_to_wrong_labels(rate):
    noisy = noisy_labels(LABELS, 10, "symmetric", rate, seed=3)
    changed = noisy != LABELS
    assert int(changed.sum()) == round(rate * 1000)  # every corrupted label is a wrong one
    assert torch.equal(noisy, noisy_labels(LABELS, 10, "symmetric", rate, seed=3))  # a pure function of the seed
    if rate:
        assert not torch.equal(noisy, noisy_labels(LABELS, 10, "symmetric", rate, seed=4))
        offsets = ((noisy - LABELS) % 10)[changed]
        assert set(offsets.tolist()) == set(range(1, 10))  # every wrong class is drawn


def test_asymmetric_noise_follows_the_class_map():
    cifar = noisy_labels(LABELS, 10, "asymmetric", 0.4, seed=0, dataset="cifar10")
    for k in range(10):
        moved = cifar[LABELS == k]
        if k in CIFAR10_MAP:  # truck -> automobile, bird -> airplane, deer -> horse, cat <-> dog
            assert (moved == CIFAR10_MAP[k]).sum() == 40 and (moved == k).sum() == 60
        else:
            assert (moved == k).all()
    digits = noisy_labels(LABELS, 10, "asymmetric", 0.4, seed=0, dataset="digits")
    for k in range(10):
        assert (digits[LABELS == k] == (k + 1) % 10).sum() == 40  # the next class elsewhere


def test_random_labels_at_rate_one_redraw_every_label():
    noisy = noisy_labels(LABELS, 10, "random", 1.0, seed=0)
    kept = float((noisy == LABELS).float().mean())
    assert 0.05 < kept < 0.15  # about 1/K keep their label by chance
    assert torch.bincount(noisy, minlength=10).min() > 60  # uniform over the classes


def test_per_class_subset_and_noise_on_the_training_split_only():
    subset = per_class_subset(LABELS, 10, 7, seed=1)
    assert torch.bincount(LABELS[subset], minlength=10).tolist() == [7] * 10
    assert torch.equal(subset, per_class_subset(LABELS, 10, 7, seed=1)) and torch.equal(subset, subset.sort().values)
    cfg = DATASETS.make(name="digits", sample_size=50, label_noise={"kind": "symmetric", "rate": 0.4})
    data = load_dataset(cfg)
    clean = data.train_labels(clean=True)
    assert data.train_size == 500 and torch.bincount(clean, minlength=10).tolist() == [50] * 10
    assert int((data.train_labels() != clean).sum()) == 200  # 0.4 of the 500
    plain = DATASETS.make(name="digits").load()
    assert torch.equal(data.y_test, plain.y_test) and data.clean_labels("test") is None  # the test split is clean
    assert torch.equal(data.class_counts(), torch.bincount(data.train_labels(), minlength=10))  # what it trains on
    # The clean labels come in the order eval_batches gives the samples, with or without a subset.
    for max_samples in (None, 123):
        labels = torch.cat([y for _, y in data.eval_batches("train", 64, max_samples, seed=5)])
        clean_order = data.clean_labels("train", max_samples, seed=5)
        assert len(clean_order) == len(labels) and int((labels != clean_order).sum()) > 0
        # Sample by sample: where the noise left a label alone, the two orders agree.
        kept = data.train_labels() == data.train_labels(clean=True)
        keep = (
            torch.arange(500)
            if max_samples is None
            else torch.randperm(500, generator=torch.Generator().manual_seed(5))[:max_samples].sort().values
        )
        assert torch.equal(clean_order, data.train_labels(clean=True)[keep]) and torch.equal(
            labels[kept[keep]], clean_order[kept[keep]]
        )


def test_streamed_imagefolder_takes_the_same_noise_and_subsets(tmp_path):
    write_imagefolder(tmp_path, classes=3, train_per_class=6, val_per_class=2, side=16)
    cfg = DATASETS.make(
        name="imagenet",
        root=str(tmp_path),
        image_size=16,
        workers=0,
        sample_size=4,
        label_noise={"kind": "random", "rate": 1.0},
    )
    data = load_dataset(cfg)
    assert data.train_size == 12 and torch.bincount(data.train_labels(clean=True), minlength=3).tolist() == [4, 4, 4]
    seen = torch.cat([y for _, y in data.eval_batches("train", 5)])
    assert torch.equal(seen, data.train_labels())  # the loader yields the noisy labels
    assert torch.equal(data.clean_labels("train"), data.train_labels(clean=True))


def test_noise_metrics_and_top5_against_brute_force():
    g = torch.Generator().manual_seed(0)
    n, k, d = 300, 8, 5
    features = torch.randn(n, d, generator=g, dtype=torch.float64)
    weight = torch.randn(k, d, generator=g, dtype=torch.float64)
    clean = torch.arange(n) % k
    labels = noisy_labels(clean, k, "symmetric", 0.3, seed=0)
    split = SplitPass(Context.of(weight, None))
    for start in range(0, n, 64):
        part = slice(start, start + 64)
        split.first(features[part], labels[part], None, clean[part])
    if split.needs_second:
        for start in range(0, n, 64):
            part = slice(start, start + 64)
            split.second(features[part], labels[part], None, clean[part])
    values = split.finish().values
    scores, y, y_clean = (features @ weight.T).tolist(), labels.tolist(), clean.tolist()
    pred = [max(range(k), key=lambda j, row=row: row[j]) for row in scores]
    top5 = [sorted(range(k), key=lambda j, row=row: -row[j])[:5] for row in scores]
    wrong = [i for i in range(n) if y[i] != y_clean[i]]
    assert values["acc5"] == pytest.approx(sum(y[i] in top5[i] for i in range(n)) / n, abs=1e-15)
    assert values["clean_acc"] == pytest.approx(sum(pred[i] == y_clean[i] for i in range(n)) / n, abs=1e-15)
    assert values["noisy_fit"] == pytest.approx(sum(pred[i] == y[i] for i in wrong) / len(wrong), abs=1e-15)
    assert values["acc"] == pytest.approx(
        sum(pred[i] == y[i] for i in range(n)) / n, abs=1e-15
    )  # against the noisy labels
    plain = SplitPass(Context.of(weight[:5], None))
    plain.first(features, clean % 5)
    assert all(math.isnan(plain.finish().values[key]) for key in ("acc5", "clean_acc", "noisy_fit"))  # K = 5, no noise


def test_random_labels_are_memorized_and_do_not_generalize():
    """The memorization experiment (Zhang et al. 2017; the official code's cifar10_random) on
    digits: with every training label redrawn, a wide MLP fits them, the test set stays at chance."""
    config = TrialConfig.model_validate(
        {
            "data": {"name": "digits", "label_noise": {"kind": "random", "rate": 1.0}},
            "model": {"name": "mlp", "width": 512, "depth": 2},
            "optim": {"name": "adamw", "lr": 2.0e-3, "weight_decay": 0.0},
            "schedule": {"name": "constant"},
            "regularization": {"lambda_w": 0.0, "lambda_b": 0.0, "lambda_h": 0.0},
            "train": {"epochs": 40},
            "metrics": {"every": 40},
        }
    )
    reports = {}
    assert run_trial(config, lambda epoch, metrics: reports.update({epoch: metrics})) == "finished"
    last = reports[40]
    assert last["train/acc"] > 0.9 and last["train/noisy_fit"] > 0.9  # the random labels, memorized
    assert 0.0 < last["test/acc"] < 0.2 and last["train/clean_acc"] < 0.2  # chance is 0.1
    assert all(math.isfinite(last[f"train/{key}"]) for key in ("nc1", "nc2_h", "nc2_w", "nc3", "cdnv"))


def official_bias(mode: int, k: int) -> list[float]:
    """The official models/linear.py's bias_init_mode 1-7, transcribed loop for loop."""
    if mode == 1:
        return [float(x) for x in range(k)]
    if mode in (2, 3):
        value = [x * 64.0 / k for x in range(k)]
        return value if mode == 2 else value[::-1]
    if mode in (4, 5):
        value = [math.log(96 * x + 1) for x in range(k)]
        return value if mode == 4 else value[::-1]
    value = [1.0] * k
    high = math.log(96 * k)
    for i in range(k):
        block = 0 if i < k // 4 else 1 if i < k // 2 else 2 if i < 3 * k // 4 else 3
        value[i] *= (high if block % 2 == 0 else 0.0) if mode == 6 else (0.0 if block % 2 == 0 else high)
    return value


@pytest.mark.parametrize("k", [10, 7, 100])
@pytest.mark.parametrize("mode", range(1, 8))
def test_bias_init_modes_are_the_official_formulas(mode, k):
    head = CLASSIFIERS.make(bias_init_mode=mode, bias_init_mean=2.0).build(feature_dim=16, num_classes=k)
    want = torch.tensor(official_bias(mode, k)) + 2.0  # bias_init_mean added on top, as there
    assert torch.allclose(head.bias.detach(), want, atol=1e-5)


def test_feature_dim_narrows_the_last_resnet_block_as_fixdim_does():
    net, dim = MODELS.make(name="resnet18", feature_dim=10).build((3, 32, 32))
    last = net.layer4[-1]
    assert dim == 10 and last.conv2.out_channels == 10 and last.bn2.num_features == 10
    assert last.downsample[0].in_channels == 512 and last.downsample[0].out_channels == 10
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    config = TrialConfig.model_validate(
        {
            "model": {"name": "resnet18", "feature_dim": 10},
            "data": {"name": "digits"},
            "classifier": {"name": "fixed_etf"},
        }
    )
    assert config.model.feature_dim == 10  # the official --fixdim with --ETF_fc: a K x K ETF head


def test_rotation_is_torchvisions_nearest_rotation_batched():
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.functional import rotate as tv_rotate

    x = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    x_square = torch.arange(16, dtype=torch.uint8).reshape(1, 1, 4, 4)
    assert torch.equal(rotate(x_square, torch.tensor([math.pi / 2])), torch.rot90(x_square, 1, (2, 3)))
    assert torch.equal(rotate(x, torch.zeros(3)), x)
    angles = [15.0, -12.5, 7.0]
    ours = rotate(x, torch.tensor(angles) * math.pi / 180)
    for i, angle in enumerate(angles):
        theirs = tv_rotate(x[i], angle, interpolation=InterpolationMode.NEAREST)
        assert (ours[i] == theirs).float().mean() > 0.97  # nearest-pixel ties round differently at a few edges
    torch.manual_seed(0)
    assert not torch.equal(random_rotate(x, 15.0), x)


def test_cosine_floor_is_timms_lr_min():
    from timm.scheduler import CosineLRScheduler

    base, floor, epochs = 0.01, 1e-5, 20
    schedule = TrialConfig.model_validate(
        {"schedule": {"name": "cosine", "min_lr": floor}, "optim": {"lr": base}}
    ).schedule
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    timm = CosineLRScheduler(optimizer, t_initial=epochs, lr_min=floor)
    for epoch in range(epochs):
        assert base * schedule.factor(epoch, epochs, base) == pytest.approx(timm._get_lr(epoch)[0], rel=1e-12)
