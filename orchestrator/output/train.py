"""What `ncsweep train` prints: a line per epoch while it trains, then every metric of the last
epoch as a table (one column per split) and, with metrics.layers, the per-layer metrics from the
shallowest layer to the deepest."""

from __future__ import annotations

import math

from analysis.store.layout import SPLITS
from analysis.tables.text import text_table
from trainers.metrics import METRICS

EPOCH_KEYS = ("optim/batch_loss", "train/acc", "test/acc", "test/uniform_acc", "train/nc1", "train/bias_mean")


def epoch_line(epoch: int, metrics: dict) -> str:
    shown = [k for k in EPOCH_KEYS if k in metrics]
    return f"epoch {epoch:4d}  " + "  ".join(f"{k} {metrics[k]:.4f}" for k in shown)


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.6g}"


def final_tables(epoch: int, metrics: dict) -> str:
    """Every registered metric per split, then (when layers were tapped) the layer metrics per
    layer and split, layers in depth order (the reported `layers/<name>/depth`)."""
    splits = [s for s in SPLITS if f"{s}/{METRICS.keys()[0]}" in metrics]
    if not splits:
        return ""
    rows = [
        [key, *(_number(metrics[f"{s}/{key}"]) for s in splits)]
        for key in METRICS.keys()
        if all(f"{s}/{key}" in metrics for s in splits)
    ]
    out = [f"metrics at epoch {epoch}:", text_table(["metric", *splits], rows)]
    depth = {k.split("/")[1]: v for k, v in metrics.items() if k.startswith("layers/") and k.endswith("/depth")}
    if depth:
        keys = METRICS.layer_keys()
        layer_rows = []
        for name in sorted(depth, key=depth.get):
            for split in splits:
                layer_rows.append(
                    [name, split, *(_number(metrics.get(f"{split}/layers/{name}/{k}", math.nan)) for k in keys)]
                )
        out += [f"per layer at epoch {epoch}, shallowest first:", text_table(["layer", "split", *keys], layer_rows)]
        fits = [
            f"{s} {_number(metrics.get(f'{s}/separation_rate', math.nan))} (r^2 "
            f"{_number(metrics.get(f'{s}/separation_r2', math.nan))})"
            for s in splits
        ]
        out.append(f"separation rate per layer, nc1_(l+1) / nc1_l fitted (He & Su 2023): {', '.join(fits)}")
    return "\n".join(out)
