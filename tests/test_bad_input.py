"""Bad input: one message naming the file and the dotted key with the allowed values, exit 2,
and nothing started or written (no Ray session, no MLflow store, no results directory)."""

import os
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, tiny_sweep

from orchestrator.cli.parser import main
from trainers.data import DATASETS
from trainers.losses import LOSSES

BAD = {
    "unknown_key": (
        {"base": {"loss": {"nmae": "ce"}}},
        ["base.loss.nmae", "unknown key for loss 'ce'", "label_smoothing, name"],
    ),
    "key_of_another_loss": (
        {"base": {"loss": {"name": "ce", "gamma": 2}}},
        ["base.loss.gamma", "unknown key for loss 'ce'", "allowed keys: label_smoothing, name"],
    ),
    "key_of_another_dataset": (
        {"grid": {"data.imbalance_factor": [10]}},
        [
            "grid.data.imbalance_factor",
            "for dataset 'synthetic'",
            "dim, label_noise, name, num_classes, open_set, sample_size",
        ],
    ),
    "key_of_another_model": (
        {"base": {"model": {"name": "mlp", "stem": "cifar"}}},
        ["base.model.stem", "for model 'mlp'", "batch_norm, depth, name, width"],
    ),
    "unknown_top_key": ({"gird": {"loss.name": ["ce"]}}, ["gird", "unknown key", "grid"]),
    "unknown_grid_key": ({"grid": {"los.name": ["ce"]}}, ["grid.los.name", "unknown key", "loss"]),
    "wrong_type": ({"base": {"train": {"epochs": "many"}}}, ["base.train.epochs", "valid integer", "'many'"]),
    "unknown_loss": (
        {"grid": {"loss.name": ["ce", "bse"]}},
        ["grid.loss.name", "(got 'bse')", f"registered: {', '.join(LOSSES.names())}"],
    ),
    "unknown_dataset": (
        {"base": {"data": {"name": "svhn"}}},
        ["base.data.name", "(got 'svhn')", f"registered: {', '.join(DATASETS.names())}"],
    ),
    "unknown_model": (
        {"grid": {"model.name": ["mlp", "vit"]}},
        ["grid.model.name", "(got 'vit')", "mlp, cnn, resnet32", "densenet161, timm:<name>"],
    ),
    "timm_kwargs_clash": (
        {"base": {"model": {"name": "timm:resnet18", "kwargs": {"num_classes": 5}}}},
        ["base.model.kwargs", "num_classes: set by ncsweep"],
    ),
    "unknown_augment": (
        {"base": {"train": {"augment": "da2"}}},
        ["base.train.augment", "unknown augmentation 'da2'; registered: none, da1, da1+da2"],
    ),
    "margin_loss_needs_cosines": (
        {"grid": {"loss.name": ["ce", "arcface"]}},
        ["trial arcface", "loss.name 'arcface' acts on cosines; classifier.name 'linear' has none (use cosine)"],
    ),
    "noise_rate_above_one": (
        {"base": {"data": {"name": "synthetic", "label_noise": {"kind": "symmetric", "rate": 1.5}}}},
        ["base.data.label_noise.rate", "less than or equal to 1", "(got 1.5)"],
    ),
    "unknown_noise_kind": (
        {"grid": {"data.label_noise.kind": ["symmetric", "pairflip"]}},
        ["grid.data.label_noise.kind", "'symmetric', 'asymmetric' or 'random'", "(got 'pairflip')"],
    ),
    "open_set_leaves_one_class": (
        {"base": {"data": {"name": "synthetic", "num_classes": 4, "open_set": {"count": 3}}}},
        ["data.open_set.count: 3 of 4 classes leaves fewer than 2 known", "allowed: 1 to 2"],
    ),
    "evaluation_without_its_setting": (
        {"base": {"metrics": {"evaluations": ["ood"]}}},
        ["metrics.evaluations: 'ood' needs metrics.ood"],
    ),
    "sample_size_zero": (
        {"base": {"data": {"name": "synthetic", "sample_size": 0}}},
        ["base.data.sample_size", "greater than or equal to 1"],
    ),
    "sample_size_above_a_class": (
        {"base": {"data": {"name": "synthetic", "train_per_class": 30, "sample_size": 31}}},
        ["data.sample_size: 31 per class", "smallest training class has 30", "allowed: 1 to 30"],
    ),
    "bias_init_mode_not_official": (
        {"grid": {"classifier.bias_init_mode": [0, 8]}},
        ["grid.classifier.bias_init_mode", "'uniform', 'index', 'linear'", "(got 8)"],
    ),
    "feature_dim_on_a_densenet": (
        {"base": {"model": {"name": "densenet121", "feature_dim": 10}}},
        ["base.model", "model.feature_dim applies to the ResNets"],
    ),
    "rotate_without_da1": (
        {"base": {"train": {"rotate": 15}}},
        ["train.rotate: a key of train.augment 'da1', 'da1+da2', not of 'none'"],
    ),
    "min_lr_without_cosine": (
        {"base": {"schedule": {"min_lr": 1.0e-5}}},
        ["base.schedule.min_lr: unknown key for schedule 'step'; allowed keys: gamma, milestones, name, warmup_epochs"],
    ),
    "augment_needs_images": (
        {"grid": {"train.augment": ["none", "da1"]}},
        ["trial ", "train.augment 'da1' needs image data"],
    ),
    "missing_data": (
        {"base": {"data": {"name": "cifar10", "root": "no-such-dir"}, "model": {"name": "mlp"}}},
        ["data.name 'cifar10'", "no-such-dir/cifar-10-batches-py/data_batch_1 not found", "data.download: true"],
    ),
    "unknown_optimizer": (
        {"cases": [{"optim.name": "lion"}]},
        ["cases[0].optim.name", "unknown optimizer name; registered: sgd, adamw"],
    ),
    "empty_grid": ({"grid": {}}, ["grid: empty"]),
    "gpus_no_node_has": (
        {"resources": {"cpu": 1, "gpu": 64}},
        ["resources.gpu: a trial asks for cpu 1, gpu 64", "this machine", "--wait-for-resources"],
    ),
    "cpus_no_node_has": (
        {"resources": {"cpu": 4096}},
        ["resources.cpu: a trial asks for cpu 4096, gpu 0", "Nothing was started"],
    ),
    "empty_grid_values": ({"grid": {"loss.name": []}}, ["grid.loss.name: empty list"]),
    "unknown_layer": (
        {"base": {"metrics": {"layers": ["hidden9"]}}},
        ["metrics.layers (model mlp)", "no module named 'hidden9'", "its modules: flatten, hidden1"],
    ),
    "layers_not_stages_or_list": ({"base": {"metrics": {"layers": "hidden1"}}}, ["base.metrics.layers", "'stages'"]),
    "infinite_lr": (
        {"base": {"optim": {"lr": float("inf")}}},
        ["base.optim.lr", "Input should be a finite number (got inf)"],
    ),
    "infinite_in_grid": (
        {"grid": {"regularization.lambda_w": [0.0, float("inf")]}},
        ["grid.regularization.lambda_w (value inf)", "finite number"],
    ),
    "infinite_bias_init": (
        {"base": {"classifier": {"bias_init_mean": float("-inf")}}},
        ["base.classifier.bias_init_mean", "finite number"],
    ),
    "boolean_batch_size": (
        {"base": {"train": {"batch_size": True}}},
        ["base.train.batch_size", "expected a number, not a boolean"],
    ),
    "boolean_epochs_in_grid": ({"grid": {"train.epochs": [True]}}, ["grid.train.epochs (value True)", "not a boolean"]),
    "boolean_seeds": ({"seeds": [True, False]}, ["seeds", "expected a number, not a boolean"]),
    "boolean_resources": ({"resources": {"cpu": True}}, ["resources.cpu", "not a boolean"]),
    "seed_beyond_numpy": ({"seeds": [2**40]}, ["seed", "less than 4294967296"]),
}


