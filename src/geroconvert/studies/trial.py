"""The split-hand trial (Chung et al. 2019, GeroScience 41:861), in silico.

A cohort of subjects, each with their own age and damage rate.  For each subject one
patch of skin is aged from ``start_age_years`` to the subject's age (no drug).  The
aged skin is then copied onto two hands that share the subject's random numbers: one
gets the config's rapamycin cream (``[dosing]``), the other a placebo.  The p16+
fraction is measured on both hands at each visit.

Config: any epidermis config plus a ``[trial]`` table::

    [trial]
    subjects = 12            # cohort size
    seed = 0                 # subject s uses seed + s
    age_min_years = 45       # ages drawn uniformly (Chung et al.: over 40)
    age_max_years = 75
    damage_sd_log = 0.3      # between-subject spread of the damage rate (lognormal sd)
    visits_months = [0, 2, 4, 6, 8]
    start_age_years = 20     # the skin is simulated from this age

Analysis: the paired difference (treated - placebo) at the last visit with its 95%
interval and paired t-test p-value, the cohort size for 80% power, and a before/after
comparison on the treated hand that says whether rapamycin *reversed* ageing (p16+
fell below its own baseline) or *slowed* it (the treated hand only rose less than the
placebo hand), the question raised by Blagosklonny 2019 (docs/science.md).
"""

from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass

import numpy as np

from geroconvert.config import ConfigError, config_from_mapping, set_path, value_text
from geroconvert.units import HOURS_PER_MONTH, HOURS_PER_YEAR

TRIAL_KEYS = ("subjects", "seed", "age_min_years", "age_max_years", "damage_sd_log", "visits_months", "start_age_years")
MEASURES = ("p16_positive_fraction", "p16_positive_fraction_epidermis", "p16_positive_fraction_dermis")
MAX_TRIAL_SUBJECTS = 10_000
MAX_TRIAL_SEED = 2**62 - 1  # seed + subject stays a valid simulation seed (below 2**63)
MAX_AGE_YEARS = 120.0
MAX_DAMAGE_SD_LOG = 3.0  # at 3, one subject in six has a damage rate 20 times (e^3) the median's
MAX_VISIT_MONTHS = 12 * int(MAX_AGE_YEARS)  # no trial outlasts a life (and a longer one overflows the run)


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
                from geroconvert.config import suggest

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
        geometry, and the config of the longest ageing run and of the longest hand."""
        spec = cls.from_table(mapping.get("trial"))
        if mapping.get("simulation", {}).get("geometry") != "epidermis":
            raise ConfigError('simulation.geometry: the split-hand trial needs geometry = "epidermis"')
        life_h = (spec.age_max_years - spec.start_age_years) * HOURS_PER_YEAR
        hand_h = spec.visits_months[-1] * HOURS_PER_MONTH
        for age, hours, dosing, what in (
            (spec.start_age_years, life_h, None, "trial.age_max_years: ageing the skin from start_age_years"),
            (spec.age_max_years, hand_h, mapping.get("dosing"), "trial.visits_months: the hands to the last visit"),
        ):
            try:
                config_from_mapping(_hand_mapping(mapping, age, 1.0, hours, dosing))
            except ConfigError as error:
                raise ConfigError(f"{what}: {error}") from None
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


def _hand_mapping(mapping: dict, age: float, multiplier: float, hours: float, dosing: dict | None) -> dict:
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


def run_subject(mapping: dict, spec_table: dict, subject: int) -> dict:
    """Age one subject's skin, then follow both hands through the visits."""
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from geroconvert.core.engine import Simulation
    from geroconvert.core.kernels.rng import derive_seed

    spec = TrialSpec.from_table(spec_table)
    age, multiplier = subject_traits(spec, subject)
    seed = spec.seed + subject
    life_h = (age - spec.start_age_years) * HOURS_PER_YEAR
    young = config_from_mapping(_hand_mapping(mapping, spec.start_age_years, multiplier, life_h, None))
    life = Simulation(young, seed=seed, record=False)
    life.run()
    hands = {}
    visits_h = [m * HOURS_PER_MONTH for m in spec.visits_months]
    for name, dosing in (("treated", mapping.get("dosing", {})), ("placebo", None)):
        params = config_from_mapping(_hand_mapping(mapping, age, multiplier, visits_h[-1], dosing))
        # both hands: the same aged skin and the same random numbers (a new seed, so the
        # trial does not replay the draws of the subject's first months)
        hand = Simulation(params, seed=derive_seed(seed, 1), state=life.state.copy(), record=False)
        values: dict[str, list[float]] = {m: [] for m in MEASURES}
        for start, end in zip([0.0] + visits_h[:-1], visits_h):
            if end > start:
                hand.run(hours=end - start)
            counts, p16pos, _ = hand.tally()
            for measure, value in visit_measures(counts, p16pos).items():
                values[measure].append(value)
        hands[name] = values
    return {
        "subject": subject,
        "age_years": age,
        "damage_multiplier": multiplier,
        **{f"{hand}_{measure}": np.array(hands[hand][measure]) for hand in hands for measure in MEASURES},
    }


