"""The ``[trial]`` section of a split-hand trial config, and the configs of its runs.

The section's values are checked here, with one-line errors naming ``trial.KEY``; the
trial itself (:mod:`geroconvert.studies.trial`) and a sensitivity study whose outputs are
the trial's (:mod:`geroconvert.analysis.sensitivity_design`) both read it.  A subject's
traits (age, damage-rate multiplier) and the config of each of its runs (the ageing skin,
each hand) are pure functions of the config and the subject's number.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from geroconvert.config.paths import set_path
from geroconvert.config.sections import suggest, value_text
from geroconvert.config.validation import config_from_mapping
from geroconvert.errors import ConfigError
from geroconvert.units import HOURS_PER_MONTH, HOURS_PER_YEAR

TRIAL_KEYS = ("subjects", "seed", "age_min_years", "age_max_years", "damage_sd_log", "visits_months", "start_age_years")
MEASURES = ("p16_positive_fraction", "p16_positive_fraction_epidermis", "p16_positive_fraction_dermis")
MAX_TRIAL_SUBJECTS = 10_000
MAX_TRIAL_SEED = 2**62 - 1  # seed + subject stays a valid simulation seed (below 2**63)
MAX_AGE_YEARS = 120.0
MAX_DAMAGE_SD_LOG = 3.0  # at 3, one subject in six has a damage rate 20 times (e^3) the median's
MAX_VISIT_MONTHS = 12 * int(MAX_AGE_YEARS)  # no trial outlasts a life (and a longer one overflows the run)
# What one subject gives a sensitivity study, per measure (fractions of cells): treated -
# placebo at the last visit, each hand's change from month 0, and the month-0 value.
TRIAL_QUANTITIES = ("difference", "treated_change", "placebo_change", "baseline")


def trial_output(quantity: str, measure: str) -> str:
    """``trial_difference``, ``trial_difference_epidermis``, ... (the measure's suffix after the fraction)."""
    return f"trial_{quantity}{measure.removeprefix('p16_positive_fraction')}"


TRIAL_OUTPUTS = tuple(trial_output(q, m) for m in MEASURES for q in TRIAL_QUANTITIES)


@dataclass(frozen=True)
class TrialSpec:
    subjects: int = 12
    seed: int = 0
    age_min_years: float = 45.0
    age_max_years: float = 75.0
    damage_sd_log: float = 0.3
    visits_months: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0, 8.0)
    start_age_years: float = 20.0

    @classmethod
    def from_table(cls, table: dict | None) -> TrialSpec:
        """The ``[trial]`` table with every value checked: a bad one is a one-line ConfigError
        naming ``trial.KEY``, before any subject runs."""
        table = {} if table is None else table
        if not isinstance(table, dict):
            raise ConfigError(f"trial: must be a table, written [trial] (got {value_text(table)})")
        for key in table:
            if key not in TRIAL_KEYS:
                raise ConfigError(f"trial.{key}: unknown key{suggest(key, TRIAL_KEYS)}")
        spec = cls(
            subjects=cls._integer(table, "subjects", 2, MAX_TRIAL_SUBJECTS),
            seed=cls._integer(table, "seed", 0, MAX_TRIAL_SEED),
            age_min_years=cls._number(table, "age_min_years", MAX_AGE_YEARS),
            age_max_years=cls._number(table, "age_max_years", MAX_AGE_YEARS),
            damage_sd_log=cls._number(table, "damage_sd_log", MAX_DAMAGE_SD_LOG),
            visits_months=cls._visits(table.get("visits_months", cls.visits_months)),
            start_age_years=cls._number(table, "start_age_years", MAX_AGE_YEARS),
        )
        if spec.start_age_years > spec.age_min_years:
            raise ConfigError(
                f"trial.start_age_years: must be at most age_min_years ({spec.age_min_years:g}); "
                "the skin is aged from it to each subject's age"
            )
        if spec.age_min_years > spec.age_max_years:
            raise ConfigError(f"trial.age_min_years: must be at most age_max_years ({spec.age_max_years:g})")
        return spec

    @classmethod
    def for_mapping(cls, mapping: dict) -> TrialSpec:
        """The trial of a loaded config, checked as ``geroconvert trial`` runs it: the table, the
        geometry, and the config of the longest ageing run and of the longest hand, each with the
        cohort's largest damage-rate multiplier."""
        spec = cls.from_table(mapping.get("trial"))
        if mapping.get("simulation", {}).get("geometry") != "epidermis":
            raise ConfigError('simulation.geometry: the split-hand trial needs geometry = "epidermis"')
        life_h = (spec.age_max_years - spec.start_age_years) * HOURS_PER_YEAR
        hand_h = spec.visits_months[-1] * HOURS_PER_MONTH
        # the cohort's largest damage multiplier: the damage rates it gives must be valid too
        multiplier = max(subject_traits(spec, s)[1] for s in range(spec.subjects))
        for age, hours, dosing, what in (
            (spec.start_age_years, life_h, None, "trial.age_max_years: ageing the skin from start_age_years"),
            (spec.age_max_years, hand_h, mapping.get("dosing"), "trial.visits_months: the hands to the last visit"),
        ):
            try:
                config_from_mapping(hand_mapping(mapping, age, multiplier, hours, dosing))
            except ConfigError as error:
                largest = f" (with the cohort's largest damage multiplier, x{multiplier:.3g})"
                raise ConfigError(f"{what}{largest}: {error}") from None
        return spec

    @classmethod
    def _integer(cls, table: dict, key: str, low: int, high: int) -> int:
        value = table.get(key, getattr(cls, key))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"trial.{key}: must be an integer from {low} to {high} (got {value_text(value)})")
        return value

    @classmethod
    def _number(cls, table: dict, key: str, high: float) -> float:
        value = table.get(key, getattr(cls, key))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(
                f"trial.{key}: must be a number (got {value_text(value)}); write it without quotes, "
                f"e.g. {key} = {getattr(cls, key):g}"
            )
        if not 0 <= value <= high:  # compared before float(): a 400-digit integer does not overflow; nan fails
            raise ConfigError(f"trial.{key}: must be a number from 0 to {high:g} (got {value_text(value)})")
        return float(value)

    @staticmethod
    def _visits(value) -> tuple[float, ...]:
        where, example = "trial.visits_months", "e.g. visits_months = [0, 2, 4, 6, 8]"
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: must be a list of months (got {value_text(value)}); {example}")
        for month in value:
            if isinstance(month, bool) or not isinstance(month, (int, float)):
                raise ConfigError(f"{where}: must be a list of numbers (got {value_text(month)}); {example}")
            if isinstance(month, float) and not math.isfinite(month):
                raise ConfigError(f"{where}: every visit must be a finite number of months (got {month}); {example}")
        if len(value) < 2 or value[0] != 0 or any(b <= a for a, b in zip(value, value[1:])):
            raise ConfigError(f"{where}: must be increasing, start at 0 and have at least two visits; {example}")
        if value[-1] > MAX_VISIT_MONTHS:
            raise ConfigError(
                f"{where}: the last visit must be at most {MAX_VISIT_MONTHS} months (got {value_text(value[-1])})"
            )
        return tuple(float(month) for month in value)


def subject_traits(spec: TrialSpec, subject: int) -> tuple[float, float]:
    """(age in years, damage-rate multiplier) of one subject, from its own seed."""
    rng = np.random.default_rng([spec.seed, subject, 0x7419])  # cohort draws only, not the cells
    age = rng.uniform(spec.age_min_years, spec.age_max_years)
    multiplier = float(np.exp(spec.damage_sd_log * rng.standard_normal()))
    return float(age), multiplier


def hand_mapping(mapping: dict, age: float, multiplier: float, hours: float, dosing: dict | None) -> dict:
    hand = copy.deepcopy({k: v for k, v in mapping.items() if k not in ("trial", "sweep")})
    env = hand.setdefault("environment", {})
    for key in ("damage_rate_per_h", "damage_increase_per_h_per_year"):
        set_path(hand, f"environment.{key}", float(env.get(key, 0.0)) * multiplier)
    set_path(hand, "simulation.start_age_years", age)
    set_path(hand, "simulation.hours", hours)
    hand["dosing"] = dosing or {}
    hand["schedule"] = []
    hand.setdefault("assays", {})["rpp_times_h"] = []
    return hand
