"""Paper-scale parts end to end: a torchvision ResNet with DA1 + DA2 on CIFAR files through Ray,
`ncsweep analyze --paper` on a digits bias-init sweep, and every paper sweep file validated."""

from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
import yaml
from datafiles import write_cifar10, write_cifar100, write_imagefolder, write_mnist, write_weights
from mlflow.tracking import MlflowClient

from orchestrator.cli.parser import main
from orchestrator.running.run import run_sweep
from orchestrator.sweep.spec import load_sweep
from trainers.losses import LOSSES

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
PAPER_COUNTS = {
    "nc.yaml": 36,
    "nc_fixed_etf.yaml": 36,
    "bias_init.yaml": 36,
    "bias_decay.yaml": 24,
    "batch_size.yaml": 32,
    "classification.yaml": 48,
    "imagenet_finetune.yaml": 6,
    "longtail.yaml": 6,
    "transformers.yaml": 24,
    "random_labels.yaml": 4,
}
LOSS_COUNTS = {  # sweeps/losses
    "digits.yaml": 72,
    "cifar10.yaml": 72,
    "margin_digits.yaml": 24,
    "longtail.yaml": 15,
    "heads_digits.yaml": 12,
    "heads_cifar10.yaml": 21,
}


def test_resnet18_with_da1_da2_runs_an_epoch_on_cifar_files_through_ray(ray_local, tmp_path):
    write_cifar10(tmp_path / "data", train_per_class=4, test_per_class=2)
    spec = {
        "name": "resnet-da2",
        "experiment": "test-resnet-da2",
        "base": {
            "data": {"name": "cifar10", "root": str(tmp_path / "data")},
            "model": {"name": "resnet18"},
            "train": {"epochs": 1, "batch_size": 16, "augment": "da1+da2"},
            "optim": {"name": "adamw", "lr": 0.001},
        },
        "grid": {"loss.name": ["bce"]},
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    outcome = run_sweep(load_sweep(path), uri, tmp_path / "results")
    assert outcome.statuses == {"bce-s0": "finished"}
    client = MlflowClient(uri)
    (run,) = client.search_runs(
        [client.get_experiment_by_name("test-resnet-da2").experiment_id], "tags.`ncsweep.trial` = 'bce-s0'"
    )
    assert run.data.params["model.name"] == "resnet18" and run.data.params["train.augment"] == "da1+da2"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/nc1")] == [1]
    assert 0.0 <= run.data.metrics["test/acc"] <= 1.0


def _is_png_with_content(path: Path) -> bool:
    image = matplotlib.image.imread(path)
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.shape[0] > 200 and image.std() > 0.01


def test_analyze_paper_on_a_digits_bias_init_sweep(ray_local, tmp_path, capsys):
    """The digits bias-init sweep cut to 3 epochs and 2 initial means (8 trials), then --paper."""
    spec = yaml.safe_load((ROOT / "sweeps/digits/bias_init.yaml").read_text())
    spec["base"]["train"]["epochs"] = 3
    spec["base"]["model"]["width"] = 32
    spec["grid"]["classifier.bias_init_mean"] = [0, 5]
    spec["experiment"] = "test-paper"
    path = tmp_path / "bias_init.yaml"
    path.write_text(yaml.safe_dump(spec))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    outcome = run_sweep(load_sweep(path), uri, tmp_path / "results")
    assert outcome.ok and len(outcome.statuses) == 8

    out = tmp_path / "paper"
    assert main(["analyze", "--experiment", "test-paper", "--out", str(out), "--paper", "--tracking-uri", uri]) == 0
    printed = capsys.readouterr().out
    assert "fig_violins_classifier_bias_init_mean.png" in printed and "figures logged under" in printed

    accuracy = pd.read_parquet(out / "paper_accuracy.parquet")
    assert set(accuracy["loss"]) == {"ce", "bce", "bce-ce"} and set(accuracy["selection"]) == {"best", "final"}
    bias = pd.read_parquet(out / "paper_bias.parquet")
    assert set(bias["axis"]) == {"classifier.bias_init_mean"} and set(bias["value"]) == {0.0, 5.0}
    assert len(bias) == 2 * 2 * 2  # values x losses x optimizers
    trials = pd.read_parquet(out / "trials.parquet")
    ce5 = trials[
        (trials["loss.name"] == "ce") & (trials["classifier.bias_init_mean"] == 5) & (trials["optim.name"] == "sgd")
    ]
    row = bias[(bias["loss"] == "ce") & (bias["value"] == 5.0) & (bias["optim.name"] == "sgd")]
    assert row["train_bias_mean_mean"].item() == pytest.approx(ce5["final/train/bias_mean"].item())
    assert (pd.read_parquet(out / "paper_features.parquet")["n"] == 1).all()

    figures = [out / "fig_nc.png", out / "fig_violins_classifier_bias_init_mean.png"]
    assert all(_is_png_with_content(f) for f in figures)
    logged = MlflowClient(uri).list_artifacts(outcome.parent_run_id, "figures")
    assert sorted(Path(a.path).name for a in logged) == sorted(f.name for f in figures)


def test_every_paper_sweep_validates_with_its_trial_count(tmp_path, monkeypatch, capsys):
    """With the data present (tiny files in the real formats) and the pretrained weights cached."""
    data = tmp_path / "data"
    for write in (write_mnist, write_cifar10, write_imagefolder):
        write(data)
    # 100 images a class: the long-tail sweeps' imbalance factor 100 leaves the last class one
    # (fewer and their class-count losses are refused: an empty class is bad input).
    write_cifar100(data, train_per_class=100)
    for name in ("resnet50", "resnet101", "densenet161"):
        write_weights(tmp_path / "torch", name)  # validate only checks that the file is there
    monkeypatch.setenv("NCSWEEP_DATA", str(data))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    files = sorted((ROOT / "sweeps/paper").glob("*.yaml"))
    assert sorted(f.name for f in files) == sorted(PAPER_COUNTS)
    for file in files:
        assert main(["validate", str(file)]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.startswith(f"{file}: {PAPER_COUNTS[file.name]} trials\n")
        sweep = load_sweep(file)
        assert sweep.spec.resources.gpu > 0  # written for a GPU cluster
    losses = sorted((ROOT / "sweeps/losses").glob("*.yaml"))
    assert sorted(f.name for f in losses) == sorted(LOSS_COUNTS)
    for file in losses:
        assert main(["validate", str(file)]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.startswith(f"{file}: {LOSS_COUNTS[file.name]} trials\n")
    linear = {name for cls in LOSSES.variants() if not cls.needs_cosine and not cls.heads for name in cls.names()}
    cosine = {name for cls in LOSSES.variants() if cls.needs_cosine for name in cls.names()}
    own_head = {name for cls in LOSSES.variants() if cls.heads for name in cls.names()}
    for name, want in (
        ("digits.yaml", linear),
        ("cifar10.yaml", linear),
        ("margin_digits.yaml", {"ce", "bce"} | cosine),
        ("heads_digits.yaml", {"ce", "bce"} | own_head),
        ("heads_cifar10.yaml", {"ce", "uniface", "adaface", "elasticface"} | own_head),
    ):
        assert set(load_sweep(ROOT / "sweeps/losses" / name).varied()["loss.name"]) == want, name
    noise = sorted((ROOT / "sweeps/noise").glob("*.yaml"))
    assert [f.name for f in noise] == ["cifar10.yaml", "digits.yaml"]
    for file, count in zip(noise, (72, 54)):
        assert main(["validate", str(file)]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.startswith(f"{file}: {count} trials\n")
        assert set(load_sweep(file).varied()["loss.name"]) == {"ce", "bce", "gce", "sce", "nce_rce", "nce_mae"}
    long_tail = {name for cls in LOSSES.variants() if cls.needs_class_counts for name in cls.names()}
    assert set(load_sweep(ROOT / "sweeps/losses/longtail.yaml").varied()["loss.name"]) == long_tail | {"ce", "bce"}
    monkeypatch.setenv("NCSWEEP_DATA", str(tmp_path / "empty"))  # (ImageNet never downloads)
    assert main(["validate", str(ROOT / "sweeps/paper/imagenet_finetune.yaml")]) == 2
    err = capsys.readouterr().err
    assert "imagenet_finetune.yaml: data.name 'imagenet'" in err and f"{tmp_path}/empty/imagenet/train not found" in err
