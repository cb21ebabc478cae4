"""The cluster pieces that need no cluster: the tracker's once-per-epoch rule across retries and
resumes (against a real sqlite MLflow store), the store backoff, the resume record, the job
submission helpers, and the new sweep keys."""

from __future__ import annotations

import json
import socket
from types import SimpleNamespace

import pytest
import requests
from conftest import free_port, tiny_sweep
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.tracking import MlflowClient

from orchestrator.cli.parser import main
from orchestrator.cluster import jobs
from orchestrator.errors import BadInput
from orchestrator.running.storage import RUN_INFO, RunInfo, join, normalize, read_run_info, write_run_info
from orchestrator.sweep.spec import load_sweep
from orchestrator.tracking.journal import JOURNAL
from orchestrator.tracking.parent import start_parent_run
from orchestrator.tracking.store import check_reachable, with_backoff
from orchestrator.tracking.tracker import NODE_TAG, RESUMED_TAG, MlflowTracker


def fake_trial(name: str, last_result: dict | None = None):
    """What the tracker reads from a Tune trial: its config (our trial name) and last result."""
    return SimpleNamespace(config={"trial": name}, last_result=last_result or {}, error_file=None)


def result(epoch: int, node: str = "node-a", resumed: int = 0) -> dict:
    return {
        "epoch": epoch,
        "optim/batch_loss": 1.0 / epoch,
        "train/acc": 0.1 * epoch,
        "test/acc": 0.1 * epoch,
        "node_id": node,
        "resumed_from": resumed,
    }


def steps(client: MlflowClient, run_id: str, key: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, key))


def test_retried_and_resumed_trials_log_each_epoch_once(tmp_path):
    sweep = load_sweep(tiny_sweep(tmp_path / "s.yaml"))
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent = start_parent_run(client, sweep, "parent")
    tracker = MlflowTracker(client, parent, sweep, journal_dir=tmp_path)
    trial = fake_trial("ce-s0")
    tracker.on_trial_start(0, [], trial)
    for epoch in (1, 2, 3):
        tracker.on_trial_result(0, [], trial, result(epoch))
    # node lost after epoch 3; Tune retries from the epoch-2 checkpoint on another node
    tracker.on_trial_start(0, [], trial)
    for epoch in (3, 4):
        tracker.on_trial_result(0, [], trial, result(epoch, node="node-b", resumed=2))
    tracker.flush()  # the writes are queued to a background thread
    run_id = tracker.run_ids["ce-s0"]
    assert steps(client, run_id, "optim/batch_loss") == [1, 2, 3, 4]
    tags = client.get_run(run_id).data.tags
    assert tags[NODE_TAG] == "node-b" and tags[RESUMED_TAG] == "2"

    # the driver ends; a new driver adopts the child runs from MLflow and the trial resumes at 3. The
    # old writer thread must be gone first: one polling the same journal would apply the new
    # driver's records a second time, out of order (a "reopen" after the "end" left the run RUNNING)
    writer = tracker.writer
    tracker.close()
    assert not writer._thread.is_alive()
    resumed = MlflowTracker(client, parent, sweep, journal_dir=tmp_path)
    assert resumed.replay() == 0  # the store had every journaled write
    assert resumed.adopt_existing_runs() == {}  # nothing had ended
    assert resumed.run_ids == {"ce-s0": run_id} and resumed.logged == {"ce-s0": 4}
    resumed.on_trial_start(0, [], trial)
    for epoch in (4, 5, 6):
        resumed.on_trial_result(0, [], trial, result(epoch, resumed=3))
    resumed.on_trial_result(0, [], trial, {"done": True})  # Tune's own record: no epoch, ignored
    resumed.on_trial_complete(0, [], fake_trial("ce-s0", result(6)))
    resumed.flush()
    assert steps(client, run_id, "optim/batch_loss") == [1, 2, 3, 4, 5, 6]
    assert steps(client, run_id, "test/acc") == [1, 2, 3, 4, 5, 6]
    run = client.get_run(run_id)
    assert run.data.tags["ncsweep.status"] == "finished" and run.data.tags["ncsweep.best_epoch"] == "6"
    assert len(client.search_runs([run.info.experiment_id], "tags.`ncsweep.trial` = 'ce-s0'")) == 1

    resumed.close()
    again = MlflowTracker(client, parent, sweep, journal_dir=tmp_path)
    assert again.adopt_existing_runs() == {"ce-s0": "finished"}


