"""Priors: a plausible range and a distribution for every model parameter.

Each numeric field of ``[cells]``, ``[dosing]``, ``[environment]`` and ``[uv]`` has a :class:`Prior`
in each named parameter set's table (:func:`default_priors`): ``uniform`` or
``loguniform`` over ``low``-``high``, or ``fixed`` for a setting of the experiment or a
normalisation, which no sampler should vary.  A prior's ``source`` names a key of
``docs/science.md`` (the range is published: "Jones & Watt 1993: ...") or starts
"assumption:" with why this range.  Rules of thumb for the assumptions are in the
Priors section of ``docs/science.md``.

A config's raw ``[priors]`` table (``"cells.cycle_h" = { low = 20, high = 25 }``) narrows
or replaces these; :func:`priors_for` applies and checks it, and every problem is one
:class:`~geroconvert.errors.ConfigError` line naming the field and the fix.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

from geroconvert.errors import ConfigError
from geroconvert.parameters import paramsets
from geroconvert.parameters.models import CellParams, Dosing, Environment, Frozen, UVExposure

DISTRIBUTIONS = ("uniform", "loguniform", "fixed")
ENTRY_KEYS = ("distribution", "low", "high", "source")
PRIOR_SECTIONS = ("cells", "dosing", "environment", "uv")
_MODELS: dict[str, type[Frozen]] = {"cells": CellParams, "dosing": Dosing, "environment": Environment, "uv": UVExposure}


def _num(x: float, exponent: bool = False) -> str:
    """A bound as the reference shows it: ``18``, ``0.05``, ``1e-4`` (``exponent``: ``1e-2``, not ``0.01``)."""
    if x == 0 or (1e-3 <= abs(x) < 1e5 and not exponent):
        return f"{x:g}"
    mantissa, _, power = f"{x:.6e}".partition("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(power)}"


@dataclass(frozen=True)
class Prior:
    """One parameter's prior; ``low``/``high`` are None only for ``fixed``."""

    distribution: str
    low: float | None
    high: float | None
    source: str
    integer: bool = False  # an integer field: from_unit gives whole numbers

    def __post_init__(self):
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {self.distribution!r}; use one of {', '.join(DISTRIBUTIONS)}")
        unbounded = [bound is None for bound in (self.low, self.high)]
        if unbounded != [self.distribution == "fixed"] * 2:
            raise ValueError("a fixed prior has no low and high; any other prior has both")

    def _span(self) -> tuple[float, float]:
        if self.low is None or self.high is None:
            raise ValueError("a fixed prior has no range to sample")
        if self.integer and self.distribution == "uniform":
            # half a step beyond each end, so that rounding gives every integer the same share
            return self.low - 0.5, self.high + 0.5
        return self.low, self.high

    def from_unit(self, u) -> np.ndarray:
        """Values for ``u`` in [0, 1] (the inverse CDF): 0 -> low, 1 -> high."""
        u = np.asarray(u, dtype=np.float64)
        if not np.all((u >= 0.0) & (u <= 1.0)):
            raise ValueError("u must lie in [0, 1]")
        low, high = self._span()
        if self.distribution == "loguniform":
            x = np.exp(math.log(low) * (1.0 - u) + math.log(high) * u)
        else:
            x = low * (1.0 - u) + high * u
        if self.integer:
            return np.clip(np.floor(x + 0.5), self.low, self.high)
        # exact ends: exp(log(x)) may miss x by a rounding step
        return np.where(u == 0.0, low, np.where(u == 1.0, high, np.clip(x, low, high)))

    def to_unit(self, x) -> np.ndarray:
        """The CDF at ``x``: where in [0, 1] a value lies (values outside the range clip to 0 or 1)."""
        x = np.asarray(x, dtype=np.float64)
        low, high = self._span()
        if self.distribution == "loguniform":
            with np.errstate(divide="ignore", invalid="ignore"):
                u = (np.log(np.where(x > 0.0, x, low)) - math.log(low)) / (math.log(high) - math.log(low))
        else:
            u = (x - low) / (high - low)
        return np.clip(u, 0.0, 1.0)

    def describe(self) -> str:
        """``"uniform 18-30"``, ``"log-uniform 1e-4-1e-2"`` or ``"fixed"``."""
        if self.low is None or self.high is None:
            return "fixed"
        name = "log-uniform" if self.distribution == "loguniform" else "uniform"
        # both ends in one notation: "1e-4-1e-2", not "1e-4-0.01"
        exponent = any(_num(x) != f"{x:g}" for x in (self.low, self.high))
        text = f"{name} {_num(self.low, exponent)}-{_num(self.high, exponent)}"
        return f"{text} (integers)" if self.integer else text


