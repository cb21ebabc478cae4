"""Classifier heads by name (`classifier.name`): every module in this package defines one.

Adding a head is one new file here: importing the package imports every module in it, and each
`Head` subclass registers itself in `CLASSIFIERS`, which the trial config's `classifier` field,
`ncsweep list classifiers` and the docs read.
"""

from __future__ import annotations

from trainers.heads.base import CLASSIFIERS, BiasMode, Head
from trainers.registry import import_plugins

import_plugins(__name__, __path__, first=("linear", "cosine", "fixed_etf"), helpers=("module",))

HeadConfig = CLASSIFIERS.field()  # the trial config's `classifier` type

__all__ = ["CLASSIFIERS", "BiasMode", "Head", "HeadConfig"]
