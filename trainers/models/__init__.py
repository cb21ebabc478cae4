"""Backbones by name: every module in this package defines one (or a small family), as losses do.

Adding a model is one new file here (docs/extending.md#add-your-own-model): importing this package
imports every module in it but the helpers below, and each `ModelVariant` subclass registers itself
in `MODELS`, which the trial config's `model` field, `ncsweep list` and the docs read. Nothing here
imports torch; `Classifier` and `build_model` (trainers/models/classifier.py) load it on first use.
"""

from __future__ import annotations

from trainers.errors import WeightsUnavailable
from trainers.models.base import MODELS, ModelVariant
from trainers.registry import import_plugins

HELPERS = ("base", "classifier")  # modules that are not plug-ins (classifier imports torch)
import_plugins(__name__, __path__, first=("mlp", "cnn"), helpers=HELPERS)  # the laptop models first

ModelConfig = MODELS.field()  # the trial config's `model` type: every model registered above


def __getattr__(name: str):
    if name in ("Classifier", "build_model"):
        from trainers.models import classifier

        return getattr(classifier, name)
    raise AttributeError(f"module 'trainers.models' has no attribute {name!r}")


__all__ = ["MODELS", "Classifier", "ModelConfig", "ModelVariant", "WeightsUnavailable", "build_model"]