def visit_measures(counts, p16pos) -> dict[str, float]:
    """The trial's measures at one visit: p16-high fractions of all cells, epidermis, dermis."""
    from geroconvert.core import layout as L
    from geroconvert.core.readouts import EPIDERMAL_KINDS, p16_positive_fraction

    return {
        "p16_positive_fraction": p16_positive_fraction(counts, p16pos),
        "p16_positive_fraction_epidermis": p16_positive_fraction(counts, p16pos, EPIDERMAL_KINDS),
        "p16_positive_fraction_dermis": p16_positive_fraction(counts, p16pos, (L.FIBROBLAST,)),
    }


@dataclass
class PairedResult:
    mean: float
    ci: tuple[float, float]
    p_value: float
    sd: float
    n: int

    @classmethod
    def of(cls, differences) -> PairedResult:
        from scipy import stats

        d = np.asarray(differences, np.float64)
        n = d.size
        mean, sd = float(d.mean()), float(d.std(ddof=1)) if n > 1 else math.nan
        if n < 2 or sd == 0:
            return cls(mean, (mean, mean), 0.0 if sd == 0 and mean != 0 else 1.0, sd, n)
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        p = float(stats.ttest_1samp(d, 0.0).pvalue)
        return cls(mean, (mean - half, mean + half), p, sd, n)


def subjects_for_power(effect_mean: float, effect_sd: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """Smallest cohort for a two-sided paired t-test to reach ``power`` (noncentral t)."""
    from scipy import stats

    if not (effect_sd > 0) or effect_mean == 0:
        return math.inf if effect_mean == 0 else 2.0
    dz = abs(effect_mean) / effect_sd
    for n in range(2, 100_000):
        crit = stats.t.ppf(1 - alpha / 2, n - 1)
        nc = dz * math.sqrt(n)
        achieved = 1 - stats.nct.cdf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc)
        if achieved >= power:
            return float(n)
    return math.inf


@dataclass
class TrialResult:
    spec: TrialSpec
    subjects: list[dict]
    measure: str
    visits_months: np.ndarray
    treated: np.ndarray  # [subject, visit]
    placebo: np.ndarray
    final_difference: PairedResult  # treated - placebo at the last visit
    treated_change: PairedResult  # treated hand, last visit - first
    placebo_change: PairedResult  # placebo hand, last visit - first
    n_for_80_power: float = math.nan
    verdict: str = ""

    def summary_lines(self) -> list[str]:
        f, t, p = self.final_difference, self.treated_change, self.placebo_change
        last = self.visits_months[-1]
        pct = 100.0
        return [
            f"split-hand trial: {len(self.subjects)} subjects, ages {self.spec.age_min_years:g}-"
            f"{self.spec.age_max_years:g}, visits at months {', '.join(f'{v:g}' for v in self.visits_months)}",
            f"measure: {self.measure} (percent of cells)",
            f"mean treated hand by visit: {', '.join(f'{pct * v:.3f}' for v in self.treated.mean(0))}",
            f"mean placebo hand by visit: {', '.join(f'{pct * v:.3f}' for v in self.placebo.mean(0))}",
            f"month {last:g}, treated - placebo: {pct * f.mean:+.3f} points, 95% CI [{pct * f.ci[0]:+.3f}, "
            f"{pct * f.ci[1]:+.3f}], paired t-test p = {f.p_value:.3g}",
            f"subjects needed for 80% power (two-sided 5%): {self.n_for_80_power:g}",
            f"treated hand, month {last:g} - month 0: {pct * t.mean:+.3f} points, 95% CI [{pct * t.ci[0]:+.3f}, "
            f"{pct * t.ci[1]:+.3f}], p = {t.p_value:.3g}",
            f"placebo hand, month {last:g} - month 0: {pct * p.mean:+.3f} points, 95% CI [{pct * p.ci[0]:+.3f}, "
            f"{pct * p.ci[1]:+.3f}], p = {p.p_value:.3g}",
            f"verdict: {self.verdict}",
        ]


