"""Per-layer collapse (`metrics.layers`): each model family's stages, the taps' features equal the
backbone's own output, the pooled layer outputs equal what a plain forward hook sees, unknown
names are bad input, and the `ncsweep train` commands of the issue print every layer key."""

import contextlib
import io

import pytest
import torch
from datafiles import write_cifar10

from orchestrator.cli.parser import main
from trainers.heads import CLASSIFIERS
from trainers.layers import LayerUnavailable, evenly_spaced, pool
from trainers.metrics import METRICS
from trainers.models import MODELS, build_model

CASES = {  # model config, input shape, expected stages
    "mlp": ({"name": "mlp", "depth": 3, "width": 16}, (64,), ["hidden1", "hidden2", "hidden3"]),
    "cnn on digits": ({"name": "cnn", "channels": 4, "width": 16}, (1, 8, 8), ["block1", "block2", "block3"]),
    "cnn on 32x32": (
        {"name": "cnn", "channels": 4, "width": 16},
        (3, 32, 32),
        ["block1", "block2", "block3", "block4", "block5"],
    ),
    "resnet32": ({"name": "resnet32"}, (3, 32, 32), ["stage1", "stage2", "stage3"]),
    "resnet18": ({"name": "resnet18"}, (3, 32, 32), ["layer1", "layer2", "layer3", "layer4"]),
    "densenet121": ({"name": "densenet121"}, (3, 32, 32), [f"features.denseblock{i}" for i in range(1, 5)]),
    "timm resnet": ({"name": "timm:resnet18"}, (3, 32, 32), ["act1", "layer1", "layer2", "layer3", "layer4"]),
    "timm vit": (
        {"name": "timm:vit_tiny_patch16_224", "kwargs": {"img_size": 32, "patch_size": 8, "depth": 8}},
        (3, 32, 32),
        ["blocks.1", "blocks.3", "blocks.5", "blocks.7"],
    ),
}


def hooked(backbone, name: str, x: torch.Tensor) -> torch.Tensor:
    seen = []
    handle = dict(backbone.named_modules())[name].register_forward_hook(lambda m, i, o: seen.append(o.detach().clone()))
    with torch.no_grad():
        backbone(x)
    handle.remove()
    return seen[0]


@pytest.mark.parametrize("case", CASES)
def test_stages_and_taps_of_each_model_family(case):
    cfg, shape, stages = CASES[case]
    variant = MODELS.make(**cfg)
    torch.manual_seed(0)
    backbone = build_model(variant, CLASSIFIERS.make(), shape, 10).backbone.eval()
    tap = variant.layer_tap(backbone, "stages")
    assert tap.names == stages
    x = torch.randn(3, *shape)
    with torch.no_grad():
        features, layers = tap(x)
        assert torch.allclose(features, backbone(x), atol=1e-6)  # the penultimate features, unchanged
    assert list(layers) == stages
    for name in stages:
        out = hooked(backbone, name, x)
        if case == "timm vit":  # classifies from its class token: the class token stands for the block
            expected = out[:, 0]
        else:
            expected = out.mean(dim=(2, 3)) if out.dim() == 4 else out
        assert torch.allclose(layers[name], expected, atol=1e-6), name


def test_named_layers_and_unknown_names():
    variant = MODELS.make(name="resnet18")
    backbone = build_model(variant, CLASSIFIERS.make(), (3, 32, 32), 10).backbone.eval()
    tap = variant.layer_tap(backbone, ["layer3.1", "layer2"])  # any module, in the order given
    _, layers = tap(torch.randn(2, 3, 32, 32))
    assert list(layers) == ["layer3.1", "layer2"] and layers["layer3.1"].shape == (2, 256)
    with pytest.raises(LayerUnavailable, match="no module named 'layer9'.*layer1"):
        variant.layer_tap(backbone, ["layer9"])
    vit = MODELS.make(**CASES["timm vit"][0])
    net = build_model(vit, CLASSIFIERS.make(), (3, 32, 32), 10).backbone
    with pytest.raises(LayerUnavailable, match="its stages: blocks.0, blocks.1"):
        vit.layer_tap(net, ["head"])
    assert list(vit.layer_tap(net, ["blocks.6", "blocks.2"])(torch.randn(2, 3, 32, 32))[1]) == ["blocks.6", "blocks.2"]


def test_pooling_and_spacing():
    assert (
        pool(torch.ones(2, 3, 4, 5)).shape == (2, 3)
        and pool(torch.ones(2, 7, 3)).shape == (2, 3)
        and pool(torch.ones(2, 4)).shape == (2, 4)
    )
    assert evenly_spaced([f"b{i}" for i in range(1, 13)]) == ["b3", "b6", "b9", "b12"]
    assert evenly_spaced(["a", "b", "c", "d", "e"]) == ["a", "b", "c", "d", "e"]


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


def test_train_prints_every_new_key_per_split_and_layer_on_digits():
    """The issue's acceptance: digits MLP of depth 3, metrics.layers=stages, 3 epochs."""
    code, out = run_cli("train", "--set", "metrics.layers=stages", "--set", "train.epochs=3", "--set", "model.depth=3")
    assert code == 0 and out.strip().endswith("finished")
    table = out.split("metrics at epoch 3:")[1].split("per layer")[0]
    for key in METRICS.keys():
        assert f"\n  {key} " in table, key
    layers = out.split("per layer at epoch 3, shallowest first:")[1].splitlines()[1:]
    rows = [line.split() for line in layers if line.strip() and line.split()[0].startswith("hidden")]
    assert [(r[0], r[1]) for r in rows] == [(f"hidden{i}", s) for i in (1, 2, 3) for s in ("train", "test")]
    nc1 = {(r[0], r[1]): float(r[2]) for r in rows}  # first column after layer and split: nc1
    assert nc1[("hidden3", "train")] < nc1[("hidden1", "train")]  # collapse grows with depth (He and Su 2023)


def test_train_prints_layer_keys_for_resnet18_on_cifar_files(tmp_path):
    write_cifar10(tmp_path, train_per_class=6, test_per_class=2)
    code, out = run_cli(
        "train",
        "--set",
        "data.name=cifar10",
        "--set",
        f"data.root={tmp_path}",
        "--set",
        "model.name=resnet18",
        "--set",
        "train.epochs=1",
        "--set",
        "train.batch_size=16",
        "--set",
        "metrics.layers=stages",
    )
    assert code == 0, out
    rows = [
        line.split() for line in out.split("shallowest first:")[1].splitlines()[2:] if line.strip().startswith("layer")
    ]
    assert [r[0] for r in rows] == ["layer1", "layer1", "layer2", "layer2", "layer3", "layer3", "layer4", "layer4"]
    assert all(len(r) == 2 + len(METRICS.layer_keys()) for r in rows)
    assert "\n  nc4 " in out and "\n  cdnv " in out and "\n  gnc2_h " in out
