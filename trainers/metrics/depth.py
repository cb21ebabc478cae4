"""The law of equi-separation (He & Su, "A law of data separation in deep learning", PNAS 2023):
across the layers of a trained network, the separation fuzziness D_l = Tr(SS_w SS_b^+) = K nc1_l
falls geometrically, log D_l ~ a + l log rho. Fitted by least squares over the tapped layers."""

from __future__ import annotations

import math


def separation_fit(depths: list[float], nc1: list[float]) -> tuple[float, float]:
    """(rho, r^2): exp of the least-squares slope of log nc1_l on the layer index l (the decay ratio
    per layer; the constant K of D_l = K nc1_l drops out of the slope) and the fit's r^2. NaN with
    fewer than 2 layers of positive finite nc1 (r^2: fewer than 3)."""
    points = [(x, math.log(v)) for x, v in zip(depths, nc1) if v is not None and math.isfinite(v) and v > 0]
    if len(points) < 2:
        return math.nan, math.nan
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    syy = sum((y - my) ** 2 for _, y in points)
    slope = sxy / sxx
    r2 = sxy * sxy / (sxx * syy) if n >= 3 and syy > 0 else math.nan
    return math.exp(slope), r2
