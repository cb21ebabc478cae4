"""Neural-collapse and uniform-accuracy metrics: small pure float64 functions, one registry.

Each family is one module (scores and uniform accuracy, NC1 and its variants, ETF geometry, the
nearest class centre, the loss, label noise); each metric in it is registered under its key (registry.py), and
every other module in this folder is imported too, so adding a metric is one new file
(docs/extending.md#add-your-own-metric). The metrics are computed by a streaming pass over a split
(split_pass.py) from statistics accumulated batch by batch (stats.py); reference.py computes the
same numbers the direct way on all features at once, as the independent check.

Importing this package does not import torch: the driver reads the keys for the Parquet schema and
`ncsweep list metrics`, and the metric modules import torch where they compute.
"""

from __future__ import annotations

from trainers.metrics.registry import METRICS, Metric, display_name, metric, sample_metric
from trainers.registry import import_plugins

FAMILIES = ("scores", "nc1", "etf", "ncc", "loss", "noise")  # the order of the keys everywhere
_MACHINERY = {"registry", "stats", "split_pass", "reference", "depth"}
import_plugins(__name__, __path__, first=FAMILIES, helpers=_MACHINERY)

_PASS_NAMES = ("Batch", "Context", "SplitPass", "SplitResult", "SplitStats", "compute_split", "FEATURES")


def __getattr__(name: str):
    if name in _PASS_NAMES:  # torch: imported when a pass runs, not when the keys are read
        from trainers.metrics import split_pass

        return getattr(split_pass, name)
    raise AttributeError(f"module 'trainers.metrics' has no attribute {name!r}")


__all__ = ["METRICS", "Metric", "display_name", "metric", "sample_metric", *_PASS_NAMES]
