"""`validate --cluster`: how many trials run at once, from the spec's per-trial resources."""

import pytest

from orchestrator.capacity import capacity, parse_cluster
from orchestrator.cli import main
from orchestrator.errors import BadInput


def test_fractional_gpus_pack_trials_and_the_tightest_limit_wins():
    assert capacity(cpu=2, gpu=0.25, cpus=64, gpus=8, trials=36).at_once == 32  # 4 per GPU
    fit = capacity(cpu=4, gpu=0.25, cpus=64, gpus=8, trials=36)
    assert (fit.at_once, fit.limited_by, fit.waves) == (16, "cpus", 3)
    assert capacity(cpu=1, gpu=0, cpus=2, gpus=0, trials=6).at_once == 2
    assert capacity(cpu=1, gpu=0.5, cpus=64, gpus=8, trials=6).limited_by == "trials"
    assert capacity(cpu=1, gpu=0.5, cpus=64, gpus=8, trials=36, max_concurrent=5).limited_by == "max_concurrent"
    assert capacity(cpu=1, gpu=1, cpus=64, gpus=0, trials=6).at_once == 0


def test_parse_cluster():
    assert parse_cluster("gpus=8,cpus=64") == {"gpus": 8.0, "cpus": 64.0}
    for bad in ("gpus=8", "cpus=x", "nodes=3,cpus=4", "cpus=-1"):
        with pytest.raises(BadInput, match="--cluster"):
            parse_cluster(bad)


def test_validate_cluster_prints_trials_at_once(capsys):
    assert main(["validate", "sweeps/paper/bias_init.yaml", "--no-data-check", "--cluster", "gpus=8,cpus=64"]) == 0
    assert "on gpus=8,cpus=64: 32 trials at once (limited by cpus and gpus; cpu 2, gpu 0.25 per trial), 2 waves" in capsys.readouterr().out
    assert main(["validate", "sweeps/paper/bias_init.yaml", "--no-data-check", "--cluster", "gpus=0,cpus=64"]) == 2
    assert "no trial fits" in capsys.readouterr().err
