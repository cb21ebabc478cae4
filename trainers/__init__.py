"""One training trial of ncsweep: typed config, data, models, the paper's losses and metrics.

No Ray and no MLflow in here: `run_trial(config, report)` can be called from a notebook.
"""

from trainers.config import TrialConfig
from trainers.loop import DIVERGED, FINISHED, run_trial

__all__ = ["TrialConfig", "run_trial", "FINISHED", "DIVERGED"]
