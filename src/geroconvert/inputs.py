"""Step 1 in numbers: what the environment gives the cells this step.

Shared by the engine and the plain-Python reference, so both read one definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import dosing, pharmacology
from .params import Environment, Params, rate_to_probability

HOURS_PER_YEAR = 8766.0  # 365.25 days
MAX_DIFFUSION_COEF = 0.2  # D*dt per SASP diffusion sub-step; the explicit scheme is stable below 0.25


@dataclass(frozen=True)
class StepInputs:
    drive: float          # environmental mTOR drive (before contact and drugs)
    inducer: float
    damage_p: float       # per-step probability of a DNA-damage event
    clear_p: float        # per-step probability that one senescent cell is cleared
    s6k_row: np.ndarray   # remaining S6K-branch activity per row
    e4bp_row: np.ndarray  # remaining 4E-BP1-branch activity per row
    rapamycin_row_nM: np.ndarray


def age_years(params: Params, time_h: float) -> float:
    return params.simulation.start_age_years + time_h / HOURS_PER_YEAR


def step_inputs(params: Params, env: Environment, time_h: float, n_cells: int, n_senescent: int, rows: int,
                basal_row: int) -> StepInputs:
    cells, dt = params.cells, params.simulation.dt_h
    damage_rate = env.damage_rate_per_h + env.damage_increase_per_h_per_year * age_years(params, time_h)
    # saturating removal (Karin et al. 2019): per-cell rate beta / (kappa + burden)
    burden = n_senescent / max(n_cells, 1) / cells.clearance_burden_ref
    rapamycin = dosing.rapamycin_rows_nM(params.dosing, env, time_h, rows, basal_row,
                                         params.simulation.geometry == "epidermis")
    s6k, e4bp = pharmacology.branch_factors(cells, rapamycin, np.full(rows, env.pan_mtor_nM))
    return StepInputs(
        drive=float(pharmacology.mtor_drive(cells, env)),
        inducer=float(env.inducer),
        damage_p=rate_to_probability(damage_rate, dt),
        clear_p=rate_to_probability(cells.clearance_beta_per_h / (cells.clearance_kappa + burden), dt),
        s6k_row=np.asarray(s6k, np.float64),
        e4bp_row=np.asarray(e4bp, np.float64),
        rapamycin_row_nM=rapamycin,
    )


def sasp_substeps(cells, dt_h: float) -> tuple[int, float, float]:
    """How one step's SASP diffusion is split: (sub-steps, D*dt per sub-step, decay factor
    per sub-step).  Zero sub-steps when the field neither spreads nor decays."""
    total = cells.sasp_diffusion_per_h * dt_h
    if total == 0.0 and cells.sasp_decay_per_h == 0.0:
        return 0, 0.0, 1.0
    substeps = max(1, math.ceil(total / MAX_DIFFUSION_COEF))
    return substeps, total / substeps, math.exp(-cells.sasp_decay_per_h * dt_h / substeps)