def _uniform(low: float, high: float, source: str, integer: bool = False) -> Prior:
    return Prior("uniform", float(low), float(high), source, integer)


def _log(low: float, high: float, source: str) -> Prior:
    return Prior("loguniform", float(low), float(high), source)


def _fixed(source: str) -> Prior:
    return Prior("fixed", None, None, source)


# An unmeasured rate gets a log-uniform decade around its value; an unmeasured share or
# fraction a uniform span that keeps its meaning; the three calibrated constants wide
# ranges that studies/calibration.py could narrow.
_ENVIRONMENT = {
    "environment.mitogen": _fixed("setting: the serum of the experiment"),
    "environment.nutrients": _fixed("setting: the amino acids and glucose of the experiment"),
    "environment.oxygen": _fixed("setting: the oxygen of the experiment"),
    "environment.inducer": _fixed("setting: the IPTG-like switch of the experiment"),
    "environment.rapamycin_nM": _fixed("setting: the rapamycin dose of the experiment"),
    "environment.pan_mtor_nM": _fixed("setting: the pan-mTOR inhibitor dose of the experiment"),
    "environment.damage_rate_per_h": _fixed("setting: the genotoxic exposure of the experiment"),
    "environment.damage_increase_per_h_per_year": _uniform(
        0.0,
        2e-6,
        "assumption: from none (culture) to about 3 times the 6e-7 per cell-hour per year of the "
        "skin configs; Karin et al. 2019 give the linear shape, not the slope",
    ),
    "environment.mtor_gain": _log(
        0.25,
        4.0,
        "assumption: an unmeasured gain, 4-fold down to 4-fold up; the 3 of experiments/stem_exhaustion lies inside",
    ),
}

_DOSING = {
    "dosing.topical_uM": _fixed("setting: the cream of the experiment"),
    "dosing.topical_percent_w_w": _fixed("setting: the cream of the experiment"),
    "dosing.topical_interval_h": _uniform(
        24.0, 48.0, "Chung et al. 2019: participants applied the cream every 1-2 days"
    ),
    "dosing.topical_start_h": _fixed("setting: the first application of the experiment"),
    "dosing.topical_stop_h": _fixed("setting: the end of the applications of the experiment"),
    "dosing.penetration_fraction": _log(
        1e-4,
        1e-2,
        "assumption: no measured epidermal level after topical rapamycin was found; a 914 Da "
        "lipophilic drug crosses the stratum corneum poorly, so a decade either side of 1e-3",
    ),
    "dosing.epidermal_half_life_h": _log(4.0, 48.0, "assumption: clearance between applications, hours to 2 days"),
    "dosing.depth_length_um": _log(
        20.0, 200.0, "assumption: the level falls over a fifth to twice the ~100 um epidermis"
    ),
    "dosing.epidermis_thickness_um": _uniform(
        83.0, 116.0, "Xu et al. 2017: 95% CI of the pooled epidermal thickness, 83-116 um"
    ),
    "dosing.cell_size_um": _uniform(7.0, 15.0, "assumption: keratinocytes of ~10 um, basal ones smaller"),
    "dosing.systemic_leak_fraction": _log(
        1e-5,
        1e-3,
        "assumption: a decade around 1e-4; at the top, the 0.015% cream of Koenig et al. 2012 with the "
        "highest penetration gives blood near the measured < 1 ng/mL (Blagosklonny 2019)",
    ),
    "dosing.blood_ng_per_mL": _fixed("setting: the systemic (oral) dose of the experiment"),
}