def ray_sessions() -> set[str]:
    root = Path("/tmp/ray")
    return {p.name for p in root.glob("session_2*")} if root.exists() else set()


def ncsweep(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS")}
    return subprocess.run([str(BIN / "ncsweep"), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


# Through the real console script too (a subprocess costs ~8 s of imports; the rest run in-process
# through the same `main`).
CONSOLE_CASES = ("unknown_key", "missing_data", "gpus_no_node_has")
# What this machine can hold matters for `run` only: `validate` checks files meant for any cluster.
RUN_ONLY_CASES = ("gpus_no_node_has", "cpus_no_node_has")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweep_exits_2_naming_file_and_key(case, tmp_path, capsys, monkeypatch):
    overrides, expected = BAD[case]
    path = tiny_sweep(tmp_path / f"{case}.yaml", **overrides)
    before = ray_sessions()
    monkeypatch.chdir(tmp_path)
    for var in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    assert main(["run", str(path)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith(f"error: {path}:"), message
    for piece in expected:
        assert piece in message, (piece, message)
    if case in CONSOLE_CASES:
        result = ncsweep("run", str(path), cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.strip() == message, result.stderr
    if case not in RUN_ONLY_CASES:
        assert main(["validate", str(path)]) == 2
        assert capsys.readouterr().err.strip() == message
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no mlflow.db, no ncsweep_results
    assert ray_sessions() == before


def test_missing_file_and_unparsable_yaml(tmp_path):
    result = ncsweep("run", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 2 and "nope.yaml: file not found" in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ngrid: {loss.name: [ce, bce}\n")
    result = ncsweep("run", str(broken), cwd=tmp_path)
    assert result.returncode == 2 and f"{broken}: not valid YAML (line 2" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml"]


def test_files_that_are_not_yaml_text(tmp_path, capsys):
    """Not UTF-8, not YAML, empty, a directory: one line naming the file and what is wrong, exit 2."""
    cases = {
        "latin1.yaml": ("name: caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 9)"),
        "binary.yaml": (bytes(range(256)), "not UTF-8 text"),
        "empty.yaml": (b"", "empty (no YAML values in it)"),
        "blank.yaml": (b"  \n# only a comment\n", "empty (no YAML values in it)"),
        "date.yaml": (b"name: x\ndescription: 2021-13-45\n", "not valid YAML: month must be in 1..12"),
        "deep.yaml": (b"[" * 20000, "not valid YAML"),
        "tabs.yaml": (b"name: x\n\tgrid: {}\n", "not valid YAML (line 2, column 1)"),
    }
    for name, (data, says) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert main(["validate", str(path), "--no-data-check"]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: ") and says in err and err.count("\n") == 1, (name, err)
    assert main(["validate", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path}: is a directory, not a YAML file\n"
    assert main(["train", str(tmp_path / "empty.yaml")]) == 2  # a trial file too
    assert "empty.yaml: empty" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: no unreadable file to make")
def test_an_unreadable_file(tmp_path, capsys):
    path = tmp_path / "locked.yaml"
    path.write_text("name: x\n")
    path.chmod(0)
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: cannot be read (Permission denied)\n"


def test_train_set_errors_name_the_key(tmp_path, capsys):
    result = ncsweep("train", "--set", "loss.name=nosuch", cwd=tmp_path)
    assert result.returncode == 2 and "--set: loss.name: unknown loss name; registered: ce, bce," in result.stderr
    result = ncsweep("train", "--set", "optim.nmae=sgd", cwd=tmp_path)
    assert (
        result.returncode == 2
        and "optim.nmae: unknown key for optimizer 'sgd'; allowed keys: base_batch_size, lr, lr_scaling, "
        "momentum, name, weight_decay"
        in result.stderr
    )
    for value, says in (
        ("train.batch_size=true", "train.batch_size: expected a number, not a boolean"),
        ("optim.lr=.inf", "optim.lr: Input should be a finite number"),
    ):
        assert main(["train", "--set", value]) == 2
        assert says in capsys.readouterr().err


def test_train_runs_one_trial_in_process(tmp_path):
    result = ncsweep(
        "train", "--set", "data.name=synthetic", "--set", "model.width=8", "--set", "train.epochs=2", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "epoch    2" in result.stdout and result.stdout.strip().endswith("finished")
    assert list(tmp_path.iterdir()) == []  # no MLflow, no Ray


def test_train_reads_a_trial_yaml_and_set_overrides_it(tmp_path, capsys):
    trial = tmp_path / "trial.yaml"
    trial.write_text(
        "data: {name: synthetic, num_classes: 3}\nmodel: {width: 8, depth: 1}\ntrain: {epochs: 5}\nloss: {name: bce}\n"
    )
    assert main(["train", str(trial), "--set", "train.epochs=2"]) == 0
    out = capsys.readouterr().out
    assert "epoch    2" in out and "epoch    3" not in out
    trial.write_text("train: {epochs: 0}\n")
    assert main(["train", str(trial)]) == 2
    assert f"{trial}: train.epochs: Input should be greater than or equal to 1" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["\r", "a\nb", ""])
def test_a_key_with_a_line_break_or_nothing_in_it_stays_on_one_error_line(key, tmp_path, capsys):
    """Found by tests/test_sweep_fuzz.py: a case key "\\r" split its error line in two."""
    path = tiny_sweep(tmp_path / "s.yaml", cases=[{key: 0}])
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and repr(key) in lines[0], lines
