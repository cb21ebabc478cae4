"""What `run_trial` reports besides `<split>/<metric>` values: the keys and outcomes its callers
(the Tune trainable, the MLflow tracker) read. Torch-free, so the driver never imports torch."""

from collections.abc import Callable
from typing import Any

Report = Callable[[int, dict[str, Any]], None]

FINISHED, DIVERGED = "finished", "diverged"
# The last report also carries this key: the final bias vector and per-split samples of the
# positive and negative bias-free scores (the distributions of the paper's Fig. 3 violins).
DISTRIBUTIONS = "distributions"
# With checkpointing on, a report also carries this key every `checkpoint_every` epochs and at the
# last one: the full training state (trainers.state.capture), for the caller to persist.
CHECKPOINT = "checkpoint"
