"""One training trial of ncsweep: typed config, data, models, the paper's losses and metrics.

No Ray and no MLflow in here: `run_trial(config, report)` can be called from a notebook.
The loop (and so torch) is imported on first use: reading and checking a sweep file needs only the
config, and `ncsweep validate` / `submit` should not pay torch's seconds of import time.
"""

from trainers.config import TrialConfig

_LOOP_NAMES = ("run_trial", "FINISHED", "DIVERGED")


def __getattr__(name: str):
    if name in _LOOP_NAMES:
        from trainers import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'trainers' has no attribute {name!r}")


__all__ = ["TrialConfig", "run_trial", "FINISHED", "DIVERGED"]
