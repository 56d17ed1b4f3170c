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
import math
from dataclasses import dataclass

import numpy as np

from geroconvert.config import config_from_mapping
from geroconvert.config.trial_section import (  # noqa: F401 - the section's names, offered here too
    MAX_TRIAL_SUBJECTS,
    MEASURES,
    TRIAL_KEYS,
    TRIAL_QUANTITIES,
    TrialSpec,
    hand_mapping,
    subject_traits,
    trial_output,
)
from geroconvert.units import HOURS_PER_MONTH, HOURS_PER_YEAR


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
    young = config_from_mapping(hand_mapping(mapping, spec.start_age_years, multiplier, life_h, None))
    life = Simulation(young, seed=seed, record=False)
    life.run()
    hands = {}
    visits_h = [m * HOURS_PER_MONTH for m in spec.visits_months]
    for name, dosing in (("treated", mapping.get("dosing", {})), ("placebo", None)):
        params = config_from_mapping(hand_mapping(mapping, age, multiplier, visits_h[-1], dosing))
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


def subject_task(mapping: dict, overrides: dict, seed: int, threads: int = 1):
    """One subject of the trial in ``mapping`` with ``overrides`` applied, as a run that the sweep
    machinery archives (:class:`~geroconvert.core.recorder.Results`): a sensitivity study whose
    outputs are the trial's runs it once per design point and subject.

    The trial's own rule names the subject: subject s runs with seed ``trial.seed + s``.  Its
    series are both hands at each visit; its summary the subject's traits and, per measure,
    the quantities :data:`TRIAL_QUANTITIES` (fractions of cells).
    """
    import time

    from geroconvert.config import with_values
    from geroconvert.core.recorder import Results
    from geroconvert.studies.executors import use_threads

    use_threads(threads)
    start = time.perf_counter()
    point = with_values(mapping, overrides)
    spec = TrialSpec.from_table(point.get("trial"))
    subject = seed - spec.seed
    if not 0 <= subject < spec.subjects:
        last = spec.seed + spec.subjects - 1
        raise ValueError(f"seed {seed}: not a subject of this trial (its seeds are {spec.seed} to {last})")
    outcome = run_subject(point, point.get("trial") or {}, subject)
    visits_h = np.array(spec.visits_months) * HOURS_PER_MONTH
    series = {f"{hand}_{m}": outcome[f"{hand}_{m}"] for hand in ("treated", "placebo") for m in MEASURES}
    summary = {"age_years": outcome["age_years"], "damage_multiplier": outcome["damage_multiplier"]}
    for measure in MEASURES:
        summary.update(subject_outputs(outcome[f"treated_{measure}"], outcome[f"placebo_{measure}"], measure))
    summary["wall_s"] = time.perf_counter() - start
    return Results(timeseries={"time_h": visits_h, **series}, units={}, rpp={}, summary=summary)


def subject_outputs(treated, placebo, measure: str) -> dict[str, float]:
    """One subject's :data:`TRIAL_QUANTITIES` of one measure, from each hand's values by visit."""
    values = {
        "difference": treated[-1] - placebo[-1],
        "treated_change": treated[-1] - treated[0],
        "placebo_change": placebo[-1] - placebo[0],
        "baseline": treated[0],
    }
    return {trial_output(q, measure): float(values[q]) for q in TRIAL_QUANTITIES}


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
