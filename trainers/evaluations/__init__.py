"""Evaluations: what a trial's features are for (retrieval, verification, ...), each a one-file
plug-in that registers itself in EVALUATIONS, runs on a split's features at the end of a trial
(`metrics.evaluations`), and logs `<split>/<evaluation>/<key>`. Importing this package imports
every module in it; the registry itself imports no torch, so a sweep file validates fast."""

from __future__ import annotations

from trainers.evaluations.registry import EVALUATIONS, Evaluation, evaluation
from trainers.registry import import_plugins

import_plugins(
    __name__, __path__, first=("retrieval", "verification", "open_set", "ood"), helpers=("inputs", "registry", "roc")
)

__all__ = ["EVALUATIONS", "Evaluation", "evaluation"]
