"""Training state round trip: a trial resumed from a checkpoint reports exactly what an
uninterrupted trial reports, and the accelerator settings (bf16 autocast, channels_last) train."""

import pytest
import torch
from conftest import nan_equal

from trainers import FINISHED, TrialConfig, run_trial
from trainers.accel import autocast_dtype, use_channels_last
from trainers.loop import CHECKPOINT, DISTRIBUTIONS
from trainers.state import load, save

SMALL = {
    "data": {"name": "synthetic", "num_classes": 3, "dim": 5, "train_per_class": 20, "test_per_class": 10},
    "model": {"name": "mlp", "width": 8, "depth": 1},
    "train": {"epochs": 5, "batch_size": 16},
    "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9},  # momentum buffers must survive the restart
    "schedule": {"name": "step", "milestones": [3], "gamma": 0.5},  # and the schedule's position
}
IMAGES = {  # digits through a small CNN with DA1 + mixup: the crop, flip and mixup generators too
    "model": {"name": "cnn", "channels": 4, "width": 16},
    "train": {"epochs": 3, "batch_size": 128, "augment": "da1+da2", "crop_padding": 1},
    "metrics": {"splits": ["test"], "distribution_samples": 10},
}


def run(tree: dict, checkpoint_every: int = 0, resume_from=None) -> tuple[str, dict[int, dict]]:
    reports: dict[int, dict] = {}
    status = run_trial(
        TrialConfig.model_validate(tree), lambda e, m: reports.__setitem__(e, m), checkpoint_every, resume_from
    )
    return status, reports


def comparable(metrics: dict) -> dict:
    return nan_equal(
        {k: v for k, v in metrics.items() if not k.startswith("time/") and k not in (CHECKPOINT, DISTRIBUTIONS)}
    )


@pytest.mark.parametrize("tree", [SMALL, IMAGES], ids=["mlp-momentum-step", "cnn-da1-mixup"])
def test_resumed_trial_reports_what_an_uninterrupted_one_reports(tree, tmp_path):
    epochs = tree["train"]["epochs"]
    _, whole = run(tree)
    _, first = run(tree, checkpoint_every=2)
    assert sorted(e for e, m in first.items() if CHECKPOINT in m) == sorted(
        {2, epochs} | ({4} if epochs > 4 else set())
    )
    save(first[2][CHECKPOINT], tmp_path)  # through the file, as a restarted worker reads it
    status, rest = run(tree, checkpoint_every=2, resume_from=load(tmp_path))
    assert status == FINISHED
    assert sorted(rest) == list(range(3, epochs + 1))  # epochs 1-2 are neither trained nor reported again
    for epoch in rest:
        assert comparable(rest[epoch]) == comparable(whole[epoch]), epoch
    assert rest[epochs][DISTRIBUTIONS] == whole[epochs][DISTRIBUTIONS]


def test_resuming_from_the_last_epoch_trains_and_reports_nothing(tmp_path):
    _, reports = run(SMALL, checkpoint_every=10)
    status, rest = run(SMALL, checkpoint_every=10, resume_from=reports[5][CHECKPOINT])
    assert status == FINISHED and rest == {}


def test_no_checkpoint_in_reports_unless_asked():
    _, reports = run(SMALL)
    assert not any(CHECKPOINT in m for m in reports.values())


def test_precision_and_layout_settings_resolve_per_device():
    cfg = TrialConfig.model_validate({}).train
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert autocast_dtype(cfg, cpu) is None and not use_channels_last(cfg, cpu, (3, 32, 32))
    assert use_channels_last(cfg, gpu, (3, 32, 32)) and not use_channels_last(cfg, gpu, (64,))
    forced = TrialConfig.model_validate({"train": {"precision": "bf16", "channels_last": True}}).train
    assert autocast_dtype(forced, cpu) is torch.bfloat16 and use_channels_last(forced, cpu, (3, 8, 8))
    off = TrialConfig.model_validate({"train": {"precision": "fp32", "channels_last": False}}).train
    assert autocast_dtype(off, gpu) is None and not use_channels_last(off, gpu, (3, 32, 32))


def test_bf16_channels_last_training_learns_and_keeps_fp32_metrics():
    tree = {
        **IMAGES,
        "optim": {"lr": 0.05},
        "train": {"epochs": 3, "batch_size": 32, "precision": "bf16", "channels_last": True},
    }
    status, bf16 = run(tree)
    _, fp32 = run({**tree, "train": {**tree["train"], "precision": "fp32", "channels_last": False}})
    assert status == FINISHED
    assert bf16[3]["test/acc"] > 0.3 and fp32[3]["test/acc"] > 0.3  # 10 classes: chance is 0.1
    # bf16 rounds the forward, so the two runs differ, but not by much after three epochs
    assert bf16[3]["optim/batch_loss"] != fp32[3]["optim/batch_loss"]
    assert bf16[3]["optim/batch_loss"] == pytest.approx(fp32[3]["optim/batch_loss"], rel=0.2)


def test_unknown_precision_is_rejected_with_the_allowed_values():
    with pytest.raises(Exception, match="auto.*bf16.*fp32"):
        TrialConfig.model_validate({"train": {"precision": "fp16"}})
