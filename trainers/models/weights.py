"""The error a model raises when its pretrained weights are not in the local cache."""


class WeightsUnavailable(Exception):
    """Pretrained weights requested but not cached locally; the message names the path and the fix
    (nothing is ever downloaded during a trial)."""
