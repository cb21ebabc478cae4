"""`ncsweep bench` end to end on this machine's CPU, with a small model so it takes seconds: the
CIFAR files it writes are read by both input pipelines, and every row of the table is there."""

from __future__ import annotations

import json
import tempfile

import pytest

from orchestrator.cli.parser import main
from trainers.bench import report
from trainers.bench.cifar_files import write_random_cifar10
from trainers.data.vision import lenient


def test_bench_measures_every_row_with_a_small_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # its random CIFAR files go here
    # Each row times at least --quick's 3 s; this test checks the rows, not their precision.
    monkeypatch.setitem(report.MIN_SECONDS, True, 0.5)
    out = tmp_path / "bench.json"
    args = ["bench", "--quick", "--reference", "--pack", "1,2", "--cpus", "2", "--json", str(out)]
    assert (
        main([*args, "--set", "model.name=cnn", "--set", "train.batch_size=64", "--set", "metrics.layers=stages"]) == 0
    )
    printed = capsys.readouterr().out
    assert "ratio ncsweep / official" in printed and "metrics pass" in printed and f"JSON:     {out}" in printed
    result = json.loads(out.read_text())
    rows = {r["row"]: r for r in result["rows"]}
    assert (
        result["device_type"] == "cpu" and result["config"]["model"]["name"] == "cnn" and result["train_size"] == 1280
    )
    trial = rows["ncsweep, fp32 + NCHW"]
    assert trial["images_per_s"] > 0 and trial["ratio"] == 1.0 and trial["note"] == "the trial's setting"
    assert rows["official loader (2 workers), fp32 + NCHW"]["images_per_s"] > 0
    official = rows["official loader (2 workers), fp32 + NCHW"]["images_per_s"]
    assert rows["ratio ncsweep / official"]["ratio"] == pytest.approx(trial["images_per_s"] / official)
    share = rows["metrics pass, share of an epoch at metrics.every 1"]
    assert 0 < share["ratio"] < 1 and "layers stages" in share["note"]  # the trial's layers are part of the pass
    # measured, not asserted: the suite runs on two workers, and a timed ratio there is noise (speed
    # targets live in benchmarks/, docs/performance.md)
    assert (
        rows["metrics pass / plain forward"]["ratio"] > 0
        and "no metric" in rows["metrics pass / plain forward"]["note"]
    )
    evaluations = rows["evaluations + test forward / test forward"]
    assert evaluations["ratio"] > 1.0 and evaluations["note"].startswith("retrieval, verification: ")
    assert rows["pack 1 (aggregate)"]["ratio"] == 1.0 and rows["pack 2 (aggregate)"]["images_per_s"] > 0
    assert "skipped" in rows["torch.compile"]["note"]  # --quick on a CPU
    assert not list(tmp_path.glob("ncsweep-bench-*"))  # the data folder is removed


def test_random_cifar_files_are_read_by_torchvision_class(tmp_path):
    write_random_cifar10(tmp_path, n_train=50, n_test=20)
    train, test = lenient("cifar10")(str(tmp_path), train=True), lenient("cifar10")(str(tmp_path), train=False)
    assert (len(train), len(test)) == (50, 20) and train.data.shape == (50, 32, 32, 3)
    assert {int(y) for y in train.targets} <= set(range(10))


@pytest.mark.parametrize(
    "bad, says",
    [(["--pack", "0,2"], "--pack 0,2: expected numbers of copies >= 1"), (["--set", "loss.gamma=2"], "loss.gamma")],
)
def test_bad_bench_input_is_exit_2(bad, says, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["bench", "--quick", "--json", str(tmp_path / "b.json"), *bad]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()
