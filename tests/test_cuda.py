"""The CUDA path, on a real GPU (skipped on a machine without one): bf16 training agrees with fp32,
the metrics computed on the GPU agree with the CPU's, and Ray packs two trials onto one GPU."""

from __future__ import annotations

import math

import pytest
import torch
import yaml
from clusterkit import BIN, clean_env, start, stop_tree
from conftest import tiny_sweep
from datafiles import write_cifar10
from mlflow.tracking import MlflowClient

from analysis.store.layout import PARENT_TAG, STATUS_TAG
from trainers import FINISHED, TrialConfig, run_trial
from trainers.losses import LOSSES
from trainers.metrics import METRICS, Context, compute_split

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CONDITIONAL = set(METRICS.keys()) - set(METRICS.always_defined())  # NaN by definition outside their condition


def resnet18_history(root, precision: str) -> dict[int, dict[str, float]]:
    config = TrialConfig.model_validate(
        {
            "data": {"name": "cifar10", "root": str(root)},
            "model": {"name": "resnet18"},
            "train": {"epochs": 2, "batch_size": 64, "augment": "da1", "device": "cuda", "precision": precision},
            "optim": {"lr": 0.05},
            "metrics": {"every": 1, "distribution_samples": 10},
        }
    )
    history: dict[int, dict[str, float]] = {}
    assert (
        run_trial(
            config, lambda epoch, m: history.update({epoch: {k: v for k, v in m.items() if isinstance(v, float)}})
        )
        == FINISHED
    )
    return history


def test_bf16_resnet18_on_cuda_agrees_with_fp32(tmp_path):
    write_cifar10(tmp_path, train_per_class=60, test_per_class=20)
    bf16, fp32 = resnet18_history(tmp_path, "bf16"), resnet18_history(tmp_path, "fp32")
    assert sorted(bf16) == sorted(fp32) == [1, 2]
    for epoch in (1, 2):
        assert bf16[epoch].keys() == fp32[epoch].keys()
        # Every key but those defined only under a condition this trial lacks (clean_acc needs label noise)
        defined = {k: v for k, v in bf16[epoch].items() if k.rsplit("/", 1)[-1] not in CONDITIONAL}
        assert all(math.isfinite(v) for v in defined.values()), defined
    # Stated tolerance: the same weights and batches, so the first epoch's mean training loss
    # differs only by bf16 rounding in the forward (within 5%); after two epochs the two runs
    # have drifted apart, so accuracies agree to 0.15 (on 600 images of 10 classes).
    assert bf16[1]["optim/batch_loss"] == pytest.approx(fp32[1]["optim/batch_loss"], rel=0.05)
    for key in ("train/acc", "test/acc"):
        assert abs(bf16[2][key] - fp32[2][key]) <= 0.15, (key, bf16[2][key], fp32[2][key])
    # sys/peak_mem_mb is torch's CUDA peak of the trial (a ResNet-18 at batch 64: tens to hundreds of MB)
    assert all(10 < h["sys/peak_mem_mb"] < 20_000 for h in (*bf16.values(), *fp32.values())), [
        h["sys/peak_mem_mb"] for h in fp32.values()
    ]


def test_metrics_on_the_gpu_agree_with_the_cpu_in_float64():
    gen = torch.Generator().manual_seed(0)
    n, d, k = 600, 32, 10
    labels = torch.arange(n) % k
    features = (
        torch.randn(n, d, generator=gen, dtype=torch.float64)
        + 3 * torch.randn(k, d, generator=gen, dtype=torch.float64)[labels]
    )
    weight, bias = (
        torch.randn(k, d, generator=gen, dtype=torch.float64),
        torch.randn(k, generator=gen, dtype=torch.float64),
    )
    layer = features @ torch.randn(d, 7, generator=gen, dtype=torch.float64)  # a second level, as a tapped layer

    def streamed(device: str) -> dict[str, float]:
        ctx = Context.of(weight.to(device), bias.to(device), LOSSES.make(name="bce"), lambda_b=0.01)
        result = compute_split(features.to(device), labels.to(device), ctx, layers={"l": layer.to(device)}, chunk=128)
        return {**result.values, **{f"l/{k}": v for k, v in result.layers["l"].items()}}

    cpu, gpu = streamed("cpu"), streamed("cuda")
    assert cpu.keys() == gpu.keys()
    for key, value in cpu.items():
        assert gpu[key] == pytest.approx(value, rel=1e-6, abs=1e-6, nan_ok=True), key
    # and NaN only where the metric is undefined here (clean_acc, noisy_fit: no label noise)
    assert {k.rsplit("/", 1)[-1] for k, v in cpu.items() if math.isnan(v)} <= CONDITIONAL


def test_two_trials_share_one_gpu_through_ray(tmp_path):
    path = tiny_sweep(tmp_path / "packed.yaml", name="packed", resources={"cpu": 1, "gpu": 0.5})
    spec = yaml.safe_load(path.read_text())
    spec["base"]["train"].update({"device": "cuda", "epochs": 30})  # long enough to overlap
    path.write_text(yaml.safe_dump(spec))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log = tmp_path / "run.log"
    driver = start(
        [str(BIN / "ncsweep"), "run", str(path), "--tracking-uri", uri, "--storage", str(tmp_path / "results")],
        tmp_path,
        clean_env(HOME=str(tmp_path)),
        log,
    )
    try:
        code = driver.wait(timeout=420)
    finally:
        stop_tree(driver)
    assert code == 0, log.read_text()[-3000:]
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("test-packed")
    runs = [r for r in client.search_runs([experiment.experiment_id]) if PARENT_TAG in r.data.tags]
    assert sorted(r.data.tags[STATUS_TAG] for r in runs) == ["finished", "finished"]
    (a, b) = [(r.info.start_time, r.info.end_time) for r in runs]
    assert a[0] < b[1] and b[0] < a[1], (a, b)  # both held half of the one GPU at the same time
