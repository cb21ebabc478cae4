"""The error a model raises when its pretrained weights are not in the local cache."""

from trainers.errors import WeightsUnavailable  # noqa: F401 - raised by the model builders
