"""Solar UV in numbers: the DNA-damage events a step's sunlight adds to each lattice row.

A day's erythemal dose arrives evenly over its exposure window; a step gets the share of
the windows it overlaps.  With depth the UVB and UVA parts fall exponentially, each to its
epidermal transmission at the basal layer, so UVB acts mostly in the epidermis and UVA
reaches the dermis (docs/science.md, UV).
"""

from __future__ import annotations

import math

import numpy as np

from geroconvert.core import dosing as drug
from geroconvert.parameters.models import Dosing, UVExposure

HOURS_PER_DAY = 24.0


def window_share(uv: UVExposure, time_h: float, dt_h: float) -> float:
    """Days' worth of exposure window inside [time_h, time_h + dt_h): 1.0 for a step that
    holds one whole window, 0.5 for half of one, 2.0 for two days' windows."""
    start, width = uv.exposure_start_h, uv.exposure_hours
    end_h = time_h + dt_h
    first = math.floor((time_h - start - width) / HOURS_PER_DAY)
    last = math.floor((end_h - start) / HOURS_PER_DAY)
    inside = 0.0
    for day in range(first, last + 1):
        opens = day * HOURS_PER_DAY + start
        inside += max(0.0, min(end_h, opens + width) - max(time_h, opens))
    return inside / width


def depth_profile(uv: UVExposure, dosing: Dosing, rows: int, basal_row: int) -> np.ndarray:
    """Surface damage that reaches each row (1 at the surface): UVB and UVA in their shares,
    each falling to its transmission at the basal depth."""
    depth = drug.depth_um(rows, basal_row, dosing) / dosing.epidermis_thickness_um
    uvb = uv.uvb_epidermal_transmission**depth
    uva = uv.uva_epidermal_transmission**depth
    return (1.0 - uv.uva_share) * uvb + uv.uva_share * uva


def damage_events_rows(
    uv: UVExposure, dosing: Dosing, time_h: float, dt_h: float, rows: int, basal_row: int
) -> np.ndarray:
    """Expected UV damage events per cell in each row during the step from ``time_h``
    (zeros for protected skin and between windows)."""
    share = window_share(uv, time_h, dt_h) if uv.sed_per_day > 0.0 else 0.0
    if share == 0.0 or uv.damage_per_sed == 0.0:
        return np.zeros(rows, np.float64)
    surface = uv.sed_per_day * share * uv.damage_per_sed
    return surface * depth_profile(uv, dosing, rows, basal_row)