_UV = {
    "uv.sed_per_day": _fixed("setting: the sun the skin of the experiment gets"),
    "uv.exposure_start_h": _fixed("setting: when the experiment's day of sun begins"),
    "uv.exposure_hours": _uniform(2.0, 8.0, "assumption: the hours around solar noon that bring most of a day's dose"),
    "uv.damage_per_sed": _log(
        5e-4,
        5e-2,
        "assumption: no measurement ties the model's persistent-damage events to a UV dose; a decade "
        "either side of the 0.005 that matches ageing's damage at 50-60 years with 1 SED a day",
    ),
    "uv.uva_share": _uniform(
        0.01,
        0.5,
        "assumption: per joule UVA is thousands of times weaker than UVB (Wan et al. 1983); from 1% "
        "of a dose's damage to half of it",
    ),
    "uv.uvb_epidermal_transmission": _uniform(
        0.03, 0.35, "Korean J Dermatol 1997 (summary): below 10% through white epidermis, 32% through Korean"
    ),
    "uv.uva_epidermal_transmission": _uniform(
        0.3, 0.7, "Korean J Dermatol 1997 (summary): about 50% through white and 48% through Korean epidermis"
    ),
}

_CELLS_GROWTH = {
    "cells.cycle_h": _uniform(18.0, 30.0, "assumption: plausible HT1080 doubling times around ~22 h"),
    "cells.stem_cycle_factor": _uniform(1.0, 3.0, "assumption: stem cells cycle alike to 3-fold slower"),
    "cells.rest_mean_h": _uniform(0.0, 12.0, "assumption: a cultured line cycles without rest; up to half a cycle"),
    "cells.division_mass": _uniform(
        1.5, 2.0, "assumption: a cell divides once grown most of the way to twice its newborn mass"
    ),
    "cells.mass_max": _uniform(
        15.0,
        30.0,
        "assumption: the ceiling lies above the ~15-fold protein per cell of arrested cells "
        "(Demidenko & Blagosklonny 2009), up to twice that",
    ),
    "cells.hypertrophy_rate_per_h": _log(
        0.015,
        0.15,
        "assumption: a decade around the rate that reaches the ~15-fold size by day 3-4; the "
        "timing is not published (Demidenko & Blagosklonny 2009)",
    ),
}

_CELLS_MTOR = {
    "cells.mtor_m0": _fixed("normalisation: mTOR drive at full serum, nutrients and oxygen"),
    "cells.mitogen_floor": _uniform(0.05, 0.3, "assumption: some mTOR drive is left without serum"),
    "cells.hypoxia_half_o2": _uniform(
        0.05, 0.2, "assumption: hypoxia inhibits mTOR (Leontieva et al. 2012), by how much per O2 is not published"
    ),
    "cells.contact_inhibition_max": _uniform(
        0.5, 0.95, "assumption: the direction is published (Leontieva et al. 2014), not the size"
    ),
    "cells.rapa_s6k_imax": _uniform(0.9, 1.0, "Choo et al. 2008: S6K stays inhibited throughout, read as 90-100%"),
    "cells.rapa_s6k_ic50_nM": _log(
        0.1, 1.0, "assumption: the 0.1-1 nM commonly quoted for S6K inhibition (no single source, summary)"
    ),
    "cells.rapa_4e_imax": _uniform(
        0.0, 0.3, "assumption: 4E-BP1 phosphorylation recovers within ~6 h (Choo et al. 2008), a small rest"
    ),
    "cells.rapa_4e_ic50_nM": _log(0.1, 10.0, "assumption: about the S6K IC50, up to 10-fold weaker"),
    "cells.rapa_hill": _uniform(0.5, 2.0, "assumption: a simple binding curve has slope 1"),
    "cells.pan_imax": _uniform(0.9, 1.0, "Leontieva et al. 2015: Torin1 suppresses both branches, read as 90-100%"),
    "cells.pan_ic50_nM": _log(1.0, 10.0, "Leontieva et al. 2015: Torin1 effective from 1-3 nM, maximal at 30 nM"),
    "cells.pan_hill": _uniform(
        1.0, 3.0, "Leontieva et al. 2015: from detectable (1-3 nM) to maximal (30 nM) within about a decade"
    ),
    "cells.w_gero": _uniform(
        0.3,
        1.0,
        "assumption: wide around the calibrated 0.65 (target of Demidenko et al. 2009); the calibration "
        "could narrow it",
    ),
    "cells.w_grow": _uniform(
        0.1, 0.5, "assumption: below w_gero, as rapamycin only modestly reduces size (Demidenko & Blagosklonny 2009)"
    ),
    "cells.gero_rate_per_h": _log(
        0.005,
        0.05,
        "assumption: wide, ~3-fold either side of the calibrated 0.018/h (target of Leontieva & "
        "Blagosklonny 2013); the calibration could narrow it",
    ),
    "cells.gero_threshold_median": _fixed("normalisation: median per-cell threshold"),
    "cells.gero_threshold_sigma": _uniform(
        0.05,
        0.5,
        "assumption: wide around the calibrated 0.18 (target of Leontieva & Blagosklonny 2013); the "
        "calibration could narrow it",
    ),
}

