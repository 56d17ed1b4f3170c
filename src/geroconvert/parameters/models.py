"""Validated, frozen parameter models.

Every field carries its unit in its name (``_h``, ``_per_h``, ``_nM``) or in its
description, and a source or a labelled assumption.  The engine never sees raw
input: :class:`Params` is validated here, then turned into plain float arrays by
:func:`kernel_constants` for the numba kernels.

Each source text names its source by the key of an entry in ``docs/science.md``
(e.g. "Leontieva & Blagosklonny 2013"), or starts with one of the words defined there:
"assumption:" (a modelling choice, with why and a plausible range), "setting:" (a
choice of the experiment, such as a lattice size or a dose) or "normalisation:" (a
choice of scale).  "(summary)" marks a figure known only from an abstract, a figure
legend or a secondary source.  ``tests/test_docs.py`` checks every field.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geroconvert.parameters.calibrated import CALIBRATED
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
        "dish",
        "-",
        "setting: dish = a culture dish, a torus seen from above; epidermis = a skin cross-section (docs/design.md)",
    )
    width: int = param(64, "sites", "setting: lattice columns", ge=1, le=100_000)
    height: int = param(64, "sites", "setting: lattice rows (epidermis: rows above the dermis)", ge=1, le=100_000)
    depth: int = param(
        1,
        "sites",
        "setting: epidermis only: basal sites front to back; 1 = a cross-section (a row of basal "
        "sites under its columns), more = a stratified epidermis on a width x depth basal sheet "
        "(docs/design.md)",
        ge=1,
        le=100_000,
    )
    dermis_rows: int = param(
        0, "sites", "setting: epidermis only: rows of dermal fibroblasts below the basal row", ge=0, le=1000
    )
    dt_h: float = param(
        1.0, "h", "setting: time step; results converge as it shrinks (tests/core/test_convergence.py)", gt=0.0, le=24.0
    )
    hours: float = param(240.0, "h", "setting: simulated duration", ge=0.0, le=2_000_000.0)
    seed: int = param(0, "-", "setting: key of the counter-based random numbers (docs/design.md)", ge=0, le=2**63 - 1)
    record_every_h: float = param(1.0, "h", "setting: time-series sampling interval", gt=0.0)
    snapshot_every_h: float = param(0.0, "h", "setting: lattice snapshot interval; 0 = none", ge=0.0)
    initial_density: float = param(
        0.15,
        "fraction of sites",
        "dish: sparse seeding, as the 5,000 cells per 60-mm dish of the "
        "HT1080-p21-9 protocol (summary); the fraction of sites is an assumption",
        ge=0.0,
        le=1.0,
    )
    initial_thickness_rows: int = param(
        3,
        "rows",
        "assumption: epidermis only: suprabasal rows filled at start, a starting guess "
        "from which the tissue finds its own thickness",
        ge=0,
    )
    start_age_years: float = param(
        0.0,
        "years",
        "setting: age of the subject (tissue) at t = 0; sets the age-dependent damage rate",
        ge=0.0,
        le=150.0,
    )

    @model_validator(mode="after")
    def _lattice_fits(self):
        sites = self.width * self.depth * (self.height + self.dermis_rows)
        if self.geometry == "dish" and self.depth > 1:
            raise ValueError("depth is for the epidermis only; a dish is width x height (set depth = 1)")
        if sites > MAX_SITES:
            raise ValueError(
                f"width*depth*height = {sites} sites is more than this build allows ({MAX_SITES}); "
                "use a smaller lattice"
            )
        if self.geometry == "epidermis" and self.initial_thickness_rows >= self.height:
            raise ValueError("initial_thickness_rows must be smaller than height")
        return self


ENVIRONMENT_KEYS = (
    "mitogen",
    "nutrients",
    "oxygen",
    "inducer",
    "rapamycin_nM",
    "pan_mtor_nM",
    "damage_rate_per_h",
    "damage_increase_per_h_per_year",
    "mtor_gain",
)


class Environment(Frozen):
    """Global environment; any value may change on a schedule."""

    mitogen: float = param(
        1.0,
        "0-1",
        "setting: serum / growth factors; 0 = serum starvation (Leontieva & Blagosklonny 2010)",
        ge=0.0,
        le=1.0,
    )
    nutrients: float = param(1.0, "0-1", "setting: amino acids and glucose", ge=0.0, le=1.0)
    oxygen: float = param(
        1.0,
        "fraction of normoxia",
        "setting: 1% O2 is about 0.05 of normoxia (21% O2); hypoxia suppresses geroconversion (Leontieva et al. 2012)",
        ge=0.0,
        le=1.0,
    )
    inducer: float = param(
        0.0,
        "0-1",
        "setting: IPTG-like switch driving p21 (HT-p21) or p16 (HT-p16) (Leontieva & Blagosklonny 2013)",
        ge=0.0,
        le=1.0,
    )
    rapamycin_nM: float = param(
        0.0, "nM", "setting: at the cells; 500 nM in Leontieva & Blagosklonny 2011", ge=0.0, le=1e7
    )
    pan_mtor_nM: float = param(
        0.0, "nM", "setting: Torin1-like catalytic inhibitor at the cells (Leontieva et al. 2015)", ge=0.0, le=1e7
    )
    damage_rate_per_h: float = param(
        0.0, "1/h", "setting: DNA-damage events per cell-hour (UV, genotoxins)", ge=0.0, le=10.0
    )
    damage_increase_per_h_per_year: float = param(
        0.0,
        "1/h per year of age",
        "assumption: the damage rate rises linearly with age, rate = "
        "damage_rate_per_h + this * age_years, as senescent-cell production does (Karin et al. 2019) and "
        "p16+ cells accumulate with age (Waaijer et al. 2012); the size is chosen per experiment",
        ge=0.0,
        le=1.0,
    )
    mtor_gain: float = param(
        1.0,
        "-",
        "assumption: >1 = mTOR hyperactivation (Wnt1 as in Castilho et al. 2009, TSC loss); its size is not measured",
        ge=0.0,
        le=20.0,
    )


class CellParams(Frozen):
    """Biology of one cell population.  Defaults are the HT-p21 line."""

    paramset: str = param("ht_p21", "-", "setting: name of the cited parameter set these values start from")
    # growth and cycle
    cycle_h: float = param(22.0, "h", "assumption: HT1080 doubling time ~22 h (plausible 18-30 h)", gt=0.0)
    stem_cycle_factor: float = param(1.0, "-", "assumption: stem cycle time / progenitor cycle time", gt=0.0)
    rest_mean_h: float = param(
        0.0, "h", "assumption: mean G0 rest after each division; 0 = none (a cultured line cycles without rest)", ge=0.0
    )
    division_mass: float = param(1.6, "newborn masses", "assumption: minimum mass to divide (plausible 1.5-2)", gt=1.0)
    mass_max: float = param(
        20.0,
        "newborn masses",
        "hypertrophy ceiling; arrested cells reach ~15-fold protein per cell (Demidenko & Blagosklonny 2009)",
        gt=1.0,
    )
    hypertrophy_rate_per_h: float = param(
        0.045,
        "1/h",
        "logistic growth of arrested cells at full mTOR; reaches ~15-fold by day 3-4 "
        "(Demidenko & Blagosklonny 2009; timing is an assumption)",
        ge=0.0,
        le=100.0,
    )
    # mTOR signalling
    mtor_m0: float = param(1.0, "-", "normalisation: mTOR drive at full serum, nutrients and oxygen", gt=0.0, le=100.0)
    mitogen_floor: float = param(
        0.1,
        "-",
        "assumption: fraction of mTOR drive left without serum "
        "(plausible 0.05-0.3); starvation suppresses geroconversion "
        "(Leontieva & Blagosklonny 2010)",
        ge=0.0,
        le=1.0,
    )
    hypoxia_half_o2: float = param(
        0.1,
        "fraction of normoxia",
        "assumption: O2 at half-maximal mTOR (plausible 0.05-0.2); hypoxia inhibits mTOR (Leontieva et al. 2012)",
        gt=0.0,
    )
    contact_inhibition_max: float = param(
        0.75, "-", "mTOR reduction with four occupied neighbours (Leontieva et al. 2014; size assumed)", ge=0.0, le=1.0
    )
    rapa_s6k_imax: float = param(0.99, "-", "S6K inhibited throughout (Choo et al. 2008)", ge=0.0, le=1.0)
    rapa_s6k_ic50_nM: float = param(
        0.5,
        "nM",
        "assumption: IC50 in the sub- to low-nanomolar range "
        "commonly quoted for S6K inhibition by rapamycin (0.1-1 nM; no single "
        "source, summary)",
        ge=1e-6,
        le=1e6,
    )
    rapa_4e_imax: float = param(
        0.1,
        "-",
        "assumption: small sustained inhibition (plausible 0-0.3), "
        "because 4E-BP1 phosphorylation recovers within ~6 h under rapamycin "
        "(Choo et al. 2008)",
        ge=0.0,
        le=1.0,
    )
    rapa_4e_ic50_nM: float = param(0.5, "nM", "assumption: equal to the S6K IC50", ge=1e-6, le=1e6)
    rapa_hill: float = param(1.0, "-", "assumption: Hill slope of a simple binding curve", gt=0.0, le=10.0)
    pan_imax: float = param(0.97, "-", "Torin1 blocks both branches (Leontieva et al. 2015)", ge=0.0, le=1.0)
    pan_ic50_nM: float = param(
        3.0, "nM", "Torin1 effective from 1-3 nM, maximal at 30 nM (Leontieva et al. 2015)", ge=1e-6, le=1e6
    )
    pan_hill: float = param(
        2.0, "-", "steepness giving ~10% at 1 nM and ~99% at 30 nM (Leontieva et al. 2015)", gt=0.0, le=10.0
    )
    w_gero: float = param(
        CALIBRATED["w_gero"],
        "-",
        "S6K share of the gero drive; calibrated to the 3-fold rapamycin slowing "
        "(Demidenko et al. 2009; studies/calibration.py)",
        ge=0.0,
        le=1.0,
    )
    w_grow: float = param(
        0.3,
        "-",
        "S6K share of the growth drive; rapamycin modestly reduces hypertrophy "
        "(Demidenko & Blagosklonny 2009); the value is an assumption",
        ge=0.0,
        le=1.0,
    )
    gero_rate_per_h: float = param(
        CALIBRATED["gero_rate_per_h"],
        "1/h",
        "geroconversion progress at full drive; calibrated so RPP "
        "is lost by day 3 (Leontieva & Blagosklonny 2013; studies/calibration.py)",
        ge=0.0,
        le=100.0,
    )
    gero_threshold_median: float = param(1.0, "-", "normalisation: median per-cell threshold", gt=0.0)
    gero_threshold_sigma: float = param(
        CALIBRATED["gero_threshold_sigma"],
        "-",
        "lognormal spread, calibrated; RPP >= 0.7 at 48 h and "
        "<= 0.5 at 72 h (Leontieva & Blagosklonny 2013) bound it below ~0.4 "
        "(studies/calibration.py)",
        ge=0.0,
        le=3.0,
    )
    # CDK inhibitors
    p21_tau_h: float = param(
        4.0, "h", "assumption: p21 relaxation time (a short-lived protein; plausible 1-8 h)", gt=0.0
    )
    p16_tau_h: float = param(200.0, "h", "assumption: p16 relaxation time (a stable protein)", gt=0.0)
    p21_threshold: float = param(0.5, "0-1", "normalisation: p21 level that blocks the cycle", gt=0.0, le=1.0)
    p16_threshold: float = param(0.5, "0-1", "normalisation: p16 level that blocks the cycle", gt=0.0, le=1.0)
    p16_positive: float = param(0.3, "0-1", "assumption: p16 level scored as p16+ in a stain", gt=0.0, le=1.0)
    inducer_to_p21: float = param(1.0, "-", "HT-p21: IPTG drives p21 (Leontieva & Blagosklonny 2013)", ge=0.0)
    inducer_to_p16: float = param(
        0.0,
        "-",
        "setting: 0 in the HT-p21 line; the HT-p16 line sets it instead (Leontieva & Blagosklonny 2013)",
        ge=0.0,
    )
    damage_p21_jump: float = param(0.8, "0-1", "assumption: p21 rise per DNA-damage event via p53", ge=0.0, le=1.0)
    damage_p16_jump: float = param(0.02, "0-1", "assumption: persistent p16 per damage event", ge=0.0, le=1.0)
    damage_per_division: float = param(
        0.0,
        "probability",
        "assumption: replication-stress damage per division; drives exhaustion under hyperproliferation",
        ge=0.0,
        le=1.0,
    )
    sasp_to_p21: float = param(
        0.2, "per unit SASP", "assumption: paracrine senescence, p21 drive per unit SASP at the site", ge=0.0, le=100.0
    )
    p16_rise_arrested_per_h: float = param(
        0.002,
        "1/h",
        "assumption: p16 rises slowly in arrested cells, at this "
        "rate times the gero drive: a late marker of mTOR-driven "
        "geroconversion",
        ge=0.0,
        le=10.0,
    )
    p16_rise_senescent_per_h: float = param(
        0.01, "1/h", "assumption: rate at which senescent cells become p16-high", ge=0.0, le=10.0
    )
    p16_rise_age_per_h: float = param(
        0.0,
        "1/h",
        "assumption: age-related p16 rise in every cell; 0 by default (age acts through damage instead)",
        ge=0.0,
        le=10.0,
    )
    # senescent cells
    sasp_secretion_per_h: float = param(0.05, "SASP units/h", "assumption: secretion at full mTOR", ge=0.0, le=100.0)
    sasp_diffusion_per_h: float = param(0.2, "sites^2/h", "assumption: SASP diffusion on the lattice", ge=0.0)
    sasp_decay_per_h: float = param(0.1, "1/h", "assumption: SASP decay", ge=0.0, le=1000.0)
    clearance_beta_per_h: float = param(
        0.0,
        "1/h",
        "setting: immune removal; 0 in vitro (no immune cells), 0.15/day in tissue (Karin et al. 2019)",
        ge=0.0,
        le=100.0,
    )
    clearance_kappa: float = param(0.5, "burden units", "saturation constant (Karin et al. 2019)", gt=0.0)
    clearance_burden_ref: float = param(
        0.1,
        "senescent fraction",
        "assumption: senescent fraction taken as one burden unit of Karin et al. 2019 (plausible 0.01-0.2)",
        gt=0.0,
        le=1.0,
    )
    senescent_death_per_h: float = param(1e-4, "1/h", "assumption: rare death of senescent cells", ge=0.0, le=100.0)
    death_per_h: float = param(
        0.0, "1/h", "assumption: background death of other cells; 0 by default", ge=0.0, le=100.0
    )
    # epidermis
    stem_fraction: float = param(
        0.1,
        "-",
        "assumption: stem share of basal cells at start, and the share a niche restores when "
        "stem_niche_reach_sites > 0 (plausible 0.05-0.2)",
        ge=0.0,
        le=1.0,
    )
    stem_renew_into_gap: float = param(
        0.5, "probability", "assumption: a stem daughter that finds a free basal site stays a stem", ge=0.0, le=1.0
    )
    stem_mtor_factor: float = param(
        1.0,
        "-",
        "assumption: stem cells' mTOR drive relative to other cells (both "
        "branches, so growth and geroconversion); < 1 = quiescent, low-mTORC1 stem "
        "cells",
        ge=0.0,
        le=10.0,
    )
    stem_symmetric_loss: float = param(
        0.0,
        "probability",
        "assumption: chance that a stem division gives two progenitors (the stem cell commits); 0 by "
        "default; Clayton et al. 2007 measured r = 0.08 for the symmetric fates of mouse tail "
        "progenitors (plausible 0-0.1)",
        ge=0.0,
        le=1.0,
    )
    stem_niche_reach_sites: int = param(
        0,
        "basal sites",
        "assumption: the niche refills lost stem cells from their neighbours: a stem division gives "
        "two stem cells while the stem cells within this many basal sites either side (itself "
        "included, senescent ones too) are fewer than stem_fraction of those sites; the second takes a "
        "free basal site or a progenitor's, which delaminates (local replacement: Mesa et al. 2018); "
        "0 by default (no niche: a lost stem cell is not replaced; plausible 3-30)",
        ge=0,
        le=1000,
    )
    progenitor_divisions_min: int = param(1, "divisions", "transit-amplifying 1-5 (Jones & Watt 1993)", ge=0)
    progenitor_divisions_max: int = param(5, "divisions", "transit-amplifying 1-5 (Jones & Watt 1993)", ge=0, le=100)
    transit_h: float = param(336.0, "h", "basal layer to shedding ~14 days (BioNumbers 111965, summary)", gt=0.0)
    fibroblast_cycle_h: float = param(500.0, "h", "assumption: dermal fibroblast cycle", gt=0.0)
    damaged_exit_per_h: float = param(
        0.0,
        "1/h",
        "assumption: rate at which an arrested (damaged, not senescent) progenitor keratinocyte (and "
        "stem cell, where a niche refills stem cells: stem_niche_reach_sites > 0) leaves "
        "the basal layer by differentiating, the DNA damage-differentiation response of keratinocytes "
        "(Freije et al. 2014; de Pedro et al. 2018, both in culture); unmeasured in skin, 0 by default "
        "(plausible 1e-3 to 1e-1: within hours to six weeks)",
        ge=0.0,
        le=100.0,
    )
    melanocyte_fraction: float = param(
        0.0,
        "fraction of basal sites",
        "share of basal sites seeded with melanocytes: 5-10% of basal-layer cells, one melanocyte "
        "per ~36 keratinocytes (Fitzpatrick & Breathnach 1963, summary); 0 by default (none)",
        ge=0.0,
        le=0.5,
    )
    melanocyte_cycle_h: float = param(
        20000.0,
        "h",
        "assumption: adult epidermal melanocytes seldom divide; a cycle of ~2.3 years at full "
        "mTOR drive (plausible 5,000-100,000 h); a melanocyte divides into a free basal site or a "
        "progenitor's, only while below its density (melanocyte_reach_sites)",
        gt=0.0,
    )
    melanocyte_reach_sites: int = param(
        12,
        "basal sites",
        "assumption: keratinocytes hold melanocytes at their density: a melanocyte divides only while "
        "the melanocytes within this many basal sites either side (itself included) are fewer than "
        "melanocyte_fraction of those sites; 12 sites (~120 um) spans about one melanin unit "
        "(plausible 5-30)",
        ge=1,
        le=1000,
    )
    melanocyte_removal_factor: float = param(
        1.0,
        "-",
        "assumption: removal of senescent melanocytes (immune clearance and death) relative to other "
        "senescent cells; 1 by default; senescent melanocytes of naevi persist for decades "
        "(Michaloglou et al. 2005), so 0 to 1 is plausible",
        ge=0.0,
        le=1.0,
    )

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

    time_h: float = Field(..., ge=0.0, description="[h] setting: when the change takes effect")
    set: dict[str, float] = Field(..., description="setting: environment key -> new value")

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

    topical_uM: float = param(
        0.0, "uM", "cream concentration; Chung et al. 2019 used 10 uM (~0.0009% w/v)", ge=0.0, le=1e5
    )
    topical_percent_w_w: float = param(
        0.0,
        "% w/w",
        "alternative to topical_uM; 0.003% and 0.015% were used "
        "on facial angiofibroma (Koenig et al. 2012); converted with 914.2 g/mol, "
        "1 g/mL",
        ge=0.0,
        le=10.0,
    )
    topical_interval_h: float = param(24.0, "h", "daily application (Chung et al. 2019: every 1-2 days)", gt=0.0)
    topical_start_h: float = param(0.0, "h", "setting: first application", ge=0.0)
    topical_stop_h: float = param(1e9, "h", "setting: no application from this time on", ge=0.0)
    penetration_fraction: float = param(
        1e-3,
        "-",
        "assumption: surface epidermal level / cream level; "
        "rapamycin (914 Da, lipophilic) crosses the stratum corneum poorly "
        "(plausible 1e-4 to 1e-2)",
        gt=0.0,
        le=1.0,
    )
    epidermal_half_life_h: float = param(
        12.0, "h", "assumption: clearance from the epidermis between applications (plausible 4-48 h)", gt=0.0
    )
    depth_length_um: float = param(
        50.0, "um", "assumption: exponential fall of the level with depth (plausible 20-200 um)", gt=0.0
    )
    epidermis_thickness_um: float = param(
        100.0,
        "um",
        "depth of the basal layer below the surface: the epidermis is ~100 um thick (Xu et al. 2017)",
        gt=0.0,
    )
    cell_size_um: float = param(10.0, "um", "assumption: one lattice row, a keratinocyte ~10 um", gt=0.0)
    systemic_leak_fraction: float = param(
        1e-4,
        "-",
        "assumption: blood level / surface level for topical "
        "use, chosen so that low-dose creams keep blood < 1 ng/mL as measured "
        "(Koenig et al. 2012; Blagosklonny 2019)",
        ge=0.0,
        le=1.0,
    )
    blood_ng_per_mL: float = param(
        0.0,
        "ng/mL",
        "assumption: systemic (oral) trough level reaching every row (tissue level = blood level)",
        ge=0.0,
        le=1e4,
    )

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


class UVExposure(Frozen):
    """Solar UV on the skin (epidermis geometry only).

    Each day ``sed_per_day`` standard erythema doses reach the skin surface, spread evenly
    over a window of ``exposure_hours`` from ``exposure_start_h`` (time 0 is midnight).  A
    dose adds ``damage_per_sed`` DNA-damage events per cell at the surface, to the
    age-related rate of ``[environment]``; with depth the UVB part falls to
    ``uvb_epidermal_transmission`` at the basal layer (``dosing.epidermis_thickness_um``
    deep) and the UVA part to ``uva_epidermal_transmission``, exponentially, and on into
    the dermis.  Rows sit at the depths the drug profile uses (``dosing.cell_size_um``).
    """

    sed_per_day: float = param(
        0.0,
        "SED/day",
        "setting: erythemally weighted UV at the skin surface (1 SED = 100 J/m^2); 0 = skin "
        "protected from the sun; indoor workers receive 100-300 SED a year (Godar 2005 "
        "(summary)); 1 SED a day, at the top of that, stands for sites that are always bare "
        "(plausible 0-3)",
        ge=0.0,
        le=20.0,
    )
    exposure_start_h: float = param(
        10.0, "hour of day", "setting: start of each day's exposure window (time 0 is midnight)", ge=0.0, lt=24.0
    )
    exposure_hours: float = param(
        4.0,
        "h",
        "assumption: most of a day's erythemal dose arrives in the hours around solar noon (plausible 2-8 h)",
        gt=0.0,
        le=24.0,
    )
    damage_per_sed: float = param(
        0.005,
        "events per cell per SED",
        "assumption: DNA-damage events (as counted by environment.damage_rate_per_h) per cell "
        "at the skin surface per SED; no measurement ties the model's persistent-damage events "
        "to a UV dose; chosen so that 1 SED a day adds at the basal layer about as much damage "
        "as ageing does at 50-60 years (plausible 5e-4 to 5e-2)",
        ge=0.0,
        le=1.0,
    )
    uva_share: float = param(
        0.15,
        "0-1",
        "assumption: share of the surface damage of an erythemal dose that is from UVA; per "
        "joule UVB is two to three thousand times as erythemogenic (Wan et al. 1983), but "
        "sunlight carries far more UVA, and UVA's DNA damage is partly oxidative and not "
        "weighted by the erythema spectrum; no source read gives the share (plausible 0.01-0.5)",
        ge=0.0,
        le=1.0,
    )
    uvb_epidermal_transmission: float = param(
        0.1,
        "0-1",
        "fraction of the surface UVB that passes the epidermis: below 10% for white skin, "
        "32% for Korean epidermis (Korean J Dermatol 1997 (summary)); plausible 0.03-0.35",
        gt=0.0,
        le=1.0,
    )
    uva_epidermal_transmission: float = param(
        0.5,
        "0-1",
        "fraction of the surface UVA that passes the epidermis into the dermis: 50% for white "
        "skin, 48% for Korean epidermis (Korean J Dermatol 1997 (summary)); plausible 0.3-0.7",
        gt=0.0,
        le=1.0,
    )


class AssayParams(Frozen):
    """The virtual colony-formation (RPP) assay."""

    rpp_times_h: tuple[float, ...] = param(
        (),
        "h",
        "setting: times at which RPP is measured",
    )
    replate_hours: float = param(
        120.0, "h", "regrowth after replating; 4-7 days (HT1080-p21-9 protocol, summary)", gt=0.0
    )
    colony_min_cells: int = param(
        8,
        "cells",
        "assumption: a colony has at least this many cells (3 "
        "doublings; a senescent cell stays single, a resumed one passes 8 within "
        "3-4 days)",
        ge=2,
    )
    max_cells: int = param(
        300, "cells", "setting: cells replated per time point (sampled by uid hash)", ge=1, le=100_000
    )
    tile_sites: int = param(12, "sites", "setting: spacing between replated cells (sparse plating)", ge=3, le=100)

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
    uv: UVExposure = UVExposure()

    @model_validator(mode="after")
    def _uv_needs_depth(self):
        if self.uv.sed_per_day > 0.0 and self.simulation.geometry != "epidermis":
            raise ValueError(
                "uv.sed_per_day: UV exposure needs the epidermis geometry (a dish has no depth); "
                "give a dish's genotoxic exposure as environment.damage_rate_per_h"
            )
        return self

    @model_validator(mode="after")
    def _diffusion_substeps_bounded(self):
        # the explicit SASP scheme splits a step into D*dt/0.2 sub-steps; bound the work
        if self.cells.sasp_diffusion_per_h * self.simulation.dt_h > 50.0:
            raise ValueError(
                "cells.sasp_diffusion_per_h x simulation.dt_h must be at most 50 sites^2 per step "
                "(more would need over 250 diffusion sub-steps); lower one of them"
            )
        return self

    def with_changes(self, **sections) -> Params:
        """A copy with some sections' fields replaced, validated again."""
        data = self.model_dump()
        for section, changes in sections.items():
            if isinstance(data[section], dict):
                data[section].update(changes)
            else:
                data[section] = changes
        return Params.model_validate(data)
