"""The one typed configuration of a trial, shared by the YAML loader, the trainer and the logs.

Every section is a frozen pydantic model that forbids unknown keys, so a typo in a sweep file is an
error naming the dotted key instead of a silently ignored setting. Names that pick an implementation
(loss, model, dataset, optimizer, schedule) are `Literal`s: pydantic's error then lists the allowed
values. Defaults are the paper's setting 1 (PAPER.md section 6) scaled to the bundled digits data.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LossName = Literal["ce", "bce"]
DatasetName = Literal["synthetic", "digits"]
ModelName = Literal["mlp", "cnn"]
BiasMode = Literal["per_class", "unified", "none"]
OptimizerName = Literal["sgd", "adamw"]
ScheduleName = Literal["step", "cosine", "constant"]
LrScaling = Literal["none", "linear"]
Augment = Literal["none"]
Split = Literal["train", "test"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(Section):
    name: DatasetName = "digits"
    # synthetic: Gaussian clusters around random class centres (K classes in R^dim).
    num_classes: int = Field(10, ge=2)
    dim: int = Field(32, ge=1)
    train_per_class: int = Field(100, ge=1)
    test_per_class: int = Field(50, ge=1)
    separation: float = Field(3.0, ge=0.0)  # distance scale of the class centres; noise std is 1
    # digits: a stratified split, fixed by split_seed so every trial of a sweep sees the same data.
    test_fraction: float = Field(0.25, gt=0.0, lt=1.0)
    split_seed: int = 0


class ModelConfig(Section):
    name: ModelName = "mlp"
    width: int = Field(256, ge=1)  # mlp: hidden width = feature dim; cnn: feature dim
    depth: int = Field(2, ge=1)  # mlp: hidden layers
    batch_norm: bool = True
    channels: int = Field(32, ge=1)  # cnn: channels of the first conv block


class LossConfig(Section):
    name: LossName = "ce"
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)


class ClassifierConfig(Section):
    bias: BiasMode = "per_class"
    bias_init_mean: float = 0.0


class OptimConfig(Section):
    name: OptimizerName = "sgd"
    lr: float = Field(0.01, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)  # sgd only
    betas: tuple[float, float] = (0.9, 0.999)  # adamw only
    weight_decay: float = Field(0.0, ge=0.0)  # the optimizer's decay, on every parameter
    lr_scaling: LrScaling = "none"
    base_batch_size: int = Field(128, ge=1)


class ScheduleConfig(Section):
    name: ScheduleName = "step"
    milestones: tuple[int, ...] = (30, 60, 80)
    gamma: float = Field(0.2, gt=0.0)
    warmup_epochs: int = Field(0, ge=0)


class RegularizationConfig(Section):
    lambda_w: float = Field(5e-4, ge=0.0)
    lambda_b: float = Field(0.0, ge=0.0)
    lambda_h: float = Field(5e-4, ge=0.0)


class TrainConfig(Section):
    epochs: int = Field(60, ge=1)
    batch_size: int = Field(128, ge=1)
    augment: Augment = "none"
    device: str = "auto"  # "auto" = cuda when available, else cpu


class MetricsConfig(Section):
    every: int = Field(1, ge=1)  # NC metrics every n epochs, and always at the last one
    splits: tuple[Split, ...] = ("train", "test")


class TrialConfig(Section):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    optim: OptimConfig = OptimConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    regularization: RegularizationConfig = RegularizationConfig()
    train: TrainConfig = TrainConfig()
    metrics: MetricsConfig = MetricsConfig()
    seed: int = 0

    @model_validator(mode="after")
    def _cnn_needs_images(self) -> "TrialConfig":
        if self.model.name == "cnn" and self.data.name == "synthetic":
            raise ValueError("model.name 'cnn' needs image data; data.name 'synthetic' is vectors (use 'mlp')")
        return self

    @property
    def effective_lr(self) -> float:
        """The learning rate after `optim.lr_scaling` (linear: lr * batch_size / base_batch_size)."""
        if self.optim.lr_scaling == "linear":
            return self.optim.lr * self.train.batch_size / self.optim.base_batch_size
        return self.optim.lr

    def flat(self) -> dict[str, Any]:
        """Dotted keys -> plain values (lists for tuples): the MLflow params and Parquet columns."""
        return flatten(self.model_dump(mode="json"))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def set_dotted(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set `tree['a']['b'] = value` for path 'a.b', creating sections on the way."""
    *parents, leaf = path.split(".")
    node = tree
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise KeyError(path)
        node = child
    node[leaf] = value
