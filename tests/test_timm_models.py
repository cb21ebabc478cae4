"""timm backbones by name: `model.name: timm:<name>`, `model.kwargs` to timm.create_model, timm's
pooled pre-logits features under ncsweep's head; pretrained weights from the local caches only."""

import math
import subprocess

import pytest
import torch
from conftest import BIN
from datafiles import write_cifar10

from trainers import FINISHED, TrialConfig, run_trial
from trainers.heads import CLASSIFIERS
from trainers.metrics import METRICS
from trainers.models import MODELS, WeightsUnavailable, build_model

VIT = {"name": "timm:vit_tiny_patch16_224", "kwargs": {"img_size": 32, "patch_size": 4, "depth": 2}}


def test_timm_backbone_ends_in_the_paper_head():
    model = build_model(MODELS.make(**VIT), CLASSIFIERS.make(bias_init_mean=2.0), (3, 32, 32), 10)
    model.eval()
    x = torch.randn(3, 3, 32, 32)
    features, scores = model(x)
    assert features.shape == (3, 192) and scores.shape == (3, 10)  # vit_tiny's width
    assert torch.allclose(scores, features @ model.head.weight.T - model.head.bias)
    reference = model.backbone.forward_head(model.backbone.forward_features(x), pre_logits=True)
    assert torch.allclose(features, reference)  # timm's own pooled pre-logits output
    gray = build_model(MODELS.make(name="timm:resnet18"), CLASSIFIERS.make(), (1, 8, 8), 10)
    assert gray(torch.randn(2, 1, 8, 8))[0].shape == (2, 512)  # in_chans follows the data


def test_vit_trial_on_cifar_files_reports_every_metric(tmp_path):
    write_cifar10(tmp_path, train_per_class=4, test_per_class=2)
    config = TrialConfig.model_validate(
        {
            "data": {"name": "cifar10", "root": str(tmp_path)},
            "model": VIT,
            "optim": {"name": "adamw", "lr": 1e-3},
            "train": {"epochs": 2, "batch_size": 16, "augment": "da1"},
        }
    )
    reports: dict = {}
    assert run_trial(config, lambda epoch, metrics: reports.__setitem__(epoch, metrics)) == FINISHED
    for split in ("train", "test"):
        for key in METRICS.keys():
            assert f"{split}/{key}" in reports[2], (split, key)
    assert all(math.isfinite(reports[2][f"train/{k}"]) for k in ("acc", "nc1", "loss", "bias_residual"))


def test_train_command_with_a_timm_model(tmp_path):
    """The issue's acceptance command, through the console script."""
    write_cifar10(tmp_path, train_per_class=2, test_per_class=1)
    result = subprocess.run(
        [
            str(BIN / "ncsweep"),
            "train",
            "--set",
            "model.name=timm:vit_tiny_patch16_224",
            "--set",
            "model.kwargs={img_size: 32, patch_size: 4}",
            "--set",
            "data.name=cifar10",
            "--set",
            f"data.root={tmp_path}",
            "--set",
            "train.epochs=1",
            "--set",
            "train.batch_size=10",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "finished" and "test/uniform_acc" in result.stdout


def test_unknown_timm_model_and_uncached_weights_are_clear_errors(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsUnavailable, match="timm has no model 'no_such_net'"):
        MODELS.make(name="timm:no_such_net").ensure_available()
    with pytest.raises(
        WeightsUnavailable, match=f"Hugging Face hub cache {tmp_path / 'hf'}.*torch hub cache {tmp_path / 'torch'}"
    ):
        build_model(MODELS.make(name="timm:resnet18", pretrained=True), CLASSIFIERS.make(), (3, 32, 32), 10)


def test_pretrained_weights_load_from_the_hugging_face_cache(tmp_path, monkeypatch):
    """A checkpoint laid out as huggingface_hub caches it is found and loaded, with no network."""
    import huggingface_hub.constants
    import timm
    from safetensors.torch import save_file

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    repo = timm.models.get_pretrained_cfg("resnet18").hf_hub_id
    torch.manual_seed(7)
    reference = timm.create_model("resnet18")
    folder = tmp_path / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    (folder / "snapshots" / ("0" * 40)).mkdir(parents=True)
    save_file(reference.state_dict(), str(folder / "snapshots" / ("0" * 40) / "model.safetensors"))
    model = build_model(MODELS.make(name="timm:resnet18", pretrained=True), CLASSIFIERS.make(), (3, 32, 32), 10)
    assert torch.equal(model.backbone.layer2[0].conv1.weight, reference.layer2[0].conv1.weight)
