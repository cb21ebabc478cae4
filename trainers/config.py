"""The one typed configuration of a trial, shared by the YAML loader, the trainer and the logs.

Every section is a frozen pydantic model that forbids unknown keys, so a typo in a sweep file is an
error naming the dotted key instead of a silently ignored setting. The plug-in sections (`data`,
`model`, `classifier`, `loss`) are variants picked by `name` from their registries (trainers/registry.py): each
variant holds only its own settings. Small fixed choices (optimizer, schedule) are `Literal`s.
Defaults are the paper's setting 1 (PAPER.md section 6) scaled to the bundled digits data.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from trainers.data import DATASETS, DataConfig
from trainers.heads import CLASSIFIERS, HeadConfig
from trainers.losses import LOSSES, LossConfig
from trainers.models import MODELS, ModelConfig
from trainers.strict import StrictModel

OptimizerName = Literal["sgd", "adamw"]
ScheduleName = Literal["step", "cosine", "constant"]
LrScaling = Literal["none", "linear"]
Augment = Literal["none", "da1", "da1+da2"]
Split = Literal["train", "val", "test"]
Precision = Literal["auto", "bf16", "fp32"]


class Section(StrictModel):
    """A config section: unknown keys, infinite floats and booleans for numbers are errors (trainers/strict.py)."""


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
    # cosine: the floor the lr decays to instead of 0 (the official code's timm scheduler, lr_min 1e-5).
    min_lr: float = Field(0.0, ge=0.0)


class RegularizationConfig(Section):
    lambda_w: float = Field(5e-4, ge=0.0)
    lambda_b: float = Field(0.0, ge=0.0)
    lambda_h: float = Field(5e-4, ge=0.0)


class MixupConfig(Section):
    """DA2 (PAPER.md section 6), through timm's Mixup; used when train.augment is da1+da2."""

    mixup_alpha: float = Field(0.8, ge=0.0)
    cutmix_alpha: float = Field(1.0, ge=0.0)
    prob: float = Field(0.8, ge=0.0, le=1.0)
    switch_prob: float = Field(0.5, ge=0.0, le=1.0)
    label_smoothing: float = Field(0.1, ge=0.0, lt=1.0)


class TrainConfig(Section):
    epochs: int = Field(60, ge=1)
    batch_size: int = Field(128, ge=1)
    # da1: random crop (padding crop_padding) + horizontal flip; da1+da2: plus mixup/cutmix.
    augment: Augment = "none"
    crop_padding: int = Field(4, ge=0)
    # DA1 also rotates each image by a random angle within +-rotate degrees (the official code's
    # RandomRotation(15) on CIFAR-100); 0 = off.
    rotate: float = Field(0.0, ge=0.0, le=180.0)
    device: str = "auto"  # "auto" = cuda when available, else cpu
    # Training forward/backward under bf16 autocast: "auto" = on a CUDA GPU that supports bf16,
    # fp32 elsewhere. The metrics are always computed in fp32.
    precision: Precision = "auto"
    # NHWC memory layout for conv nets: "auto" = on CUDA for image models (tensor cores want
    # NHWC); no effect on the MLP.
    channels_last: Literal["auto"] | bool = "auto"
    # torch.compile the training forward: fewer kernel launches on a GPU once compiled (the first
    # steps pay the compile, tens of seconds); `ncsweep bench` shows whether it pays for a model.
    compile: bool = False


class MetricsConfig(Section):
    every: int = Field(1, ge=1)  # NC metrics every n epochs, and always at the last one
    splits: tuple[Split, ...] = ("train", "test")
    # Metrics on at most this many samples per split (a fixed subset): NC metrics on all of
    # ImageNet's 1.28M training images would cost more than the epoch itself.
    max_samples: int | None = Field(None, ge=2)
    # Per-sample positive/negative scores kept for the final-distribution artifact (violins).
    distribution_samples: int = Field(2000, ge=0)
    # Per-layer collapse: "stages" (the backbone's natural stages) or module names; () = off.
    layers: Literal["stages"] | tuple[str, ...] = ()
    # The metrics pass sees each split twice (compactness and NCC need the final class means):
    # the second time from the features kept in memory when a split's fit in this many MB, else
    # by running the backbone again. 0 = always run it again.
    feature_cache_mb: int = Field(1024, ge=0)

    @field_validator("layers", mode="before")
    @classmethod
    def _stages_or_names(cls, value: Any) -> Any:
        names = isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value)
        if value != "stages" and not names:
            raise ValueError("expected 'stages' or a list of module names, e.g. [layer1, layer3]")
        return value


class TrialConfig(Section):
    data: DataConfig = DATASETS.default_value()
    model: ModelConfig = MODELS.default_value()
    loss: LossConfig = LOSSES.default_value()
    classifier: HeadConfig = CLASSIFIERS.default_value()
    optim: OptimConfig = OptimConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    regularization: RegularizationConfig = RegularizationConfig()
    train: TrainConfig = TrainConfig()
    mixup: MixupConfig = MixupConfig()
    metrics: MetricsConfig = MetricsConfig()
    seed: int = Field(0, ge=0, lt=2**32)  # numpy's seeds are 32-bit (timm's Mixup draws from numpy)

    @model_validator(mode="after")
    def _consistent(self) -> TrialConfig:
        vectors = not self.data.images
        if vectors and not self.model.vectors:
            takes = ", ".join(n for cls in MODELS.variants() if cls.vectors for n in cls.names())
            raise ValueError(f"model.name {self.model.name!r} needs image data; data.name {self.data.name!r} is vectors (use {takes})")
        if self.train.augment != "none" and vectors:
            raise ValueError(f"train.augment {self.train.augment!r} needs image data; data.name {self.data.name!r} is vectors (use 'none')")
        if self.train.augment == "da1+da2" and self.loss.label_smoothing:
            raise ValueError("loss.label_smoothing: with train.augment 'da1+da2' the smoothing is mixup.label_smoothing; set loss.label_smoothing to 0")
        if self.train.rotate and (self.train.augment == "none" or vectors):
            raise ValueError(
                f"train.rotate {self.train.rotate:g} is part of DA1: it needs image data and train.augment 'da1' or 'da1+da2' (got {self.train.augment!r} on data.name {self.data.name!r})"
            )
        if self.schedule.min_lr and self.schedule.name != "cosine":
            raise ValueError(f"schedule.min_lr is the cosine schedule's floor; schedule.name is {self.schedule.name!r} (use 'cosine' or drop min_lr)")
        if self.schedule.min_lr >= self.effective_lr:
            raise ValueError(f"schedule.min_lr {self.schedule.min_lr:g} must be below the learning rate ({self.effective_lr:g})")
        if "val" in self.metrics.splits and not self.data.val_fraction:
            raise ValueError("metrics.splits: 'val' needs a validation split; set data.val_fraction (e.g. 0.1) or drop 'val'")
        if self.loss.needs_cosine and not self.classifier.cosine:
            takes = ", ".join(n for cls in CLASSIFIERS.variants() if cls.cosine for n in cls.names())
            raise ValueError(f"loss.name {self.loss.name!r} acts on cosines; classifier.name {self.classifier.name!r} has none (use {takes})")
        return self

    @property
    def metric_splits(self) -> tuple[str, ...]:
        """The splits the metrics pass measures: metrics.splits, plus `val` whenever the data has
        a validation split (data.val_fraction), since a search selects on it."""
        splits = tuple(self.metrics.splits)
        return splits + ("val",) if self.data.val_fraction and "val" not in splits else splits

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
