"""Rapamycin at the cells: topical cream with a depth profile, and systemic exposure.

Every concentration is in nM at the cell.  Unit conversions use the molar mass of
rapamycin, 914.2 g/mol (1 ng/mL = 1.094 nM; docs/science.md).
"""

from __future__ import annotations

import math

import numpy as np

from geroconvert.parameters.models import Dosing, Environment
from geroconvert.units import LN2, RAPAMYCIN_G_PER_MOL

NM_PER_NG_PER_ML = 1e3 / RAPAMYCIN_G_PER_MOL  # 1 ng/mL = 1e-6 g/L -> / (g/mol) -> x 1e9 nM


def ng_per_mL_to_nM(ng_per_mL):
    return np.asarray(ng_per_mL, np.float64) * NM_PER_NG_PER_ML


def nM_to_ng_per_mL(nM):
    return np.asarray(nM, np.float64) / NM_PER_NG_PER_ML


def topical_surface_nM(dosing: Dosing, time_h: float) -> float:
    """Level just below the stratum corneum: every past application, each decaying since.

    Applications at start, start + I, ... (before ``topical_stop_h``); n of them so far,
    the last tau hours ago: C0 * exp(-k tau) * (1 - exp(-k n I)) / (1 - exp(-k I)).
    """
    c0 = dosing.cream_nM * dosing.penetration_fraction
    if c0 == 0.0 or time_h < dosing.topical_start_h:
        return 0.0
    interval = dosing.topical_interval_h
    last_allowed = min(time_h, math.nextafter(dosing.topical_stop_h, -math.inf))
    if last_allowed < dosing.topical_start_h:
        return 0.0
    n = math.floor((last_allowed - dosing.topical_start_h) / interval + 1e-9) + 1
    tau = time_h - (dosing.topical_start_h + (n - 1) * interval)
    k = LN2 / dosing.epidermal_half_life_h
    return c0 * math.exp(-k * tau) * -math.expm1(-k * n * interval) / -math.expm1(-k * interval)


def depth_um(rows: int, basal_row: int, dosing: Dosing) -> np.ndarray:
    """Depth below the skin surface of each lattice row (epidermis geometry).

    The basal row lies ``epidermis_thickness_um`` deep; each row above it is one cell
    size shallower (never above the surface); dermis rows lie below the basal row.
    """
    r = np.arange(rows, dtype=np.float64)
    above = np.maximum(0.0, dosing.epidermis_thickness_um - (r - basal_row) * dosing.cell_size_um)
    below = dosing.epidermis_thickness_um + (basal_row - r) * dosing.cell_size_um
    return np.where(r >= basal_row, above, below)


def rapamycin_rows_nM(
    dosing: Dosing, env: Environment, time_h: float, rows: int, basal_row: int, epidermis: bool
) -> np.ndarray:
    """Rapamycin (nM) in every lattice row at ``time_h``.

    In-vitro dose + blood level + topical level (depth profile in the epidermis; a dish
    has no depth).  A small fraction of the topical level leaks into the blood.
    """
    surface = topical_surface_nM(dosing, time_h)
    systemic = float(ng_per_mL_to_nM(dosing.blood_ng_per_mL)) + surface * dosing.systemic_leak_fraction
    if epidermis:
        topical = surface * np.exp(-depth_um(rows, basal_row, dosing) / dosing.depth_length_um)
    else:
        topical = np.full(rows, surface)
    return env.rapamycin_nM + systemic + topical


def topical_blood_ng_per_mL(dosing: Dosing, time_h: float) -> float:
    """Blood level from the cream alone (for the < 1 ng/mL check of low-dose topical use)."""
    return float(nM_to_ng_per_mL(topical_surface_nM(dosing, time_h) * dosing.systemic_leak_fraction))
