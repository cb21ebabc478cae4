"""Classifier heads by name (`classifier.name`): every module in this package defines one.

Adding a head is one new file here: importing the package imports every module in it, and each
`Head` subclass registers itself in `CLASSIFIERS`, which the trial config's `classifier` field,
`ncsweep list classifiers` and the docs read.
"""

from __future__ import annotations

import importlib
import pkgutil

from trainers.heads.base import CLASSIFIERS, BiasMode, Head

_FIRST = ("linear", "cosine", "fixed_etf")
for _module in [*_FIRST, *sorted(m.name for m in pkgutil.iter_modules(__path__))]:
    if _module not in ("base", "module") and not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")

HeadConfig = CLASSIFIERS.field()  # the trial config's `classifier` type

__all__ = ["CLASSIFIERS", "BiasMode", "Head", "HeadConfig"]
