"""The errors a trial's inputs raise when they are missing. Torch-free, so the driver's pre-flight
checks (orchestrator/preflight.py) can catch them without importing torch."""


class DataUnavailable(Exception):
    """The dataset's files are missing or unreadable; the message names the path and the fix."""


class WeightsUnavailable(Exception):
    """Pretrained weights requested but not cached locally; the message names the path and the fix
    (nothing is ever downloaded during a trial)."""
