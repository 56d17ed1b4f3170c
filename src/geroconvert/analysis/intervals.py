"""Intervals over replicates: t50 with a bootstrap interval, RPP bands, paired slowdown factors.

The bootstrap helpers shared by every interval of :mod:`geroconvert.analysis` live here
too (:func:`resample_indices`, :func:`percentile_interval`, :func:`nanmean_rows`); the
statistical choices are set out in :mod:`geroconvert.analysis.stats`.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from geroconvert.core.readouts import censor_time, t50


def nanmean_rows(a: np.ndarray) -> np.ndarray:
    """The mean over replicates (axis -2), ignoring NaN, without warnings for all-NaN columns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=-2)


def percentile_interval(values: np.ndarray, coverage: float) -> tuple[float, float]:
    """Equal-tailed percentile interval; values may hold +inf (censored), never interpolated across."""
    values = np.asarray(values, np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1.0 - coverage) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail], method="inverted_cdf")
    return float(low), float(high)


def resample_indices(n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """[n_boot, n_items] indices drawn with replacement (numpy Generator, fixed seed)."""
    return np.random.default_rng(seed).integers(0, n_items, size=(n_boot, n_items))


@dataclass(frozen=True)
class T50Interval:
    """t50 (h) of the replicate-mean RPP curve with a bootstrap percentile interval.

    ``estimate_h`` is NaN when the mean curve is censored (never reaches ``level``);
    then ``censored`` is True and ``lower_bound_h`` is the last measured time.
    ``ci_high_h`` is +inf when more than the upper tail of bootstrap curves are
    censored (the interval is open above the measured range).  The interval is NaN
    with fewer than 2 replicates.
    """

    estimate_h: float
    ci_low_h: float
    ci_high_h: float
    censored: bool
    lower_bound_h: float
    n_replicates: int
    n_boot: int
    frac_boot_censored: float
    level: float
    coverage: float


def t50_interval(
    time_h, rpp_runs, n_boot: int = 2000, seed: int = 0, level: float = 0.5, coverage: float = 0.95
) -> T50Interval:
    """t50 (h) of the mean of ``rpp_runs`` [replicates, times] with a bootstrap over replicates.

    Each bootstrap sample draws replicates with replacement, averages their curves
    (NaN-aware) and takes the t50 of that mean; censored samples count as +inf, so a
    percentile above them is +inf.  ``coverage`` is the interval's nominal coverage.
    """
    t = np.asarray(time_h, np.float64)
    runs = np.atleast_2d(np.asarray(rpp_runs, np.float64))
    n_rep = runs.shape[0]
    mean = nanmean_rows(runs)
    estimate = t50(t, mean, level)
    last = censor_time(t, mean)
    censored = bool(math.isnan(estimate) and not math.isnan(last))
    if n_rep < 2 or n_boot <= 0:
        return T50Interval(
            estimate, math.nan, math.nan, censored, last if censored else math.nan, n_rep, 0, math.nan, level, coverage
        )
    boot = np.empty(n_boot)
    for b, idx in enumerate(resample_indices(n_rep, n_boot, seed)):
        curve = nanmean_rows(runs[idx])
        value = t50(t, curve, level)
        if math.isnan(value) and not math.isnan(censor_time(t, curve)):
            value = math.inf
        boot[b] = value
    low, high = percentile_interval(boot, coverage)
    return T50Interval(
        estimate,
        low,
        high,
        censored,
        last if censored else math.nan,
        n_rep,
        n_boot,
        float(np.mean(np.isinf(boot))),
        level,
        coverage,
    )


@functools.lru_cache(maxsize=1024)
def t_quantile(q: float, df: int) -> float:
    """Student's t quantile, remembered: a report asks for the same few thousands of times."""
    from scipy import stats

    return float(stats.t.ppf(q, df))


def rpp_band(rpp_runs, coverage: float = 0.95, clip: tuple[float, float] | None = (0.0, 1.0)) -> dict:
    """Mean RPP per time point and a t-based interval for that mean, across replicates.

    ``rpp_runs`` is [replicates, times].  The interval is mean +- t(1-alpha/2, n-1) *
    sd / sqrt(n) with n the number of finite replicates at that time (an interval for
    the *mean curve*, not the spread of single runs), clipped to ``clip`` (RPP is a
    fraction).  NaN where fewer than 2 replicates are finite.  Returns
    ``{"mean", "low", "high", "sd", "n"}``, each an array over times.
    """
    runs = np.atleast_2d(np.asarray(rpp_runs, np.float64))
    n = np.sum(np.isfinite(runs), axis=0)
    mean = nanmean_rows(runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.where(n >= 2, np.nanstd(runs, axis=0, ddof=1), np.nan)
        quantile = np.array([t_quantile(0.5 + coverage / 2.0, int(df)) for df in np.maximum(n - 1, 1)])
        half = quantile.reshape(n.shape) * sd / np.sqrt(np.maximum(n, 1))
    low, high = mean - half, mean + half
    if clip is not None:
        low, high = np.clip(low, *clip), np.clip(high, *clip)
    return {"mean": mean, "low": low, "high": high, "sd": sd, "n": n}


@dataclass(frozen=True)
class PairedSlowdown:
    """Slowdown factor t50(treated)/t50(control), paired by replicate (same seed).

    ``ratio`` is the geometric mean of the per-replicate ratios, NaN when any treated
    replicate is censored; ``lower_bound`` is the same mean with censored ratios at
    their lower bound (censor time / control t50), so it equals ``ratio`` when none
    is censored.  ``ci_low``/``ci_high`` are the bootstrap percentile interval over
    replicates of that statistic (of the lower bound when some are censored).
    ``per_replicate`` holds the ratios (lower bounds where ``censored``); pairs with
    a missing or censored control are dropped and counted in ``n_dropped``.
    """

    ratio: float
    lower_bound: float
    ci_low: float
    ci_high: float
    per_replicate: np.ndarray
    censored: np.ndarray
    n_censored: int
    n_pairs: int
    n_dropped: int
    coverage: float


def paired_slowdown(
    t50_treated, t50_control, n_boot: int = 2000, seed: int = 0, censor_time_h=None, coverage: float = 0.95
) -> PairedSlowdown:
    """Slowdown of treated vs control t50 (h), paired by replicate index.

    ``t50_treated[r]`` and ``t50_control[r]`` come from runs that share seed r.  A
    NaN treated t50 is censored; ``censor_time_h`` (scalar or per replicate, h) is
    its lower bound (the last measured time).  Without it, censored ratios have no
    bound and ``lower_bound`` is NaN.  Identical arms give exactly 1.
    """
    treated = np.asarray(t50_treated, np.float64).ravel()
    control = np.asarray(t50_control, np.float64).ravel()
    if treated.shape != control.shape:
        raise ValueError(f"paired_slowdown: {treated.size} treated vs {control.size} control replicates")
    bound = np.broadcast_to(np.asarray(np.nan if censor_time_h is None else censor_time_h, np.float64), treated.shape)
    keep = np.isfinite(control) & (control > 0)
    cens = keep & ~np.isfinite(treated)
    ratios = np.where(cens, bound / np.where(keep, control, 1.0), treated / np.where(keep, control, 1.0))[keep]
    cens = cens[keep]
    n_cens = int(cens.sum())

    def stat(values: np.ndarray) -> float:
        return float(np.exp(np.mean(np.log(values)))) if values.size else math.nan

    lower = stat(ratios)
    ratio = lower if n_cens == 0 else math.nan
    low = high = math.nan
    if ratios.size >= 2 and n_boot > 0 and np.all(np.isfinite(ratios)):
        logs = np.log(ratios)
        boot = np.exp(logs[resample_indices(ratios.size, n_boot, seed)].mean(axis=1))
        low, high = percentile_interval(boot, coverage)
    return PairedSlowdown(
        ratio, lower, low, high, ratios, cens, n_cens, int(ratios.size), int(treated.size - ratios.size), coverage
    )