_CELLS_CDKI = {
    "cells.p21_tau_h": _uniform(1.0, 8.0, "assumption: p21 is a short-lived protein"),
    "cells.p16_tau_h": _log(50.0, 1000.0, "assumption: p16 is a stable protein: 2 days to 6 weeks"),
    "cells.p21_threshold": _fixed("normalisation: p21 level that blocks the cycle"),
    "cells.p16_threshold": _fixed("normalisation: p16 level that blocks the cycle"),
    "cells.p16_positive": _uniform(0.2, 0.5, "assumption: a stain threshold up to the arrest threshold 0.5"),
    "cells.inducer_to_p21": _uniform(
        0.6,
        2.0,
        "assumption: induced p21 must pass the threshold 0.5 for the full arrest (Leontieva & "
        "Blagosklonny 2013); up to 4 times it",
    ),
    "cells.inducer_to_p16": _fixed("setting: 0 in the HT-p21 line"),
    "cells.damage_p21_jump": _uniform(0.5, 1.0, "assumption: one damage event raises p21 past the threshold 0.5"),
    "cells.damage_p16_jump": _log(0.005, 0.05, "assumption: a little persistent p16 per event, a decade around 0.02"),
    "cells.damage_per_division": _uniform(0.0, 0.01, "assumption: none in culture, up to the epidermal 1e-2"),
    "cells.sasp_to_p21": _log(0.05, 0.5, "assumption: paracrine senescence is not measured"),
    "cells.p16_rise_arrested_per_h": _log(5e-4, 5e-3, "assumption: a slow, late marker; a decade around 0.002/h"),
    "cells.p16_rise_senescent_per_h": _log(3e-3, 3e-2, "assumption: a decade around 0.01/h"),
    "cells.p16_rise_age_per_h": _fixed("setting: no organismal ageing in culture"),
}

_CELLS_SENESCENT = {
    "cells.sasp_secretion_per_h": _log(0.02, 0.2, "assumption: unmeasured, a decade around 0.05"),
    "cells.sasp_diffusion_per_h": _log(0.05, 0.5, "assumption: unmeasured, a decade around 0.2 sites^2/h"),
    "cells.sasp_decay_per_h": _log(0.03, 0.3, "assumption: unmeasured, a decade around 0.1/h"),
    "cells.clearance_beta_per_h": _fixed("setting: no immune cells in culture"),
    "cells.clearance_kappa": _log(0.25, 1.0, "assumption: 2-fold either side of kappa = 0.5 (Karin et al. 2019)"),
    "cells.clearance_burden_ref": _log(
        0.01, 0.2, "assumption: the senescent fraction taken as one burden unit of Karin et al. 2019"
    ),
    "cells.senescent_death_per_h": _log(3e-5, 3e-4, "assumption: senescent cells rarely die: 5 months to 4 years"),
    "cells.death_per_h": _uniform(0.0, 1e-3, "assumption: none by default, up to ~2% of the cells a day"),
}

