"""Backbones: feature sizes, stems, pretrained weights from the local hub cache; paper-scale
trials (torchvision backbone, DA1 + DA2, files on disk) through run_trial, no Ray."""

import pytest
import torch
from datafiles import write_imagefolder, write_mnist, write_weights
from torch import nn

from trainers import FINISHED, TrialConfig, run_trial
from trainers.heads import CLASSIFIERS
from trainers.models import MODELS, WeightsUnavailable, build_model

FEATURES = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "densenet121": 1024, "resnet32": 64}


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_backbones_end_in_the_paper_head_with_their_feature_size(name):
    model = build_model(MODELS.make(name=name), CLASSIFIERS.make(bias_init_mean=3.0), (3, 32, 32), 10)
    model.eval()
    features, scores = model(torch.randn(2, 3, 32, 32))
    assert features.shape == (2, FEATURES[name]) and scores.shape == (2, 10)
    assert torch.allclose(scores, features @ model.head.weight.T - model.head.bias)
    assert (features >= 0).all()  # features come after the last ReLU


def test_cifar_stem_for_small_inputs_imagenet_stem_for_large():
    small = build_model(MODELS.make(name="resnet18"), CLASSIFIERS.make(), (3, 32, 32), 10).backbone
    assert small.conv1.kernel_size == (3, 3) and small.conv1.stride == (1, 1) and isinstance(small.maxpool, nn.Identity)
    large = build_model(MODELS.make(name="resnet18"), CLASSIFIERS.make(), (3, 96, 96), 10).backbone
    assert large.conv1.kernel_size == (7, 7) and isinstance(large.maxpool, nn.MaxPool2d)
    dense = build_model(MODELS.make(name="densenet121", stem="cifar"), CLASSIFIERS.make(), (3, 96, 96), 10).backbone
    assert dense.features.conv0.kernel_size == (3, 3) and isinstance(dense.features.pool0, nn.Identity)


def test_resnet32_is_the_long_tail_literature_size():
    model = build_model(MODELS.make(name="resnet32"), CLASSIFIERS.make(), (3, 32, 32), 100)
    params = sum(p.numel() for p in model.backbone.parameters())
    assert 0.45e6 < params < 0.47e6  # He et al. 2016: 0.46M
    convs = [m for m in model.backbone.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 31  # + the classifier = 32 weighted layers


def test_pretrained_weights_load_from_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailable, match="resnet18-.*pth not found"):
        build_model(MODELS.make(name="resnet18", pretrained=True), CLASSIFIERS.make(), (3, 224, 224), 10)
    import torchvision

    torch.manual_seed(123)
    reference = torchvision.models.resnet18()
    write_weights(tmp_path, "resnet18", reference.state_dict())
    model = build_model(MODELS.make(name="resnet18", pretrained=True), CLASSIFIERS.make(), (3, 224, 224), 10)
    assert torch.equal(model.backbone.layer3[0].conv1.weight, reference.layer3[0].conv1.weight)
    assert torch.equal(model.backbone.conv1.weight, reference.conv1.weight)  # ImageNet stem kept


def test_resnet_trial_with_da1_da2_on_mnist_files(tmp_path):
    write_mnist(tmp_path, train_per_class=3, test_per_class=1)
    cfg = TrialConfig.model_validate(
        {
            "data": {"name": "mnist", "root": str(tmp_path)},
            "model": {"name": "resnet32"},
            "train": {"epochs": 2, "batch_size": 16, "augment": "da1+da2"},
            "optim": {"name": "adamw", "lr": 1e-3},
        }
    )
    reports = {}
    assert run_trial(cfg, lambda e, m: reports.__setitem__(e, m)) == FINISHED
    assert set(reports) == {1, 2} and 0.0 <= reports[2]["test/acc"] <= 1.0
    assert len(reports[2]["distributions"]["bias"]) == 10


def test_imagenet_folder_trial_streams_through_the_loader(tmp_path):
    write_imagefolder(tmp_path, classes=3, train_per_class=4, val_per_class=2, side=40)
    cfg = TrialConfig.model_validate(
        {
            "data": {"name": "imagenet", "root": str(tmp_path), "image_size": 32, "workers": 0},
            "model": {"name": "resnet18", "stem": "imagenet"},
            "train": {"epochs": 1, "batch_size": 6, "augment": "da1"},
            "metrics": {"max_samples": 5},
        }
    )
    reports = {}
    assert run_trial(cfg, lambda e, m: reports.__setitem__(e, m)) == FINISHED
    assert len(reports[1]["distributions"]["splits"]["train"]["pos"]) == 5  # the 5-sample subset
    assert len(reports[1]["distributions"]["splits"]["test"]["pos"]) == 5
