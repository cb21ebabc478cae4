"""The one typed configuration of a trial, shared by the YAML loader, the trainer and the logs.

Every section is a frozen pydantic model that forbids unknown keys, so a typo in a sweep file is an
error naming the dotted key instead of a silently ignored setting. The plug-in sections (`data`,
`model`, `classifier`, `loss`, `optim`, `schedule`) are variants picked by `name` from their
registries (trainers/registry.py): each variant holds only its own settings. `train.augment` names
an augmentation (trainers/augment/) that owns `train.crop_padding`, `train.rotate` and the `mixup`
section: they exist only in the trials whose augmentation uses them. Defaults are the paper's
setting 1 (docs/science.md, "Protocols") scaled to the bundled digits data.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from trainers.augment import AUGMENTATIONS, owned_keys
from trainers.augment.da1_da2 import MixupConfig
from trainers.data import DATASETS, DataConfig
from trainers.evaluations import EVALUATIONS
from trainers.heads import CLASSIFIERS, HeadConfig
from trainers.losses import LOSSES, LossConfig
from trainers.models import MODELS, ModelConfig
from trainers.optim import OPTIMIZERS, OptimConfig
from trainers.schedules import SCHEDULES, ScheduleConfig
from trainers.strict import StrictModel

Split = Literal["train", "val", "test"]
Precision = Literal["auto", "bf16", "fp32"]


class Section(StrictModel):
    """A config section: unknown keys, infinite floats and booleans for numbers are errors (trainers/strict.py)."""


class RegularizationConfig(Section):
    lambda_w: float = Field(5e-4, ge=0.0)
    lambda_b: float = Field(0.0, ge=0.0)
    lambda_h: float = Field(5e-4, ge=0.0)


class TrainConfig(Section):
    epochs: int = Field(60, ge=1)
    batch_size: int = Field(128, ge=1)
    # An augmentation of trainers/augment/ by name: none, da1 (random crop with padding crop_padding
    # + horizontal flip, rotation within +-rotate degrees), da1+da2 (plus mixup/cutmix, `mixup`).
    augment: str = "none"
    crop_padding: int | None = Field(None, ge=0)  # da1, da1+da2 only (default 4 there)
    rotate: float | None = Field(None, ge=0.0, le=180.0)  # da1, da1+da2 only (default 0: off)
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
    omitted_when_none: ClassVar[tuple[str, ...]] = ("crop_padding", "rotate")

    @field_validator("augment")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {value!r}; registered: {', '.join(AUGMENTATIONS)}")
        return value


class OODConfig(Section):
    """The outside data of the ood evaluation: another registered dataset (its test split, through
    its own normalization, then resized and its channels matched to the trial's input shape)."""

    dataset: DataConfig

    @field_validator("dataset", mode="before")
    @classmethod
    def _by_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


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
    # Evaluations of what the features are for (trainers/evaluations: retrieval, verification), on
    # the test split at the last epoch (and at every metric epoch with evaluate_every); None = off.
    evaluations: tuple[str, ...] | None = None
    evaluate_every: bool | None = None  # None or false: only at the last epoch
    ood: OODConfig | None = None  # the outside data of the `ood` evaluation, e.g. {dataset: patches}
    omitted_when_none: ClassVar[tuple[str, ...]] = ("ood",)

    @field_validator("evaluations")
    @classmethod
    def _registered(cls, value: Any) -> Any:
        unknown = [v for v in value or () if v not in EVALUATIONS.names()]
        if unknown:
            raise ValueError(f"unknown evaluation {unknown[0]!r}; registered: {', '.join(EVALUATIONS.names())}")
        return value

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
    optim: OptimConfig = OPTIMIZERS.default_value()
    schedule: ScheduleConfig = SCHEDULES.default_value()
    regularization: RegularizationConfig = RegularizationConfig()
    train: TrainConfig = TrainConfig()
    mixup: MixupConfig | None = None  # da1+da2 only (its augmentation fills in the defaults)
    metrics: MetricsConfig = MetricsConfig()
    seed: int = Field(0, ge=0, lt=2**32)  # numpy's seeds are 32-bit (timm's Mixup draws from numpy)
    omitted_when_none: ClassVar[tuple[str, ...]] = ("mixup",)

    @model_validator(mode="before")
    @classmethod
    def _augmentation_keys(cls, data: Any) -> Any:
        """The keys `train.augment` owns are filled with their defaults when absent; a key that
        another augmentation owns is an error naming the augmentation's own keys."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        train = data.get("train", {})
        train = (
            train.model_dump() if isinstance(train, BaseModel) else dict(train) if isinstance(train, dict) else train
        )
        if not isinstance(train, dict):
            return data
        augmentation = AUGMENTATIONS.get(train.get("augment", "none"))
        if augmentation is None:
            return data  # the train.augment field names the registered ones
        owners = owned_keys()
        for key in owners:
            section, _, leaf = key.partition(".")
            holder = train if section == "train" else data
            name = leaf or section
            present = holder.get(name) is not None
            if present and key not in augmentation.keys:
                own = ", ".join(augmentation.keys) or "none"
                raise ValueError(
                    f"{key}: a key of train.augment {', '.join(repr(a) for a in owners[key])}, not of "
                    f"{augmentation.name!r} (its keys: {own})"
                )
            if not present and key in augmentation.keys:
                holder[name] = augmentation.keys[key]
        data["train"] = train
        return data

    @model_validator(mode="after")
    def _consistent(self) -> TrialConfig:
        vectors = not self.data.images
        if vectors and not self.model.vectors:
            takes = ", ".join(n for cls in MODELS.variants() if cls.vectors for n in cls.names())
            raise ValueError(
                f"model.name {self.model.name!r} needs image data; data.name {self.data.name!r} is vectors (use "
                f"{takes})"
            )
        if self.augmentation.images_only and vectors:
            raise ValueError(
                f"train.augment {self.train.augment!r} needs image data; data.name {self.data.name!r} is "
                "vectors (use 'none')"
            )
        self.augmentation.check(self)
        self.schedule.check(self.effective_lr)
        if "val" in self.metrics.splits and not self.data.val_fraction:
            raise ValueError(
                "metrics.splits: 'val' needs a validation split; set data.val_fraction (e.g. 0.1) or drop 'val'"
            )
        if self.loss.needs_cosine and not self.classifier.cosine:
            takes = ", ".join(n for cls in CLASSIFIERS.variants() if cls.cosine for n in cls.names())
            raise ValueError(
                f"loss.name {self.loss.name!r} acts on cosines; classifier.name {self.classifier.name!r} has "
                f"none (use {takes})"
            )
        for name in self.metrics.evaluations or ():
            needs = EVALUATIONS[name].needs
            section, _, key = (needs or "").partition(".")
            if needs and getattr(getattr(self, section), key) is None:
                raise ValueError(f"metrics.evaluations: {name!r} needs {needs} (see docs/metrics.md#evaluations)")
        ood = self.metrics.ood
        if ood is not None and ood.dataset.images != self.data.images:
            kinds = {True: "images", False: "vectors"}
            raise ValueError(
                f"metrics.ood.dataset: {ood.dataset.name!r} is {kinds[ood.dataset.images]}, data.name "
                f"{self.data.name!r} is {kinds[self.data.images]}: the outside data must be of the same kind"
            )
        if self.loss.heads and self.classifier.name not in self.loss.heads:
            raise ValueError(
                f"loss.name {self.loss.name!r} is defined on classifier.name "
                f"{' or '.join(repr(h) for h in self.loss.heads)}; got {self.classifier.name!r}"
            )
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
        return self.optim.effective_lr(self.train.batch_size)

    @property
    def augmentation(self):
        """The `train.augment` variant (trainers/augment/)."""
        return AUGMENTATIONS[self.train.augment]

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