_CELLS_EPIDERMIS = {
    "cells.stem_fraction": _uniform(0.05, 0.2, "assumption: stem share of basal cells at start"),
    "cells.stem_renew_into_gap": _uniform(0.0, 1.0, "assumption: an unmeasured probability"),
    "cells.stem_mtor_factor": _uniform(0.5, 1.5, "assumption: stem cells signal like other cells, give or take half"),
    "cells.stem_symmetric_loss": _uniform(0.0, 0.1, "assumption: none by default, up to one stem division in ten"),
    "cells.stem_niche_reach_sites": _uniform(
        0, 30, "assumption: from no niche (0, lost stem cells not replaced) to one of ~300 um", integer=True
    ),
    "cells.progenitor_divisions_min": _uniform(
        1, 2, "Jones & Watt 1993: 1 to 5 rounds; the fewest varies over 1-2, so min <= max", integer=True
    ),
    "cells.progenitor_divisions_max": _uniform(
        3, 5, "Jones & Watt 1993: 1 to 5 rounds; the most varies over 3-5, so min <= max", integer=True
    ),
    "cells.transit_h": _uniform(240.0, 480.0, "assumption: 10-20 days around the ~14 of BioNumbers 111965 (summary)"),
    "cells.fibroblast_cycle_h": _log(200.0, 2000.0, "assumption: dermal fibroblasts divide slowly: 8 days to 12 weeks"),
    "cells.damaged_exit_per_h": _uniform(
        0.0, 0.1, "assumption: 0 by default; up to 0.1/h, an arrested progenitor leaving within ~10 h"
    ),
    "cells.melanocyte_fraction": _uniform(
        0.0,
        0.1,
        "assumption: 0 by default (none); up to the top of the 5-10% of basal cells of Fitzpatrick & "
        "Breathnach 1963 (summary)",
    ),
    "cells.melanocyte_cycle_h": _log(5000.0, 100000.0, "assumption: melanocytes seldom divide: 7 months to 11 years"),
    "cells.melanocyte_removal_factor": _uniform(
        0.0, 1.0, "assumption: from none (naevus cells persist, Michaloglou et al. 2005) to as other cells"
    ),
    "cells.melanocyte_reach_sites": _uniform(
        5, 30, "assumption: the reach over which melanocytes sense their density, 50-300 um", integer=True
    ),
}

_HT_P21 = {**_ENVIRONMENT, **_DOSING, **_UV, **_CELLS_GROWTH, **_CELLS_MTOR, **_CELLS_CDKI, **_CELLS_SENESCENT}
_HT_P21.update(_CELLS_EPIDERMIS)

_HT_P16 = {
    "cells.inducer_to_p21": _fixed("setting: the p16 line; IPTG drives p16, not p21"),
    "cells.inducer_to_p16": _uniform(
        0.6,
        2.0,
        "assumption: induced p16 must pass the threshold 0.5 for the arrest (Leontieva & Blagosklonny 2013); "
        "up to 4 times it",
    ),
    "cells.p16_tau_h": _log(1.0, 24.0, "assumption: ectopic p16 falls within a day of washout, as the RPP assay needs"),
}

_HUMAN_EPIDERMIS = {
    "cells.cycle_h": _uniform(
        120.0,
        300.0,
        "assumption: around the hand-tuned 190 h; with slow stem cells the mean basal cycle must "
        "stay near the 311 h of Weinstein et al. 1984",
    ),
    "cells.rest_mean_h": _uniform(0.0, 48.0, "assumption: tuned to none; up to 2 days"),
    "cells.stem_fraction": _uniform(
        0.15, 0.45, "assumption: around the 0.32 that gives the 60% growth fraction (Weinstein et al. 1984)"
    ),
    "cells.contact_inhibition_max": _uniform(
        0.0, 0.3, "assumption: suprabasal neighbours hardly contact-inhibit basal cells"
    ),
    "cells.inducer_to_p21": _fixed("setting: no inducer in tissue"),
    "cells.stem_renew_into_gap": _uniform(
        0.0, 0.5, "assumption: the niche sets the stem number; lost stem cells are not refilled (Castilho et al. 2009)"
    ),
    "cells.clearance_beta_per_h": _log(
        0.003, 0.0125, "assumption: 2-fold either side of beta = 0.15/day (Karin et al. 2019)"
    ),
    "cells.p16_tau_h": _log(500.0, 10000.0, "assumption: p16 is stable in tissue: 3 weeks to over a year"),
    "cells.p16_rise_arrested_per_h": _log(5e-5, 5e-4, "assumption: a slow, late marker; a decade around 2e-4/h"),
    "cells.p16_rise_age_per_h": _uniform(
        0.0, 5e-5, "assumption: 0 by default; at most ~0.1 of p16 in every cell (with p16_tau_h ~2000 h)"
    ),
    "cells.damage_per_division": _log(
        1e-4, 3e-2, "assumption: the quoted 1e-4 to 1e-2, widened so that the set's 0.01 is not at the edge"
    ),
    "cells.damage_p16_jump": _uniform(
        0.5, 0.65, "assumption: a damage hit arrests (above the threshold 0.5) but stays below the p16-high stain"
    ),
    "cells.p16_positive": _uniform(0.65, 0.9, "assumption: above what a single damage hit gives"),
    "cells.stem_mtor_factor": _log(
        0.1, 1.0, "assumption: quiescent stem cells keep mTORC1 low (Castilho et al. 2009): 10-fold lower to equal"
    ),
    "cells.clearance_burden_ref": _log(0.001, 0.02, "assumption: removal saturates at the burdens of aged skin"),
    "cells.hypertrophy_rate_per_h": _log(0.0015, 0.015, "assumption: slow growth in tissue, a decade around 0.005/h"),
    "cells.gero_rate_per_h": _log(
        0.0005,
        0.005,
        "assumption: the wide HT-p21 range around the calibrated value, 10-fold lower, as tissue mTOR "
        "is taken 10-fold below culture",
    ),
    "cells.fibroblast_cycle_h": _log(500.0, 8000.0, "assumption: dermal fibroblasts rarely divide: 3 weeks to a year"),
    "cells.sasp_diffusion_per_h": _log(0.02, 0.2, "assumption: slower through tissue than in a dish"),
}

