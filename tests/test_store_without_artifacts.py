"""A tracking store without its artifacts (an mlflow.db copied without the artifact folder, a pruned
artifact store): every metric is still in the store, so `ncsweep analyze` reads those runs from it,
in bulk, says how many, and exits 0 with the same tables."""

from __future__ import annotations

import json
import shutil

import pandas as pd
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from analysis.store.history import log_history
from analysis.store.layout import CONFIG_TAG, PARENT_TAG, STATUS_TAG, SWEEP_TAG, TRIAL_TAG
from analysis.store.read import tables
from orchestrator.cli.parser import main
from trainers.config import TrialConfig


def build_store(tmp_path, trials: int = 3, epochs: int = 4) -> str:
    """Runs laid out as the tracker lays them out: metrics per epoch, the history artifact and its tag."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("copied", artifact_location=(tmp_path / "artifacts").as_uri())
    parent = client.create_run(experiment, run_name="sweep", tags={SWEEP_TAG: "copied"}).info.run_id
    for i in range(trials):
        config = TrialConfig.model_validate({"loss": {"name": ["ce", "bce", "focal"][i % 3]}, "seed": i})
        tags = {
            PARENT_TAG: parent,
            TRIAL_TAG: f"t{i}",
            SWEEP_TAG: "copied",
            STATUS_TAG: "finished",
            CONFIG_TAG: json.dumps(config.model_dump(mode="json")),
        }
        run = client.create_run(experiment, run_name=f"t{i}", tags=tags).info.run_id
        history = {
            e: {"train/acc": 0.5 + 0.1 * e + i / 100, "test/acc": 0.4 + 0.1 * e, "train/nc1": 1.0 / e, "optim/lr": 0.1}
            for e in range(1, epochs + 1)
        }
        history[epochs]["train/bias_residual"] = float("nan")  # NaN survives both reads
        client.log_batch(run, metrics=[Metric(k, v, 0, e) for e, values in history.items() for k, v in values.items()])
        log_history(client, run, history)
        client.set_terminated(run)
    return uri


def test_analyze_reads_runs_whose_history_artifact_is_gone_from_the_store(tmp_path, capsys):
    uri = build_store(tmp_path)
    with_artifacts = tables(MlflowClient(uri), "copied")
    shutil.rmtree(tmp_path / "artifacts")  # the store was copied without its artifact folder
    out = tmp_path / "analysis"
    assert main(["analyze", "--experiment", "copied", "--out", str(out), "--tracking-uri", uri]) == 0
    printed = capsys.readouterr().out
    assert "note: 3 of 3 runs have no history.parquet where their tag says" in printed
    trials = pd.read_parquet(out / "trials.parquet")
    expected = with_artifacts[0]
    for column in ("final/train/acc", "final/test/acc", "best/train/nc1", "final/train/bias_residual"):
        pd.testing.assert_series_equal(
            trials.set_index("run_id")[column].sort_index(),
            expected.set_index("run_id")[column].sort_index(),
            check_names=False,
        )
    epochs = pd.read_parquet(out / "epochs.parquet")
    assert len(epochs) == 3 * 4 and epochs["train/bias_residual"].isna().all()
