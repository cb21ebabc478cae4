"""`validate --cluster`: how many trials run at once, from the spec's per-trial resources."""

import pytest

from orchestrator.cli.parser import main
from orchestrator.cluster.capacity import capacity, parse_cluster
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
    assert (
        "on gpus=8,cpus=64: 32 trials at once (limited by cpus and gpus; cpu 2, gpu 0.25 per trial), 2 waves"
        in capsys.readouterr().out
    )
    assert main(["validate", "sweeps/paper/bias_init.yaml", "--no-data-check", "--cluster", "gpus=0,cpus=64"]) == 2
    assert "no trial fits" in capsys.readouterr().err


def test_a_trial_no_node_can_hold_is_bad_input_naming_the_resource():
    from orchestrator.cluster.capacity import check_fits
    from orchestrator.errors import BadInput

    nodes = [{"CPU": 16.0, "GPU": 0.0}, {"CPU": 4.0, "GPU": 2.0}]
    check_fits(4, 1, nodes, "c", "s.yaml")  # the GPU node holds it
    check_fits(16, 0, nodes, "c", "s.yaml")
    check_fits(2, 0.25, nodes, "c", "s.yaml")
    with pytest.raises(
        BadInput, match=r"s.yaml: resources.gpu: a trial asks for cpu 1, gpu 4.*the largest has cpu 4, gpu 2"
    ):
        check_fits(1, 4, nodes, "c", "s.yaml")
    # 8 CPUs and a GPU: the CPU node has no GPU, the GPU node too few CPUs
    with pytest.raises(BadInput, match=r"resources.cpu: a trial asks for cpu 8, gpu 1"):
        check_fits(8, 1, nodes, "c", "s.yaml")


def test_a_joined_ray_cluster_is_checked_from_its_alive_nodes(ray_local, tmp_path):
    from conftest import tiny_sweep

    from orchestrator.running.session import check_cluster_fits
    from orchestrator.sweep.spec import load_sweep

    check_cluster_fits(load_sweep(tiny_sweep(tmp_path / "ok.yaml", resources={"cpu": 2, "gpu": 0})))
    with pytest.raises(
        BadInput, match=r"resources.cpu: a trial asks for cpu 3, gpu 0, but no node of the Ray cluster \(1 nodes\)"
    ):
        check_cluster_fits(load_sweep(tiny_sweep(tmp_path / "big.yaml", resources={"cpu": 3, "gpu": 0})))
