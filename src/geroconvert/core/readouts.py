"""Readouts: the scalar results of one run, computed from its recorded series and RPP curve.

One place for them, used by the engine (each run's summary), the archive's summary table
and the analysis of sweeps.
"""

from __future__ import annotations

import math

import numpy as np

def t50(time_h, rpp, level: float = 0.5) -> float:
    """First time the RPP curve falls to ``level``, by linear interpolation; NaN if it never does."""
    t = np.asarray(time_h, np.float64)
    r = np.asarray(rpp, np.float64)
    ok = np.isfinite(r)
    t, r = t[ok], r[ok]
    if t.size == 0:
        return math.nan
    if r[0] <= level:
        return float(t[0])
    below = np.flatnonzero(r <= level)
    if below.size == 0:
        return math.nan
    j = below[0]
    t0, t1, r0, r1 = t[j - 1], t[j], r[j - 1], r[j]
    return float(t0 + (r0 - level) * (t1 - t0) / (r0 - r1))


def summarise(series: dict, rpp: dict) -> dict[str, float]:
    """Scalar results of one run (the archive's /summary row)."""
    out: dict[str, float] = {}
    if rpp and len(rpp.get("time_h", ())):
        out["t50_h"] = t50(rpp["time_h"], rpp["rpp"])
        out["rpp_final"] = float(rpp["rpp"][-1])
    if series and len(series.get("time_h", ())):
        for name in ("n_cells", "p16_positive_fraction", "senescent_fraction", "mean_mass", "n_stem",
                     "thickness_rows"):
            out[f"final_{name}"] = float(series[name][-1])
    return out


def censor_time(time_h, rpp) -> float:
    """Last time (h) with a finite RPP value: the lower bound of a censored t50; NaN without data."""
    t = np.asarray(time_h, np.float64)
    ok = np.isfinite(np.asarray(rpp, np.float64))
    return float(t[ok][-1]) if ok.any() else math.nan