_TABLES = {"ht_p21": _HT_P21, "ht_p16": {**_HT_P21, **_HT_P16}, "human_epidermis": {**_HT_P21, **_HUMAN_EPIDERMIS}}


def default_priors(paramset: str = "ht_p21") -> dict[str, Prior]:
    """``"section.field"`` -> Prior for every numeric cells, dosing, environment and uv parameter."""
    if paramset not in _TABLES:
        raise ConfigError(
            f"cells.paramset: no priors for parameter set {paramset!r}; choose one of {', '.join(paramsets.NAMES)}"
        )
    return dict(_TABLES[paramset])


def hard_bounds(path: str) -> tuple[float | None, bool, float | None, bool]:
    """``(low, low_inclusive, high, high_inclusive)`` of a field; an absent bound is ``(None, False)``."""
    found: dict[str, float] = {}
    for meta in _field_info(path).metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if getattr(meta, attr, None) is not None:
                found[attr] = float(getattr(meta, attr))
    low = found.get("ge", found.get("gt"))
    high = found.get("le", found.get("lt"))
    return low, "ge" in found, high, "le" in found


def _field_info(path: str):
    section, _, name = path.partition(".")
    model = _MODELS.get(section)
    if model is None or name not in model.model_fields:
        raise ConfigError(f"{path}: not a cells, dosing, environment or uv parameter{_suggest(path)}")
    return model.model_fields[name]


def _suggest(path: str) -> str:
    """``"; did you mean 'cells.cycle_h'?"`` by the whole path, else by the field name alone."""
    paths = list(_HT_P21)
    close = difflib.get_close_matches(path, paths, n=1, cutoff=0.6)
    if not close:
        by_name = {p.partition(".")[2]: p for p in paths}
        close = [by_name[m] for m in difflib.get_close_matches(path.rpartition(".")[2], by_name, n=1, cutoff=0.6)]
    return f"; did you mean {close[0]!r}?" if close else "; see `geroconvert reference` for the parameters"


def prior_of(path: str, priors: dict[str, Prior]) -> Prior:
    """The prior of ``path``, or a ConfigError saying how to give one."""
    prior = priors.get(path)
    if prior is None:
        raise ConfigError(f"{path}: not a parameter with a prior{_suggest(path)}")
    if prior.distribution == "fixed":
        raise ConfigError(
            f"{path}: has no prior ({prior.source}); give one under [priors], e.g. "
            f'"{path}" = {{ distribution = "uniform", low = .., high = .. }}'
        )
    return prior


def priors_for(mapping: dict) -> dict[str, Prior]:
    """The default priors of the mapping's ``cells.paramset``, with its ``[priors]`` table applied and checked."""
    cells = mapping.get("cells") or {}
    paramset = cells.get("paramset", "ht_p21") if isinstance(cells, dict) else "ht_p21"
    if not isinstance(paramset, str):
        raise ConfigError(f"cells.paramset: must be a string (got {paramset!r}); one of {', '.join(paramsets.NAMES)}")
    priors = default_priors(paramset)
    table = mapping.get("priors") or {}
    if not isinstance(table, dict):
        raise ConfigError('priors: must be a table, written [priors] with "section.key" = { low = .., high = .. }')
    for path, entry in table.items():
        priors[path] = _configured(str(path), entry, priors)
    return priors


