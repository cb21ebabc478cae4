"""Names of a sweep's trials and points: the readable run names (`bce-init5-s0`) that MLflow shows,
and the grid x cases points a search samples around."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.sweep.spec import Trial


def points_of(trials) -> dict[str, Trial]:
    """group -> the first trial of each grid x cases point, in order (its seed is the first seed's)."""
    out: dict[str, Trial] = {}
    for trial in trials:
        out.setdefault(trial.group, trial)
    return out


# Short labels for run names: `loss.name: bce, classifier.bias_init_mean: 5, seed: 0` -> bce-init5-s0
SHORT = {
    "classifier.bias_init_mean": "init",
    "regularization.lambda_b": "lb",
    "regularization.lambda_w": "lw",
    "regularization.lambda_h": "lh",
    "train.batch_size": "bs",
    "optim.lr": "lr",
    "optim.weight_decay": "wd",
    "train.epochs": "ep",
    "loss.label_smoothing": "ls",
    "data.imbalance_factor": "if",
    "model.width": "w",
    "model.depth": "d",
    "seed": "s",
}


def name_part(key: str, value: Any) -> str:
    """One override in a run name: `bce`, `init5`, `lr0.001`."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if key.endswith(".name") or key.endswith(".bias") or isinstance(value, str):
        return str(value)
    return f"{SHORT.get(key, key.rsplit('.', 1)[-1])}{value}"


def trial_name(overrides: list[tuple[str, Any]]) -> str:
    return "-".join(name_part(k, v) for k, v in overrides) or "trial"
