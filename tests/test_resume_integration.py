"""A sweep whose driver dies (and whose resumed driver is stopped by Ctrl-C): `ncsweep resume`
finishes it in the same MLflow parent run, without rerunning finished trials, restarting
checkpointed ones from scratch, or logging an epoch twice.
It runs the laptop path: the console script, its own local Ray, the default store in the working
directory, then `ncsweep analyze`.
And a tracking server that is down at the start stops `ncsweep run` before anything runs."""

from __future__ import annotations

import re
import signal
import stat
import subprocess
import time

import pyarrow.parquet as pq
import pytest
from clusterkit import BIN, EPOCHS, Runs, clean_env, slow_sweep, start, stop_tree
from conftest import free_port

from orchestrator.cli.parser import main

pytestmark = pytest.mark.integration


def test_tracking_server_down_at_start_exits_2_before_any_trial(tmp_path):
    path = slow_sweep(tmp_path / "down.yaml", "down")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = subprocess.run(
        [str(BIN / "ncsweep"), "run", str(path), "--tracking-uri", url],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: --tracking-uri {url}: the MLflow tracking server is not reachable")
    )
    assert "No trial was started" in result.stderr and "Running" not in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["down.yaml"]  # no results folder, no store


def test_driver_killed_then_resume_interrupted_by_ctrl_c_then_resume_finishes_every_trial_once(tmp_path):
    """One sweep through both ways a driver stops: SIGKILL (no chance to clean up) mid-sweep, then
    Ctrl-C (SIGINT) of the resumed driver: exit 130, the resume command printed last, no child run
    left RUNNING. A second `ncsweep resume` finishes every trial once, in the same parent run."""
    path = slow_sweep(tmp_path / "crash.yaml", "crash", max_concurrent=2)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # Tune snapshots its state at most this often: the kill below comes after a snapshot that has
    # the running trials' checkpoints (ncsweep's own default is 5 s).
    # An empty HOME and no Ray token anywhere: the driver writes a private one before its Ray starts.
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(TUNE_GLOBAL_CHECKPOINT_S="0.5", NCSWEEP_PROGRESS_INTERVAL_S="1", HOME=str(home))
    env = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
    log = tmp_path / "run.log"
    # No --tracking-uri, no --storage: the laptop path, MLflow's sqlite store and ncsweep_results/ in
    # the working directory, and a local Ray that the driver starts itself.
    driver = start([str(BIN / "ncsweep"), "run", str(path)], tmp_path, env, log)
    runs = Runs(uri, "test-crash")

    def ended(run):
        # A trial has ended once its run is closed too: the status tag is written just before the
        # run is ended, and a kill between the two leaves it to be run again.
        status = run.data.tags.get("ncsweep.status")
        return "running" if status == "finished" and run.info.status == "RUNNING" else status

    try:

        def one_finished_one_checkpointed(children):
            # The snapshot the condition saw is the one the test compares with, not a later read.
            state = {r.data.tags["ncsweep.trial"]: (ended(r), len(runs.epochs(r))) for r in children}
            finished = [name for name, (status, _) in state.items() if status == "finished"]
            running = [name for name, (status, n) in state.items() if status == "running" and 2 <= n < EPOCHS]
            return state if finished and running else None

        before = runs.wait(
            one_finished_one_checkpointed, 240, "a finished trial and a checkpointed running one", driver, log
        )
        driver.send_signal(signal.SIGKILL)  # the driver only: no chance to clean up
    finally:
        stop_tree(driver)  # then the Ray processes it had started
    # Not a terminal: progress lines with the ETA, and none of Ray Tune's own console output.
    output = log.read_text()
    token = home / ".ray" / "auth_token"  # 600 in a 700 folder (Ray's own would be 644 in 755), no warning
    assert stat.S_IMODE(token.stat().st_mode) == 0o600 and stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert "warning:" not in output
    assert re.search(r"progress: .*\d+ running.*; epochs \d+/\d+; ETA \d+", output), output[-3000:]
    for noise in (
        "Configuration for experiment",
        "To visualize your results with TensorBoard",
        "Trial status",
        "Creating initial MLflow database",
    ):
        assert noise not in output, noise
    # A trial with 2 logged epochs reported its epoch-1 checkpoint over a second ago, so Tune's
    # last state snapshot knows it; such a trial must not start over.
    checkpointed = {name for name, (status, n) in before.items() if status == "running" and 2 <= n < EPOCHS}
    assert checkpointed, before
    results = re.search(r"Results:\s+(\S+)", log.read_text()).group(1)

    # The resumed driver is stopped by Ctrl-C once Tune runs its trials again (its progress line
    # counts a running one: read from its output, which MLflow has only after a batching delay).
    log2 = tmp_path / "resume.log"
    resumed = start([str(BIN / "ncsweep"), "resume", results], tmp_path, env, log2)
    try:
        deadline = time.time() + 240
        while not re.search(r"progress: .*\b[1-9]\d* running", log2.read_text()):
            assert resumed.poll() is None and time.time() < deadline, log2.read_text()[-3000:]
            time.sleep(0.2)
        resumed.send_signal(signal.SIGINT)
        code = resumed.wait(timeout=180)
    finally:
        stop_tree(resumed)
    output = log2.read_text()
    assert code == 130, output[-3000:]
    # The store is a little behind the killed driver's journal: the resume writes what it missed
    # first, so it may count a trial more as ended than the test read before the kill.
    finished_before = sum(s == "finished" for s, _ in before.values())
    had_ended = int(re.search(r"(\d+) of 4 trials had ended", output).group(1))
    assert finished_before <= had_ended < 4, output[-3000:]
    assert output.strip().splitlines()[-1] == f"interrupted: continue with: ncsweep resume {results}"
    assert re.search(r"4 trials in \d+ s: .*interrupted", output), output[-2000:]
    children = runs.children()
    assert children and all(r.info.status != "RUNNING" for r in children)
    assert any(r.info.status == "KILLED" and r.data.tags["ncsweep.status"] == "interrupted" for r in children)
    assert runs.parents()[0].data.tags["ncsweep.status"] == "interrupted"

    log3 = tmp_path / "resume2.log"
    again = start([str(BIN / "ncsweep"), "resume", results], tmp_path, env, log3)
    try:
        code = again.wait(timeout=300)
    finally:
        stop_tree(again)
    output = log3.read_text()
    assert code == 0, output[-3000:]
    for noise in ("Failed to fetch metrics", "Token authentication is enabled"):  # Ray's, at the end and start
        assert noise not in output, noise

    final = runs.assert_complete({"ce-s0", "ce-s1", "bce-s0", "bce-s1"})  # every epoch once
    assert len(runs.parents()) == 1 and runs.parents()[0].info.status == "FINISHED"  # the same parent run
    for name, (status, logged_before) in before.items():
        tags = final[name].data.tags
        if status == "finished":  # not run again: nothing new reported, so no resume tag
            assert "ncsweep.resumed_from_epoch" not in tags, (name, tags)
        elif name in checkpointed:  # restarted from its checkpoint, not from scratch (or ended in the journal)
            resumed_from = int(tags.get("ncsweep.resumed_from_epoch", 0))
            assert resumed_from >= 1 or had_ended > finished_before, (name, logged_before, tags)
    assert "trials.parquet" in output and f"mlflow ui --backend-store-uri {uri}" in output
    (folder,) = (tmp_path / "ncsweep_results").iterdir()
    assert pq.read_table(folder / "epochs.parquet").num_rows == 4 * EPOCHS  # every epoch once

    # the same default store read back by `ncsweep analyze`: the experiment, one parent, or none
    out = tmp_path / "analysis"
    assert main(["analyze", "--experiment", "test-crash", "--out", str(out), "--tracking-uri", uri]) == 0
    analyzed = pq.read_table(out / "trials.parquet").to_pandas()
    assert len(analyzed) == 4 and set(analyzed["status"]) == {"finished"}
    parent_id = analyzed["parent_run_id"].iloc[0]
    assert (
        main(["analyze", "--experiment", "test-crash", "--parent", parent_id, "--out", str(out), "--tracking-uri", uri])
        == 0
    )
    assert main(["analyze", "--experiment", "no-such", "--out", str(out), "--tracking-uri", uri]) == 2
