"""`ncsweep slurm` without a cluster: the batch script it writes (--dry-run), its bad input, and
the traps the script must avoid, read off the script itself. tests/test_slurm_integration.py runs
it on a real Slurm."""

from __future__ import annotations

import subprocess

from conftest import tiny_sweep

from orchestrator.cli.parser import main


def dry_run(tmp_path, capsys, *args):
    sweep = tiny_sweep(tmp_path / "s.yaml", sbatch=["--constraint=a100"])
    code = main(["slurm", str(sweep), "--storage", str(tmp_path / "jobs"), "--dry-run", *args])
    return code, capsys.readouterr()


def test_dry_run_prints_the_two_node_script_and_submits_nothing(tmp_path, capsys):
    code, out = dry_run(tmp_path, capsys, "--nodes", "2", "--gpus-per-node", "4", "--time", "1-00:00:00", "--requeue")
    script = out.out
    assert code == 0 and script.startswith("#!/bin/bash\n")
    for line in ("--nodes=2", "--ntasks-per-node=1", "--gpus-per-node=4", "--time=1-00:00:00", "--requeue"):
        assert f"#SBATCH {line}\n" in script, line
    assert "#SBATCH --constraint=a100\n" in script  # extra lines from the sweep file
    assert "#SBATCH --signal=B:TERM@120\n" in script  # the driver hears of the time limit first
    commands = [line.split("#")[0] for line in script.splitlines()]  # the code, not its comments
    assert not any("ray stop" in c or 'address="auto"' in c or "address=auto" in c for c in commands)
    assert "--block" in script and "RAY_TMPDIR=$(mktemp -d" in script and "umask 077" in script
    assert "ncsweep resume" in script and "trap on_term TERM" in script
    written = list((tmp_path / "jobs").glob("slurm-s-*/job.sbatch"))
    assert len(written) == 1 and written[0].read_text() in script
    assert subprocess.run(["bash", "-n", str(written[0])]).returncode == 0  # valid bash


def test_bad_slurm_input_is_exit_2_naming_the_option(tmp_path, capsys):
    code, out = dry_run(tmp_path, capsys, "--time", "tomorrow")
    assert code == 2 and "--time: 'tomorrow'" in out.err and "D-HH:MM:SS" in out.err
    code, out = dry_run(tmp_path, capsys, "--nodes", "0")
    assert code == 2 and "--nodes: 0 (allowed: 1 or more)" in out.err
    assert not (tmp_path / "jobs").exists()  # nothing written
