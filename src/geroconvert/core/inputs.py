"""Step 1 in numbers: what the environment gives the cells this step.

Shared by the engine and the plain-Python reference, so both read one definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geroconvert.core import dosing, pharmacology, uv
from geroconvert.core import layout as L
from geroconvert.parameters.models import CellParams, Environment, Params
from geroconvert.units import HOURS_PER_YEAR

MAX_DIFFUSION_COEF = 0.2  # D*dt per SASP diffusion sub-step; the explicit scheme is stable below 0.25


@dataclass(frozen=True)
class StepInputs:
    drive: float  # environmental mTOR drive (before contact and drugs)
    inducer: float
    damage_p: float  # per-step probability of a DNA-damage event from age alone (no UV)
    clear_p: float  # per-step probability that one senescent cell is cleared
    s6k_row: np.ndarray  # remaining S6K-branch activity per row
    e4bp_row: np.ndarray  # remaining 4E-BP1-branch activity per row
    rapamycin_row_nM: np.ndarray
    damage_p_row: np.ndarray  # per-step probability of a DNA-damage event per row: age and UV


def age_years(params: Params, time_h: float) -> float:
    return params.simulation.start_age_years + time_h / HOURS_PER_YEAR


def step_inputs(
    params: Params, env: Environment, time_h: float, n_cells: int, n_senescent: int, rows: int, basal_row: int
) -> StepInputs:
    cells, dt = params.cells, params.simulation.dt_h
    damage_rate = env.damage_rate_per_h + env.damage_increase_per_h_per_year * age_years(params, time_h)
    # saturating removal (Karin et al. 2019): per-cell rate beta / (kappa + burden)
    burden = n_senescent / max(n_cells, 1) / cells.clearance_burden_ref
    rapamycin = dosing.rapamycin_rows_nM(
        params.dosing, env, time_h, rows, basal_row, params.simulation.geometry == "epidermis"
    )
    s6k, e4bp = pharmacology.branch_factors(cells, rapamycin, np.full(rows, env.pan_mtor_nM))
    damage_p = rate_to_probability(damage_rate, dt)
    return StepInputs(
        drive=float(pharmacology.mtor_drive(cells, env)),
        inducer=float(env.inducer),
        damage_p=damage_p,
        clear_p=rate_to_probability(cells.clearance_beta_per_h / (cells.clearance_kappa + burden), dt),
        s6k_row=np.asarray(s6k, np.float64),
        e4bp_row=np.asarray(e4bp, np.float64),
        rapamycin_row_nM=rapamycin,
        damage_p_row=damage_rows(params, damage_rate * dt, damage_p, time_h, rows, basal_row),
    )


def damage_rows(params: Params, age_events: float, age_p: float, time_h: float, rows: int, basal_row: int):
    """The damage probability of each row: ``age_events`` (the age-related expected events
    per cell in the step) plus the step's UV events at the row's depth, as 1 - exp(-events).
    A row without UV gets ``age_p`` itself, so protected skin is the run without UV bit for bit."""
    out = np.full(rows, age_p, np.float64)
    if params.uv.sed_per_day == 0.0:
        return out
    sunlit = uv.damage_events_rows(params.uv, params.dosing, time_h, params.simulation.dt_h, rows, basal_row)
    for row in np.flatnonzero(sunlit):
        out[row] = -math.expm1(-(age_events + float(sunlit[row])))
    return out


def sasp_substeps(cells, dt_h: float, neighbours: int = 4) -> tuple[int, float, float]:
    """How one step's SASP diffusion is split: (sub-steps, D*dt per sub-step, decay factor
    per sub-step).  Zero sub-steps when the field neither spreads nor decays.  With six
    neighbours (a sheet under layers) the explicit scheme is stable only below 1/6, so the
    limit shrinks by 4/6."""
    total = cells.sasp_diffusion_per_h * dt_h
    if total == 0.0 and cells.sasp_decay_per_h == 0.0:
        return 0, 0.0, 1.0
    limit = MAX_DIFFUSION_COEF if neighbours == 4 else MAX_DIFFUSION_COEF * 4.0 / neighbours
    substeps = max(1, math.ceil(total / limit))
    return substeps, total / substeps, math.exp(-cells.sasp_decay_per_h * dt_h / substeps)


def kernel_constants(cells: CellParams, dt_h: float, neighbours: int = 4):
    """The run-constant float64 vector the kernels index with ``layout.K_*``; ``neighbours``:
    a site's von Neumann neighbours (:func:`neighbour_count`)."""
    k = np.zeros(L.N_K, np.float64)
    values = {
        L.K_DT: dt_h,
        L.K_CYCLE_H: cells.cycle_h,
        L.K_STEM_CYCLE_FACTOR: cells.stem_cycle_factor,
        L.K_REST_MEAN_H: cells.rest_mean_h,
        L.K_DIVISION_MASS: cells.division_mass,
        L.K_MASS_MAX: cells.mass_max,
        L.K_HYPERTROPHY_RATE: cells.hypertrophy_rate_per_h,
        L.K_CONTACT_MAX: cells.contact_inhibition_max,
        L.K_W_GERO: cells.w_gero,
        L.K_W_GROW: cells.w_grow,
        L.K_GERO_RATE: cells.gero_rate_per_h,
        L.K_THR_MEDIAN: cells.gero_threshold_median,
        L.K_THR_SIGMA: cells.gero_threshold_sigma,
        L.K_P21_RELAX: 1.0 - math.exp(-dt_h / cells.p21_tau_h),
        L.K_P16_RELAX: 1.0 - math.exp(-dt_h / cells.p16_tau_h),
        L.K_P21_THRESHOLD: cells.p21_threshold,
        L.K_P16_THRESHOLD: cells.p16_threshold,
        L.K_INDUCER_P21: cells.inducer_to_p21,
        L.K_INDUCER_P16: cells.inducer_to_p16,
        L.K_DAMAGE_P21: cells.damage_p21_jump,
        L.K_DAMAGE_P16: cells.damage_p16_jump,
        L.K_DAMAGE_PER_DIVISION: cells.damage_per_division,
        L.K_SASP_P21: cells.sasp_to_p21,
        L.K_P16_RISE_ARRESTED: cells.p16_rise_arrested_per_h,
        L.K_P16_RISE_SENESCENT: cells.p16_rise_senescent_per_h,
        L.K_P16_RISE_AGE: cells.p16_rise_age_per_h,
        L.K_SASP_SECRETION: cells.sasp_secretion_per_h,
        L.K_SENESCENT_DEATH_P: rate_to_probability(cells.senescent_death_per_h, dt_h),
        L.K_DEATH_P: rate_to_probability(cells.death_per_h, dt_h),
        L.K_STEM_RENEW_GAP: cells.stem_renew_into_gap,
        L.K_STEM_SYMMETRIC_LOSS: cells.stem_symmetric_loss,
        L.K_PROG_DIV_MIN: cells.progenitor_divisions_min,
        L.K_PROG_DIV_MAX: cells.progenitor_divisions_max,
        L.K_TRANSIT_H: cells.transit_h,
        L.K_FIBROBLAST_CYCLE_H: cells.fibroblast_cycle_h,
        L.K_STEM_MTOR: cells.stem_mtor_factor,
        L.K_DAMAGED_EXIT_P: rate_to_probability(cells.damaged_exit_per_h, dt_h),
        L.K_MELANOCYTE_CYCLE_H: cells.melanocyte_cycle_h,
        L.K_MELANOCYTE_FRACTION: cells.melanocyte_fraction,
        L.K_MELANOCYTE_REACH: cells.melanocyte_reach_sites,
        L.K_MELANOCYTE_REMOVAL: cells.melanocyte_removal_factor,
        L.K_STEM_FRACTION: cells.stem_fraction,
        L.K_STEM_NICHE_REACH: cells.stem_niche_reach_sites,
        L.K_NEIGHBOURS: neighbours,
    }
    for index, value in values.items():
        k[index] = value
    return k


def neighbour_count(sim) -> int:
    """A site's von Neumann neighbours in this lattice: 4 on the dish and the cross-section,
    6 in a stratified epidermis on a sheet (``simulation.depth`` > 1)."""
    return 6 if sim.depth > 1 else 4


def rate_to_probability(rate_per_h: float, dt_h: float) -> float:
    """Probability of at least one event in a step: 1 - exp(-rate * dt)."""
    return -math.expm1(-rate_per_h * dt_h)
