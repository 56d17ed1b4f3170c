"""Drug action and the environment's mTOR drive (step 1 of docs/design.md; sources in docs/science.md).

drive = m0 * mitogen * nutrients * hypoxia(oxygen) * gain        (contact: per cell, in the kernel)
s6k   = drive * (1 - I_rapa_s6k(C_rapa)) * (1 - I_pan(C_pan))
e4bp  = drive * (1 - I_rapa_4e(C_rapa))  * (1 - I_pan(C_pan))
I(C)  = Imax * C^h / (C^h + IC50^h)
"""

from __future__ import annotations

import numpy as np

from geroconvert.parameters.models import CellParams, Environment


def hill_inhibition(conc_nM, imax: float, ic50_nM: float, hill: float):
    """Fractional inhibition at concentration ``conc_nM`` (scalar or array)."""
    c = np.asarray(conc_nM, dtype=np.float64)
    ratio = np.power(c / ic50_nM, hill)
    return imax * ratio / (1.0 + ratio)


def branch_factors(cells: CellParams, rapamycin_nM, pan_mtor_nM):
    """Remaining activity of the S6K and 4E-BP1 branches, per row (arrays)."""
    pan = 1.0 - hill_inhibition(pan_mtor_nM, cells.pan_imax, cells.pan_ic50_nM, cells.pan_hill)
    s6k = (1.0 - hill_inhibition(rapamycin_nM, cells.rapa_s6k_imax, cells.rapa_s6k_ic50_nM, cells.rapa_hill)) * pan
    e4bp = (1.0 - hill_inhibition(rapamycin_nM, cells.rapa_4e_imax, cells.rapa_4e_ic50_nM, cells.rapa_hill)) * pan
    return s6k, e4bp


def hypoxia_factor(oxygen: float, half_o2: float) -> float:
    """Saturating in O2 and equal to 1 at normoxia: o (1 + K) / (o + K)."""
    return oxygen * (1.0 + half_o2) / (oxygen + half_o2)


def mtor_drive(cells: CellParams, env: Environment) -> float:
    """Environmental mTOR drive before contact and drugs."""
    mitogen = cells.mitogen_floor + (1.0 - cells.mitogen_floor) * env.mitogen
    return cells.mtor_m0 * mitogen * env.nutrients * hypoxia_factor(env.oxygen, cells.hypoxia_half_o2) * env.mtor_gain


def gero_drive_ratio(cells: CellParams, rapamycin_nM=0.0, pan_mtor_nM=0.0):
    """Gero drive with drug / without, for an isolated cell: the model's predicted slowdown is its inverse."""
    s6k, e4bp = branch_factors(cells, rapamycin_nM, pan_mtor_nM)
    return cells.w_gero * s6k + (1.0 - cells.w_gero) * e4bp
