"""Validated, frozen parameter models.

Every field carries its unit in its name (``_h``, ``_per_h``, ``_nM``) or in its
description, and a source or a labelled assumption.  The engine never sees raw
input: :class:`Params` is validated here, then turned into plain float arrays by
:func:`kernel_constants` for the numba kernels.

Sources use the short names of ``shared/reference/SCIENCE.md``.  "(summary)" marks
a figure known only from an abstract or legend; "assumption" marks a modelling
choice with its plausible range.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geroconvert.units import RAPAMYCIN_G_PER_MOL

# Bytes of state per lattice site (see state.py); used to refuse lattices that
# cannot fit in memory before anything is allocated.
MAX_SITES = 50_000_000


def param(default, unit: str, source: str, **bounds):
    """A documented field: ``unit`` and ``source`` land in the JSON schema."""
    return Field(default, description=f"[{unit}] {source}", **bounds)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False)


class SimulationParams(Frozen):
    """Lattice, clock and recording."""

    geometry: Literal["dish", "epidermis"] = param(
        "dish", "-", "DESIGN 2: dish = torus seen from above; epidermis = cross-section")
    width: int = param(64, "sites", "lattice columns", ge=1, le=100_000)
    height: int = param(64, "sites", "lattice rows (epidermis: rows above the dermis)", ge=1, le=100_000)
    dermis_rows: int = param(0, "sites", "epidermis only: rows of dermal fibroblasts below the basal row", ge=0, le=1000)
    dt_h: float = param(1.0, "h", "time step; results converge as it shrinks (tests)", gt=0.0, le=24.0)
    hours: float = param(240.0, "h", "simulated duration", ge=0.0, le=2_000_000.0)
    seed: int = param(0, "-", "counter-based RNG key (DESIGN 3)", ge=0, le=2**63 - 1)
    record_every_h: float = param(1.0, "h", "time-series sampling interval", gt=0.0)
    snapshot_every_h: float = param(0.0, "h", "lattice snapshots interval; 0 = none", ge=0.0)
    initial_density: float = param(
        0.15, "fraction of sites", "dish: sparse seeding, 5,000 cells per 60-mm dish (summary)", ge=0.0, le=1.0)
    initial_thickness_rows: int = param(
        3, "rows", "epidermis: suprabasal rows filled at start (assumption)", ge=0)
    start_age_years: float = param(
        0.0, "years", "age of the subject (tissue) at t = 0; sets the age-dependent damage rate", ge=0.0, le=150.0)

    @model_validator(mode="after")
    def _lattice_fits(self):
        sites = self.width * (self.height + self.dermis_rows)
        if sites > MAX_SITES:
            raise ValueError(
                f"width*height = {sites} sites is more than this build allows ({MAX_SITES}); use a smaller lattice")
        if self.geometry == "epidermis" and self.initial_thickness_rows >= self.height:
            raise ValueError("initial_thickness_rows must be smaller than height")
        return self


ENVIRONMENT_KEYS = ("mitogen", "nutrients", "oxygen", "inducer", "rapamycin_nM",
                    "pan_mtor_nM", "damage_rate_per_h", "damage_increase_per_h_per_year", "mtor_gain")


class Environment(Frozen):
    """Global environment; any value may change on a schedule."""

    mitogen: float = param(1.0, "0-1", "serum / growth factors; 0 = serum starvation", ge=0.0, le=1.0)
    nutrients: float = param(1.0, "0-1", "amino acids and glucose", ge=0.0, le=1.0)
    oxygen: float = param(1.0, "fraction of normoxia", "1% O2 is about 0.05 (Leontieva et al. 2012)", ge=0.0, le=1.0)
    inducer: float = param(0.0, "0-1", "IPTG-like switch driving p21 (HT-p21) or p16 (HT-p16)", ge=0.0, le=1.0)
    rapamycin_nM: float = param(0.0, "nM", "at the cells; 500 nM in Leontieva & Blagosklonny 2011", ge=0.0, le=1e7)
    pan_mtor_nM: float = param(0.0, "nM", "Torin1-like catalytic inhibitor at the cells", ge=0.0, le=1e7)
    damage_rate_per_h: float = param(0.0, "1/h", "DNA-damage events per cell-hour (UV, genotoxins)", ge=0.0, le=10.0)
    damage_increase_per_h_per_year: float = param(
        0.0, "1/h per year of age", "damage rate rises with age: rate = damage_rate_per_h + this * age_years "
        "(assumption; accumulating p16+ cells with age, Waaijer et al. 2012)", ge=0.0, le=1.0)
    mtor_gain: float = param(1.0, "-", ">1 = mTOR hyperactivation (Wnt1, TSC loss); assumption", ge=0.0, le=20.0)


class CellParams(Frozen):
    """Biology of one cell population.  Defaults are the HT-p21 line."""

    paramset: str = param("ht_p21", "-", "name of the cited parameter set these values start from")
    # growth and cycle
    cycle_h: float = param(22.0, "h", "HT1080 doubling time ~22 h (assumption, 18-30 h)", gt=0.0)
    stem_cycle_factor: float = param(1.0, "-", "stem cycle time / progenitor cycle time (assumption)", gt=0.0)
    rest_mean_h: float = param(0.0, "h", "mean G0 rest after each division; 0 = none", ge=0.0)
    division_mass: float = param(1.6, "newborn masses", "minimum mass to divide (assumption, 1.5-2)", gt=1.0)
    mass_max: float = param(20.0, "newborn masses", "hypertrophy ceiling; ~15-fold protein per cell "
                            "(Demidenko & Blagosklonny 2009)", gt=1.0)
    hypertrophy_rate_per_h: float = param(
        0.045, "1/h", "logistic growth of arrested cells at full mTOR; reaches ~15-fold by day 3-4 "
        "(Demidenko & Blagosklonny 2009; timing is an assumption)", ge=0.0, le=100.0)
    # mTOR signalling
    mtor_m0: float = param(1.0, "-", "mTOR drive at full serum, nutrients and oxygen (normalisation)", gt=0.0, le=100.0)
    mitogen_floor: float = param(0.1, "-", "fraction of mTOR drive left without serum (assumption, 0.05-0.3)",
                                 ge=0.0, le=1.0)
    hypoxia_half_o2: float = param(0.1, "fraction of normoxia", "O2 at half-maximal mTOR (assumption, 0.05-0.2; "
                                   "Leontieva et al. 2012)", gt=0.0)
    contact_inhibition_max: float = param(
        0.75, "-", "mTOR reduction with four occupied neighbours (Leontieva et al. 2014; size assumed)", ge=0.0, le=1.0)
    rapa_s6k_imax: float = param(0.99, "-", "S6K inhibited throughout (Choo et al. 2008)", ge=0.0, le=1.0)
    rapa_s6k_ic50_nM: float = param(0.5, "nM", "IC50 ~0.1-1 nM (several, summary)", ge=1e-6, le=1e6)
    rapa_4e_imax: float = param(0.1, "-", "4E-BP1 phosphorylation recovers within ~6 h (Choo et al. 2008): "
                                "small sustained inhibition (assumption, 0-0.3)", ge=0.0, le=1.0)
    rapa_4e_ic50_nM: float = param(0.5, "nM", "assumed equal to the S6K IC50", ge=1e-6, le=1e6)
    rapa_hill: float = param(1.0, "-", "Hill slope (assumption)", gt=0.0, le=10.0)
    pan_imax: float = param(0.97, "-", "Torin1 blocks both branches (Leontieva et al. 2015)", ge=0.0, le=1.0)
    pan_ic50_nM: float = param(3.0, "nM", "Torin1 effective from 1-3 nM, maximal at 30 nM (Leontieva et al. 2015)",
                               ge=1e-6, le=1e6)
    pan_hill: float = param(2.0, "-", "steepness giving ~10% at 1 nM and ~99% at 30 nM", gt=0.0, le=10.0)
    w_gero: float = param(0.6544, "-", "S6K share of the gero drive; calibrated to the 3-fold rapamycin slowing "
                          "(calibration.py)", ge=0.0, le=1.0)
    w_grow: float = param(0.3, "-", "S6K share of the growth drive; rapamycin modestly reduces hypertrophy "
                          "(Demidenko & Blagosklonny 2009)", ge=0.0, le=1.0)
    gero_rate_per_h: float = param(0.01786, "1/h", "geroconversion progress at full drive; calibrated so RPP "
                                   "is lost by day 3 (Leontieva & Blagosklonny 2013; calibration.py)", ge=0.0, le=100.0)
    gero_threshold_median: float = param(1.0, "-", "median per-cell threshold (normalisation)", gt=0.0)
    gero_threshold_sigma: float = param(0.1762, "-", "lognormal spread; RPP >= 0.7 at 48 h and <= 0.5 at 72 h "
                                        "bounds it below ~0.4 (calibration.py)", ge=0.0, le=3.0)
    # CDK inhibitors
    p21_tau_h: float = param(4.0, "h", "p21 relaxation time (short-lived protein; assumption, 1-8 h)", gt=0.0)
    p16_tau_h: float = param(200.0, "h", "p16 relaxation time (stable protein; assumption)", gt=0.0)
    p21_threshold: float = param(0.5, "0-1", "p21 level that blocks the cycle (normalisation)", gt=0.0, le=1.0)
    p16_threshold: float = param(0.5, "0-1", "p16 level that blocks the cycle (normalisation)", gt=0.0, le=1.0)
    p16_positive: float = param(0.3, "0-1", "p16 level scored as p16+ in a stain (assumption)", gt=0.0, le=1.0)
    inducer_to_p21: float = param(1.0, "-", "HT-p21: IPTG drives p21 (Leontieva & Blagosklonny 2013)", ge=0.0)
    inducer_to_p16: float = param(0.0, "-", "HT-p16 line sets this instead", ge=0.0)
    damage_p21_jump: float = param(0.8, "0-1", "p21 rise per DNA-damage event via p53 (assumption)", ge=0.0, le=1.0)
    damage_p16_jump: float = param(0.02, "0-1", "persistent p16 per damage event (assumption)", ge=0.0, le=1.0)
    damage_per_division: float = param(0.0, "probability", "replication-stress damage per division "
                                       "(assumption; drives exhaustion under hyperproliferation)", ge=0.0, le=1.0)
    sasp_to_p21: float = param(0.2, "per unit SASP", "paracrine senescence (assumption)", ge=0.0, le=100.0)
    p16_rise_arrested_per_h: float = param(0.002, "1/h", "p16 rises slowly in arrested cells (DESIGN 2.3), at this "
                                           "rate times the gero drive: a late marker of mTOR-driven "
                                           "geroconversion (assumption)", ge=0.0, le=10.0)
    p16_rise_senescent_per_h: float = param(0.01, "1/h", "senescent cells become p16-high", ge=0.0, le=10.0)
    p16_rise_age_per_h: float = param(0.0, "1/h", "age-related p16 rise in every cell", ge=0.0, le=10.0)
    # senescent cells
    sasp_secretion_per_h: float = param(0.05, "SASP units/h", "secretion at full mTOR (assumption)", ge=0.0, le=100.0)
    sasp_diffusion_per_h: float = param(0.2, "sites^2/h", "SASP diffusion on the lattice (assumption)", ge=0.0)
    sasp_decay_per_h: float = param(0.1, "1/h", "SASP decay (assumption)", ge=0.0, le=1000.0)
    clearance_beta_per_h: float = param(0.0, "1/h", "immune removal; no immune cells in vitro", ge=0.0, le=100.0)
    clearance_kappa: float = param(0.5, "burden units", "saturation constant (Karin et al. 2019)", gt=0.0)
    clearance_burden_ref: float = param(0.1, "senescent fraction", "senescent fraction taken as one Karin "
                                        "burden unit (assumption, 0.01-0.2)", gt=0.0, le=1.0)
    senescent_death_per_h: float = param(1e-4, "1/h", "rare death of senescent cells (assumption)", ge=0.0, le=100.0)
    death_per_h: float = param(0.0, "1/h", "background death of other cells", ge=0.0, le=100.0)
    # epidermis
    stem_fraction: float = param(0.1, "-", "stem share of basal cells at start (assumption, 0.05-0.2)", ge=0.0, le=1.0)
    stem_renew_into_gap: float = param(0.5, "probability", "a stem daughter that finds a free basal site stays "
                                       "a stem (assumption)", ge=0.0, le=1.0)
    stem_mtor_factor: float = param(1.0, "-", "stem cells' mTOR drive relative to other cells (both branches, so "
                                    "growth and geroconversion); < 1 = quiescent, low-mTORC1 stem cells "
                                    "(assumption)", ge=0.0, le=10.0)
    stem_symmetric_loss: float = param(0.0, "probability", "stem division giving two progenitors", ge=0.0, le=1.0)
    progenitor_divisions_min: int = param(1, "divisions", "transit-amplifying 1-5 (Jones & Watt 1993)", ge=0)
    progenitor_divisions_max: int = param(5, "divisions", "transit-amplifying 1-5 (Jones & Watt 1993)", ge=0, le=100)
    transit_h: float = param(336.0, "h", "basal layer to shedding ~14 days (BioNumbers 111965, summary)", gt=0.0)
    fibroblast_cycle_h: float = param(500.0, "h", "dermal fibroblast cycle (assumption)", gt=0.0)

    @model_validator(mode="after")
    def _ranges(self):
        if self.progenitor_divisions_min > self.progenitor_divisions_max:
            raise ValueError("progenitor_divisions_min must not exceed progenitor_divisions_max")
        # one cycle doubles a newborn's mass; a higher bar would stop every division
        if self.division_mass > min(2.0, self.mass_max):
            raise ValueError("division_mass must be at most 2 (one cycle doubles mass) and at most mass_max")
        return self


class ScheduleEvent(Frozen):
    """At ``time_h`` set the given environment values (e.g. inducer off at 72 h)."""

    time_h: float = Field(..., ge=0.0, description="[h] when the change takes effect")
    set: dict[str, float] = Field(..., description="environment key -> new value")

    @field_validator("set")
    @classmethod
    def _known_keys(cls, value):
        for key, number in value.items():
            if key not in ENVIRONMENT_KEYS:
                raise ValueError(f"unknown environment key {key!r}; valid: {', '.join(ENVIRONMENT_KEYS)}")
            if not math.isfinite(number) or number < 0:
                raise ValueError(f"{key} must be a finite number >= 0")
        Environment(**value)  # range checks of the target fields
        return value




class Dosing(Frozen):
    """Rapamycin reaching skin: topical cream and systemic (blood) exposure.

    Topical: each application brings the epidermal surface to ``topical_uM *
    penetration_fraction`` (in nM); it decays with ``epidermal_half_life_h`` until the
    next application (doses add up) and with depth as exp(-depth / depth_length_um).
    A small ``systemic_leak_fraction`` of the surface level reaches every row.  Systemic
    (oral) dosing sets ``blood_ng_per_mL``, converted with 914.2 g/mol, in every row.
    Concentrations add to ``environment.rapamycin_nM`` (the in-vitro dose at the cells).
    """

    topical_uM: float = param(0.0, "uM", "cream concentration; Chung et al. 2019 used 10 uM (~0.0009% w/v)",
                              ge=0.0, le=1e5)
    topical_percent_w_w: float = param(0.0, "% w/w", "alternative to topical_uM (0.003-0.015% for facial "
                                       "angiofibroma, seed ref [13]); converted with 914.2 g/mol, 1 g/mL",
                                       ge=0.0, le=10.0)
    topical_interval_h: float = param(24.0, "h", "daily application (Chung et al. 2019: every 1-2 days)",
                                      gt=0.0)
    topical_start_h: float = param(0.0, "h", "first application", ge=0.0)
    topical_stop_h: float = param(1e9, "h", "no application from this time on", ge=0.0)
    penetration_fraction: float = param(1e-3, "-", "surface epidermal level / cream level; rapamycin (914 Da, "
                                        "lipophilic) crosses the stratum corneum poorly (assumption, 1e-4 to 1e-2)",
                                        gt=0.0, le=1.0)
    epidermal_half_life_h: float = param(12.0, "h", "clearance from the epidermis between applications "
                                         "(assumption, 4-48 h)", gt=0.0)
    depth_length_um: float = param(50.0, "um", "exponential fall of the level with depth (assumption, 20-200 um)",
                                   gt=0.0)
    epidermis_thickness_um: float = param(100.0, "um", "depth of the basal layer below the surface "
                                          "(Xu et al. 2017, JAAD)", gt=0.0)
    cell_size_um: float = param(10.0, "um", "one lattice row (assumption, keratinocyte ~10 um)", gt=0.0)
    systemic_leak_fraction: float = param(1e-4, "-", "blood level / surface level for topical use; keeps "
                                          "blood < 1 ng/mL at low doses (seed ref [13]; assumption)", ge=0.0, le=1.0)
    blood_ng_per_mL: float = param(0.0, "ng/mL", "systemic (oral) trough level reaching every row "
                                   "(assumption: tissue level = blood level)", ge=0.0, le=1e4)

    @model_validator(mode="after")
    def _one_cream_unit(self):
        if self.topical_uM > 0 and self.topical_percent_w_w > 0:
            raise ValueError("give the cream as topical_uM or as topical_percent_w_w, not both")
        return self

    @property
    def cream_nM(self) -> float:
        """Cream concentration in nM (1% w/w = 10 g/L at 1 g/mL)."""
        if self.topical_percent_w_w > 0:
            return self.topical_percent_w_w * 10.0 / RAPAMYCIN_G_PER_MOL * 1e9
        return self.topical_uM * 1e3


class AssayParams(Frozen):
    """The virtual colony-formation (RPP) assay."""

    rpp_times_h: tuple[float, ...] = param((), "h", "times at which RPP is measured", )
    replate_hours: float = param(120.0, "h", "regrowth after replating; 4-7 days (HT1080-p21-9 legend, summary)",
                                 gt=0.0)
    colony_min_cells: int = param(8, "cells", "a colony has at least this many cells (assumption: 3 doublings; "
                                  "a senescent cell stays single, a resumed one passes 8 within 3-4 days)", ge=2)
    max_cells: int = param(300, "cells", "cells replated per time point (sampled by uid hash)", ge=1, le=100_000)
    tile_sites: int = param(12, "sites", "spacing between replated cells (sparse plating)", ge=3, le=100)

    @field_validator("rpp_times_h")
    @classmethod
    def _sorted_nonnegative(cls, value):
        if any(t < 0 or not math.isfinite(t) for t in value):
            raise ValueError("RPP times must be finite and >= 0")
        return tuple(sorted(set(value)))


class Params(Frozen):
    """Everything a run needs."""

    simulation: SimulationParams = SimulationParams()
    environment: Environment = Environment()
    cells: CellParams = CellParams()
    schedule: tuple[ScheduleEvent, ...] = ()
    assays: AssayParams = AssayParams()
    dosing: Dosing = Dosing()

    @model_validator(mode="after")
    def _diffusion_substeps_bounded(self):
        # the explicit SASP scheme splits a step into D*dt/0.2 sub-steps; bound the work
        if self.cells.sasp_diffusion_per_h * self.simulation.dt_h > 50.0:
            raise ValueError("cells.sasp_diffusion_per_h x simulation.dt_h must be at most 50 sites^2 per step "
                             "(more would need over 250 diffusion sub-steps); lower one of them")
        return self

    def with_changes(self, **sections) -> "Params":
        """A copy with some sections' fields replaced, validated again."""
        data = self.model_dump()
        for section, changes in sections.items():
            if isinstance(data[section], dict):
                data[section].update(changes)
            else:
                data[section] = changes
        return Params.model_validate(data)