def _configured(path: str, entry, priors: dict[str, Prior]) -> Prior:
    """One ``[priors]`` entry, checked, as a Prior (missing keys come from the default)."""
    where = f'priors."{path}"'
    default = _default_of(path, priors, where)
    if not isinstance(entry, dict):
        raise ConfigError(f'{where}: must be a table; write "{path}" = {{ low = .., high = .. }}')
    unknown = [key for key in entry if key not in ENTRY_KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), ENTRY_KEYS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use {', '.join(ENTRY_KEYS)}"
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; {hint}")
    distribution = _distribution(entry, default, where)
    source = _source(entry, default, where, distribution)
    if distribution == "fixed":
        if "low" in entry or "high" in entry:
            raise ConfigError(f'{where}: a fixed prior takes no low or high; remove them or use "uniform"')
        return Prior("fixed", None, None, source)
    integer = _field_info(path).annotation is int
    low, high = (_bound(entry, key, default, where, integer) for key in ("low", "high"))
    prior = Prior(distribution, low, high, source, integer)
    check_range(path, prior, where)
    return prior


def _default_of(path: str, priors: dict[str, Prior], where: str) -> Prior:
    if path in priors:
        return priors[path]
    section, _, name = path.partition(".")
    model = _MODELS.get(section)
    if model is not None and name in model.model_fields:  # a field, but not a number: cells.paramset
        raise ConfigError(f"{where}: {path} is not a number, so it takes no prior; remove this entry")
    if section not in PRIOR_SECTIONS:
        raise ConfigError(f"{where}: only cells, dosing, environment and uv parameters take a prior{_suggest(path)}")
    raise ConfigError(f"{where}: unknown parameter{_suggest(path)}")


def _distribution(entry: dict, default: Prior, where: str) -> str:
    if "distribution" not in entry:
        if default.distribution == "fixed":
            raise ConfigError(
                f"{where}: has no default prior to narrow ({default.source}); "
                'give distribution = "uniform" or "loguniform" with low and high'
            )
        return default.distribution
    distribution = entry["distribution"]
    if distribution not in DISTRIBUTIONS:
        raise ConfigError(f"{where}: unknown distribution {distribution!r}; use one of {', '.join(DISTRIBUTIONS)}")
    return distribution


def _source(entry: dict, default: Prior, where: str, distribution: str) -> str:
    source = entry.get("source")
    if source is None and distribution == "fixed":
        return "setting: fixed by the config's [priors]"
    if source is None:
        # the range is the config's choice; keep the default's reason for reference
        return f"assumption: set in the config's [priors] (default {default.describe()}: {default.source})"
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f'{where}: source must be a non-empty string, e.g. source = "assumption: why this range"')
    return source


def _bound(entry: dict, key: str, default: Prior, where: str, integer: bool) -> float:
    value = entry.get(key, default.low if key == "low" else default.high)
    if value is None:
        raise ConfigError(f"{where}: has no default {key} ({default.source}); give both low and high")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {key} must be a number (got {value!r}); write it without quotes")
    if not math.isfinite(value):
        raise ConfigError(f"{where}: {key} must be a finite number (got {value}); write a number")
    if integer and float(value) != round(value):
        raise ConfigError(f"{where}: {key} must be a whole number for this integer field (got {value})")
    return float(value)


def check_range(path: str, prior: Prior, where: str | None = None) -> None:
    """A non-fixed prior has low < high, low > 0 if log-uniform, and lies inside the field's hard bounds."""
    where = where or path
    low, high = prior.low, prior.high
    if low is None or high is None:
        return
    if not low < high:
        raise ConfigError(f"{where}: low ({_num(low)}) must be below high ({_num(high)}); give low < high")
    if prior.distribution == "loguniform" and low <= 0:
        raise ConfigError(f'{where}: a log-uniform prior needs low > 0 (got {_num(low)}); raise low or use "uniform"')
    bound_low, low_inclusive, bound_high, high_inclusive = hard_bounds(path)
    if bound_low is not None and (low < bound_low or (low == bound_low and not low_inclusive)):
        symbol = ">=" if low_inclusive else ">"
        raise ConfigError(
            f"{where}: low = {_num(low)} is outside the field's bounds: {path} must be "
            f"{symbol} {_num(bound_low)}; use low {symbol} {_num(bound_low)}"
        )
    if bound_high is not None and (high > bound_high or (high == bound_high and not high_inclusive)):
        symbol = "<=" if high_inclusive else "<"
        raise ConfigError(
            f"{where}: high = {_num(high)} is outside the field's bounds: {path} must be "
            f"{symbol} {_num(bound_high)}; use high {symbol} {_num(bound_high)}"
        )
