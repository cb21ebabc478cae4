"""Searches on real Ray Tune (BasicVariantGenerator, OptunaSearch, ASHA) into a real sqlite store,
and `ncsweep tune` end to end: search, best.yaml, the tuned runs and their comparison."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from test_search import search_sweep

from analysis.store.layout import GROUP_TAG, PARENT_TAG, STATUS_TAG, SWEEP_TAG, TRIAL_TAG
from orchestrator.cli.parser import main

pytestmark = pytest.mark.integration


def children(uri: str, experiment: str, sweep: str) -> tuple[list, list]:
    client = MlflowClient(uri)
    runs = client.search_runs(
        [client.get_experiment_by_name(experiment).experiment_id], f"tags.`{SWEEP_TAG}` = '{sweep}'"
    )
    return [r for r in runs if PARENT_TAG not in r.data.tags], [r for r in runs if PARENT_TAG in r.data.tags]


def test_a_random_search_with_asha_stops_some_trials_and_exits_0(ray_local, tmp_path, capsys):
    path = search_sweep(
        tmp_path / "s.yaml",
        "asha",
        search={"num_samples": 4},
        seeds=[0, 1],
        grid={"loss.name": ["ce"]},
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2},
        max_concurrent=2,
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["run", str(path), "--tracking-uri", uri, "--storage", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "8 trials in" in out and "stopped" in out and "[8/8]" in out
    (parent,), runs = children(uri, "test-asha", "asha")
    assert len(runs) == 8
    statuses = [r.data.tags[STATUS_TAG] for r in runs]
    assert set(statuses) <= {"finished", "stopped"} and "stopped" in statuses and "finished" in statuses
    for run in runs:  # a stopped trial ran fewer epochs than asked, and its epochs stay in MLflow
        epochs = len(MlflowClient(uri).get_metric_history(run.info.run_id, "optim/lr"))
        assert (
            (epochs < 4) == (run.data.tags[STATUS_TAG] == "stopped")
            and "val/acc" in run.data.metrics
            and run.info.status == "FINISHED"
        )
    # one sampled configuration, two seeds: one group, named by its values
    groups: dict[str, set[str]] = {}
    for run in runs:
        setting, _, sweep_run = run.data.tags[GROUP_TAG].partition(" in ")  # bce-lr0.01-bs16 in <sweep run>
        assert sweep_run == parent.info.run_name
        groups.setdefault(setting, set()).add(run.data.tags[TRIAL_TAG])
    assert len(groups) == 4 and all(names == {f"{group}-s0", f"{group}-s1"} for group, names in groups.items())
    assert all(re.fullmatch(r"ce-lr[0-9.e-]+-bs(16|32)", group) for group in groups), groups
    metrics = parent.data.metrics
    assert metrics["sweep/trials_stopped"] >= 1 and metrics["sweep/trial_hours"] > 0 and metrics["sweep/gpu_hours"] == 0
    assert parent.info.status == "FINISHED"
    # the final-epoch tables leave the stopped trials out unless asked
    for flag in ([], ["--include-stopped"]):
        out = tmp_path / f"analysis{len(flag)}"
        assert main(["analyze", "--experiment", "test-asha", "--out", str(out), "--tracking-uri", uri, *flag]) == 0
        table = pd.read_parquet(out / "settings.parquet")
        counts = [
            {status: int(n) for n, status in (part.split() for part in text.split(", "))} for text in table["trials"]
        ]
        assert any("stopped" in c for c in counts), table["trials"]  # the logged statuses, with or without the flag
        expected = [c.get("finished", 0) + (c.get("stopped", 0) if flag else 0) for c in counts]
        assert table["test acc_n"].fillna(0).astype(int).tolist() == expected, table[["trials", "test acc_n"]]
        assert len(pd.read_parquet(out / "epochs.parquet")) == sum(
            len(MlflowClient(uri).get_metric_history(r.info.run_id, "optim/lr")) for r in runs
        )


def test_optuna_with_a_seed_samples_the_same_values_twice(ray_local, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sampled = []
    for attempt in ("a", "b"):
        path = search_sweep(
            tmp_path / f"{attempt}.yaml",
            f"optuna-{attempt}",
            search={"algorithm": "optuna", "num_samples": 4, "seed": 3},
            grid={"loss.name": ["ce"]},
            max_concurrent=1,
        )
        assert main(["run", str(path), "--tracking-uri", uri, "--storage", str(tmp_path / "results")]) == 0
        _, runs = children(uri, f"test-optuna-{attempt}", f"optuna-{attempt}")
        sampled.append(sorted((r.data.params["optim.lr"], r.data.params["train.batch_size"]) for r in runs))
    capsys.readouterr()
    assert len(sampled[0]) == 4 and sampled[0] == sampled[1]
    assert len(set(sampled[0])) == 4  # four different configurations, not one four times


def test_tune_tunes_each_loss_alike_writes_best_yaml_runs_it_and_compares(ray_local, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = search_sweep(tmp_path / "t.yaml", "tune", search={"num_samples": 3}, final_seeds=[0, 1], max_concurrent=2)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["tune", str(path), "--per", "loss.name", "--tracking-uri", uri, "--storage", str(tmp_path / "results")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Best configuration per point (mean val/acc over seeds, last epoch):" in out
    assert "Tuned vs tuned (loss.name; each at its best configuration, test split):" in out
    tuned = out.split("Tuned vs tuned")[1]
    assert re.search(r"bce - ce  test acc  [+-]", tuned), tuned  # the two tuned losses, paired over the final seeds
    best = yaml.safe_load((tmp_path / "best.yaml").read_text())
    assert (
        [case["loss.name"] for case in best["cases"]] == ["ce", "bce"]
        and best["seeds"] == [0, 1]
        and "search" not in best
    )
    # the same draws for every loss (a shared searcher seed): each best is one of them
    _, searched = children(uri, "test-tune", "tune")
    drawn = {(float(r.data.params["optim.lr"]), int(r.data.params["train.batch_size"])) for r in searched}
    assert len(searched) == 6 and len(drawn) == 3
    assert all((case["optim.lr"], case["train.batch_size"]) in drawn for case in best["cases"])
    _, final = children(uri, "test-tune", "tune-best")
    assert sorted(r.data.tags[TRIAL_TAG] for r in final) == ["bce-s0", "bce-s1", "ce-s0", "ce-s1"]
    # best.yaml is a sweep file like any other; a second tune refuses to overwrite it
    assert main(["run", "best.yaml", "--tracking-uri", uri, "--storage", str(tmp_path / "results")]) == 0
    assert main(args) == 2 and "--best best.yaml: exists" in capsys.readouterr().err