def test_a_snapshot_waits_for_the_journal_not_the_store_and_a_resume_writes_what_the_store_missed(
    tmp_path, monkeypatch
):
    """Tune snapshots its state every few seconds; with the store down that snapshot (and with it
    every trial) must not wait. It waits for the journal on disk; the writes the store never got
    are written by the resumed driver, once each."""
    monkeypatch.setenv("NCSWEEP_TRACKING_FLUSH_S", "3600")  # epochs stay batched until the snapshot
    monkeypatch.setenv("NCSWEEP_TRACKING_RETRY_S", "1")  # the dead store is given up on in a second
    monkeypatch.setenv("NCSWEEP_TRACKING_MAX_WAIT_S", "0.2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    sweep = load_sweep(tiny_sweep(tmp_path / "s.yaml"))
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent = start_parent_run(client, sweep, "parent")
    tracker = MlflowTracker(client, parent, sweep, journal_dir=tmp_path / "results")
    trial = fake_trial("ce-s0")
    tracker.on_trial_start(0, [], trial)
    tracker.flush()  # the run exists
    run_id = tracker.run_ids["ce-s0"]
    with socket.socket() as s:  # a port nothing listens on: the store is down
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    tracker.client = MlflowClient(dead)
    for epoch in (1, 2):
        tracker.on_trial_result(0, [], trial, result(epoch))
        tracker.on_step_end(0, [])
    tracker.get_state()  # what Tune's snapshot calls on its callbacks
    assert tracker.writer.waiting() >= 1  # it returned with the store still missing the epochs: the disk, not the store
    records = [json.loads(line) for line in (tmp_path / "results" / JOURNAL).read_text().splitlines()]
    assert [r["op"] for r in records][-1] == "batch" and [m[3] for m in records[-1]["metrics"]][:1] == [1]
    with pytest.raises(MlflowException):
        tracker.flush(timeout=30)  # the writer gives up on the dead store; the record stays unapplied
    assert steps(client, run_id, "optim/batch_loss") == []
    # `ncsweep resume`: a new driver replays the journal into the store, then reads MLflow
    resumed = MlflowTracker(client, parent, sweep, journal_dir=tmp_path / "results")
    assert resumed.replay() == 1 and resumed.replay() == 0
    assert resumed.adopt_existing_runs() == {} and resumed.logged == {"ce-s0": 2}
    assert steps(client, run_id, "optim/batch_loss") == [1, 2]
    assert len(client.search_runs([client.get_run(run_id).info.experiment_id])) == 2  # the parent and one child


def test_tracker_pickles_as_a_reference_to_this_process_tracker(tmp_path):
    import ray.cloudpickle as pickle

    sweep = load_sweep(tiny_sweep(tmp_path / "s.yaml"))
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent = start_parent_run(client, sweep, "parent")
    first = MlflowTracker(client, parent, sweep, journal_dir=tmp_path)
    blob = pickle.dumps(first)  # what Tune writes into tuner.pkl
    fresh = MlflowTracker(client, parent, sweep, journal_dir=tmp_path)  # `ncsweep resume` makes a new one...
    assert pickle.loads(blob) is fresh  # ...and the restored Tuner gets it, not a stale copy


def test_backoff_retries_transient_errors_then_succeeds():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise MlflowException("API request failed: Connection refused")  # INTERNAL_ERROR
        return "ok"

    said = []
    assert (
        with_backoff(flaky, "testing", give_up_after_s=100, sleep=waits.append, waiting=lambda: 7, say=said.append)
        == "ok"
    )
    assert waits == [1.0, 2.0, 4.0]
    # one line when it stops answering, one when it answers again; not one per retry
    assert said == [
        "MLflow store stopped answering while testing (API request failed: Connection refused); 7 more writes "
        "wait in the queue; retrying with backoff, up to 100 s",
        "MLflow store answers again after 7 s (testing); 7 more writes wait in the queue",
    ]


def test_backoff_raises_bad_requests_at_once_and_gives_up_after_the_deadline():
    waits = []
    with pytest.raises(MlflowException):
        with_backoff(
            lambda: (_ for _ in ()).throw(MlflowException("bad", error_code=INVALID_PARAMETER_VALUE)),
            "x",
            sleep=waits.append,
        )
    assert waits == []
    with pytest.raises(requests.ConnectionError):
        with_backoff(
            lambda: (_ for _ in ()).throw(requests.ConnectionError("down")), "x", give_up_after_s=10, sleep=waits.append
        )
    assert waits == [1.0, 2.0, 4.0]  # 7 s waited; the next 8 s would pass the 10 s budget


def test_unreachable_server_and_unopenable_store_are_bad_input(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BadInput, match=rf"^--tracking-uri {url}: the MLflow tracking server is not reachable"):
        check_reachable(url, "--tracking-uri")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(BadInput, match="cannot open the MLflow tracking store"):
        check_reachable(f"sqlite:///{tmp_path}/a-file/mlflow.db", "--tracking-uri")  # a file, not a folder


def test_a_new_sqlite_store_is_checked_without_being_created(tmp_path):
    # Its tables are created while Ray starts (runner.open_store_while_ray_starts), not before.
    db = tmp_path / "mlflow.db"
    check_reachable(f"sqlite:///{db}", "--tracking-uri")
    assert not db.exists()
    with pytest.raises(
        BadInput, match=r"^--tracking-uri sqlite:///.*/missing/mlflow.db: cannot open .* is not a writable folder"
    ):
        check_reachable(f"sqlite:///{tmp_path}/missing/mlflow.db", "--tracking-uri")


def test_run_info_round_trip_and_a_folder_without_it(tmp_path, capsys):
    info = RunInfo("sweeps/x.yaml", "name: x\n", "sqlite:////tmp/m.db", "abc123")
    write_run_info(str(tmp_path / "exp"), info)
    assert (tmp_path / "exp" / RUN_INFO).is_file() and read_run_info(str(tmp_path / "exp")) == info
    assert main(["resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path}: not the results folder of an ncsweep sweep") and "Results:" in err


def test_run_info_through_a_uri_as_for_s3(tmp_path):
    """The same pyarrow filesystem calls serve s3://bucket/prefix; file:// exercises them here."""
    uri = f"file://{tmp_path}/bucket/sweep-1"
    assert normalize(uri) == uri and join(normalize(str(tmp_path / "r")), "x") == str(tmp_path / "r" / "x")
    assert join("s3://bucket/results/", "sweep-1") == "s3://bucket/results/sweep-1"
    info = RunInfo("sweeps/x.yaml", "name: x\n", "http://mlflow:5000", "abc")
    write_run_info(uri, info)
    assert (tmp_path / "bucket" / "sweep-1" / RUN_INFO).is_file() and read_run_info(uri) == info


def test_submit_entrypoint_and_addresses(tmp_path, monkeypatch):
    root = jobs.project_root()
    command = jobs.entrypoint(root / "sweeps" / "quickstart.yaml", "http://mlflow:5000", "s3://bucket/results", 8)
    assert command == (
        "python -m orchestrator.cli run sweeps/quickstart.yaml --tracking-uri http://mlflow:5000 "
        "--storage s3://bucket/results --max-concurrent 8"
    )
    with pytest.raises(BadInput, match="outside the project folder"):
        jobs.entrypoint(tiny_sweep(tmp_path / "s.yaml"), "http://m", "/r", None)
    monkeypatch.delenv(jobs.ADDRESS_ENV, raising=False)
    with pytest.raises(BadInput, match="--address: missing"):
        jobs.dashboard_address(None)
    with pytest.raises(BadInput, match="not ray://"):
        jobs.dashboard_address("ray://head:10001")
    monkeypatch.setenv(jobs.ADDRESS_ENV, "http://head:8265/")
    assert jobs.dashboard_address(None) == "http://head:8265"
    assert jobs.job_url("http://head:8265", "raysubmit_x") == "http://head:8265/#/jobs/raysubmit_x"


def test_job_outcome_is_the_driver_exit_code():
    assert jobs.outcome_code(SimpleNamespace(status="SUCCEEDED", driver_exit_code=0)) == 0
    assert jobs.outcome_code(SimpleNamespace(status="FAILED", driver_exit_code=2)) == 2
    assert jobs.outcome_code(SimpleNamespace(status="FAILED", driver_exit_code=None)) == 1
    assert jobs.outcome_code(SimpleNamespace(status="STOPPED", driver_exit_code=None)) == 1


def test_submit_to_a_dashboard_that_is_not_there_is_exit_2_and_names_it(capsys):
    address = f"http://127.0.0.1:{free_port()}"
    assert main(["submit", "sweeps/quickstart.yaml", "--address", address]) == 2
    assert capsys.readouterr().err.startswith(f"error: --address {address}: cannot reach the Ray dashboard")


def test_checkpoint_and_failure_keys(tmp_path, capsys):
    sweep = load_sweep(tiny_sweep(tmp_path / "ok.yaml", checkpoint={"every": 3, "keep": 1}, failure={"max_retries": 2}))
    assert (sweep.spec.checkpoint.every, sweep.spec.checkpoint.keep, sweep.spec.failure.max_retries) == (3, 1, 2)
    assert load_sweep(tiny_sweep(tmp_path / "d.yaml")).spec.checkpoint.every == 5
    bad = tiny_sweep(tmp_path / "bad.yaml", failure={"max_retries": -1})
    assert main(["validate", str(bad), "--no-data-check"]) == 2
    assert "failure.max_retries" in capsys.readouterr().err
    typo = tiny_sweep(tmp_path / "typo.yaml", checkpoint={"evry": 2})
    assert main(["validate", str(typo), "--no-data-check"]) == 2
    assert "checkpoint.evry: unknown key; allowed keys: every, keep" in capsys.readouterr().err


def test_an_sqlite_store_keeps_its_artifacts_beside_its_database(tmp_path, monkeypatch):
    """MLflow's default puts them in ./mlruns of the folder a run starts from: runs started from
    different folders would scatter them (and the test suite would write into the checkout)."""
    from orchestrator.tracking.parent import ensure_experiment

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (tmp_path / "store").mkdir()
    client = MlflowClient(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    experiment = client.get_experiment(ensure_experiment(client, "my sweep/1"))
    assert experiment.artifact_location == (tmp_path / "store" / "mlruns" / "my_sweep_1").as_uri()
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert not (elsewhere / "mlruns").exists()
