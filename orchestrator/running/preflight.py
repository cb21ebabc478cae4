"""Checks that run before any trial starts: the data files are there (downloaded first where the
sweep allows it; metrics.ood's too), `data.sample_size` fits every class, `data.open_set` leaves
known classes, pretrained weights are cached, and the layers `metrics.layers` names exist. A
missing input is bad input (exit 2) found in seconds on the driver, not 36 failed trials an hour
later on the cluster."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.errors import BadInput
from trainers.config import TrialConfig
from trainers.errors import DataUnavailable, WeightsUnavailable


def _distinct(configs: Iterable[TrialConfig], part) -> list:
    seen: dict[str, object] = {}
    for config in configs:
        section = part(config)
        seen.setdefault(section.model_dump_json(), section)
    return list(seen.values())


def check_inputs(configs: Iterable[TrialConfig], source: str) -> None:
    """Raise BadInput naming the file, the key and the fix for the first missing input."""
    configs = list(configs)
    for data in _distinct(configs, lambda c: c.data):
        try:
            data.ensure_available()
        except DataUnavailable as exc:
            raise BadInput(f"{source}: data.name {data.name!r}: {exc}") from None
    for ood in _distinct([c for c in configs if c.metrics.ood is not None], lambda c: c.metrics.ood.dataset):
        try:
            ood.ensure_available()
        except DataUnavailable as exc:
            raise BadInput(f"{source}: metrics.ood.dataset {ood.name!r}: {exc}") from None
    check_open_set(configs, source)
    check_sample_size(configs, source)
    check_class_counts(configs, source)
    for model in _distinct(configs, lambda c: c.model):
        try:
            model.ensure_available()
        except WeightsUnavailable as exc:
            key = "model.pretrained" if getattr(model, "pretrained", False) else "model.name"
            raise BadInput(f"{source}: {key} ({model.name}): {exc}") from None
    check_layers(configs, source)


def check_open_set(configs: list[TrialConfig], source: str) -> None:
    """data.open_set must leave at least 2 known classes of classes that exist, on data held in
    memory: checked against the loaded data's class count (once per distinct data setting)."""
    for data in _distinct([c for c in configs if c.data.open_set is not None], lambda c: c.data):
        loaded = data.load()
        try:
            if not hasattr(loaded, "with_open_set"):
                raise ValueError(
                    f"data.open_set: {data.name} is streamed from disk; open-set needs data held in memory"
                )
            data.open_set.classes(loaded.num_classes)
        except ValueError as exc:
            raise BadInput(f"{source}: {exc}") from None


def check_sample_size(configs: list[TrialConfig], source: str) -> None:
    """data.sample_size takes n samples of every class: more than the smallest class holds is bad
    input naming the key and the allowed range (the data is loaded once per distinct setting)."""
    from trainers.data.labels import smallest_class

    for data in _distinct(configs, lambda c: c.data):
        if data.sample_size is None:
            continue
        loaded = data.load()
        smallest = smallest_class(loaded.train_labels(), loaded.num_classes)
        if data.sample_size > smallest:
            raise BadInput(
                f"{source}: data.sample_size: {data.sample_size} per class, but {data.name}'s smallest training "
                f"class has {smallest} (allowed: 1 to {smallest})"
            )


def check_class_counts(configs: list[TrialConfig], source: str) -> None:
    """A loss that reads the training split's class counts (the long-tail losses take log n_k) on
    data where some class has no sample would be NaN on every batch: bad input naming the class,
    the loss and the data setting that emptied it (the data is prepared once per distinct setting)."""
    pairs = {(c.data.model_dump_json(), c.loss.name): (c.data, c.loss) for c in configs if c.loss.needs_class_counts}
    counted: dict[str, list[int]] = {}
    for (key, _), (data, loss) in pairs.items():
        counts = counted.setdefault(key, data.prepared().class_counts().tolist())
        empty = [k for k, n in enumerate(counts) if n == 0]
        if not empty:
            continue
        why = f" at data.imbalance_factor {data.imbalance_factor:g}" if hasattr(data, "imbalance_factor") else ""
        raise BadInput(
            f"{source}: loss.name {loss.name!r}: class {empty[0]} of data.name {data.name!r} has no training sample"
            f"{why} ({len(empty)} classes empty); {loss.name} reads every class's count n_k (log n_k of 0 is "
            "NaN on every batch): give every class a sample (a smaller data.imbalance_factor), or use a loss "
            "without class counts"
        )


def check_layers(configs: list[TrialConfig], source: str) -> None:
    """Build each distinct backbone whose trials tap layers (on the CPU, once) and resolve the
    names: an unknown module is bad input naming metrics.layers and the names the model has."""
    from trainers.layers import LayerUnavailable

    distinct = {
        (c.model.model_dump_json(), c.data.model_dump_json(), repr(c.metrics.layers)): c
        for c in configs
        if c.metrics.layers
    }
    for config in distinct.values():
        backbone, _ = config.model.build(config.data.load().input_shape)
        try:
            config.model.layer_tap(backbone, config.metrics.layers)
        except LayerUnavailable as exc:
            raise BadInput(f"{source}: metrics.layers (model {config.model.name}): {exc}") from None


def warm_caches(configs: Iterable[TrialConfig]) -> None:
    """Decode each in-memory dataset once on the driver, so concurrent trials find the cache
    instead of all decoding the same files at once."""
    for data in _distinct(configs, lambda c: c.data):
        data.warm_cache()  # torch: only a sweep whose data has a cache pays its import