def analyse(spec: TrialSpec, subjects: list[dict], measure: str = "p16_positive_fraction") -> TrialResult:
    subjects = sorted(subjects, key=lambda s: s["subject"])
    treated = np.array([s[f"treated_{measure}"] for s in subjects])
    placebo = np.array([s[f"placebo_{measure}"] for s in subjects])
    result = TrialResult(
        spec,
        subjects,
        measure,
        np.array(spec.visits_months),
        treated,
        placebo,
        final_difference=PairedResult.of(treated[:, -1] - placebo[:, -1]),
        treated_change=PairedResult.of(treated[:, -1] - treated[:, 0]),
        placebo_change=PairedResult.of(placebo[:, -1] - placebo[:, 0]),
    )
    result.n_for_80_power = subjects_for_power(result.final_difference.mean, result.final_difference.sd)
    result.verdict = verdict(result)
    return result


def verdict(result: TrialResult) -> str:
    """Reversal, slowing, or no detectable effect (5% level)."""
    f, t = result.final_difference, result.treated_change
    lower = f.ci[1] < 0
    if lower and t.ci[1] < 0:
        return "reversal: the treated hand fell below its own baseline (and below placebo)"
    if lower:
        return (
            "slowing: the treated hand ended below placebo but not below its own baseline; "
            "the difference is ageing of the placebo hand"
        )
    return "no detectable effect at this cohort size"


def run_trial(mapping: dict, workers: int | None = None, progress=None, store=None) -> TrialResult:
    """Run every subject (in parallel processes) and analyse the cohort.

    ``store`` (a :class:`~geroconvert.studies.trial_store.SubjectStore`) keeps finished
    subjects on disk: those it already holds are not run again, and on a stop signal it
    is saved before the stop goes on (``Interrupted``, saying what is kept).
    """
    import os

    from geroconvert import interrupts
    from geroconvert.studies.executors import in_processes

    spec = TrialSpec.for_mapping(mapping)  # every value checked before the first subject
    workers = workers or os.cpu_count() or 1
    base = {k: v for k, v in mapping.items() if k != "sweep"}
    done = dict(store.subjects) if store is not None else {}
    jobs = [(s, (base, mapping.get("trial") or {}, s)) for s in range(spec.subjects) if s not in done]
    subjects = list(done.values())
    source = in_processes(run_subject, jobs, max(1, min(workers, len(jobs))))
    try:
        with contextlib.closing(source):  # ends the workers even if the traceback lives on
            for s, outcome in source:
                if isinstance(outcome, BaseException):
                    raise RuntimeError(f"trial subject {s} failed: {outcome}")
                subjects.append(outcome)
                if store is not None:
                    store.add(outcome)
                if progress:
                    progress(len(subjects), spec.subjects)
    except BaseException:  # a stop or a failed subject: keep the finished ones
        if store is None:
            raise
        store.save()  # notes what it keeps, for the stop's message
        raise
    if store is not None:
        store.save()
        interrupts.note_kept(f"{store.path} holds every subject of the trial")
    return analyse(spec, subjects)


def plot(result: TrialResult, path_without_suffix) -> list:
    """Per-hand p16+ fraction by visit (mean and subjects) and the paired differences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geroconvert.analysis.plotting import save

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    months = result.visits_months
    for hand, values, colour in (
        ("placebo", result.placebo, "tab:grey"),
        ("rapamycin cream", result.treated, "tab:blue"),
    ):
        for row in values:
            left.plot(months, 100 * row, color=colour, alpha=0.2, lw=0.8)
        left.plot(months, 100 * values.mean(0), color=colour, lw=2.5, marker="o", label=f"{hand} (mean)")
    left.set_xlabel("months of treatment")
    left.set_ylabel("p16+ cells (% of skin cells)")
    left.set_title("p16+ fraction per hand")
    left.legend(frameon=False)
    diff = 100 * (result.treated - result.placebo)
    right.axhline(0, color="k", lw=0.8)
    for row in diff:
        right.plot(months, row, color="tab:blue", alpha=0.25, lw=0.8)
    right.plot(months, diff.mean(0), color="tab:blue", lw=2.5, marker="o", label="mean")
    f = result.final_difference
    right.errorbar(
        [months[-1]],
        [100 * f.mean],
        yerr=[[100 * (f.mean - f.ci[0])], [100 * (f.ci[1] - f.mean)]],
        color="k",
        capsize=4,
        label=f"95% CI, p = {f.p_value:.2g}",
    )
    right.set_xlabel("months of treatment")
    right.set_ylabel("treated - placebo (percentage points)")
    right.set_title("paired difference")
    right.legend(frameon=False)
    paths = save(fig, path_without_suffix)
    plt.close(fig)
    return paths
