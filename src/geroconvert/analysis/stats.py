"""Numbers from results: t50, RPP bands, paired slowdown factors, Hill/EC50 fits.

Pure functions on arrays (NumPy/SciPy, no I/O).  Units: times in hours (``_h``),
concentrations in nM (``_nM``), RPP and other fractions in 0-1, slowdown factors
dimensionless (t50 treated / t50 control).

Statistical choices, in one place:

* **t50** is the first time the RPP curve falls to ``level`` (linear interpolation).
  A curve that never falls that low within the measured times is *right-censored*:
  its t50 is NaN and the last measured time is a lower bound.
* **Intervals over replicates** are percentile bootstraps that resample whole
  replicates (a replicate = one seed, shared by every grid point), so the pairing
  by common random numbers is kept inside each resample.  With very few replicates
  (2 or 3) a bootstrap has only a handful of distinct resamples: the interval is
  then crude and is best read as "the spread of the replicates".
* **Slowdown** at a dose is the *geometric mean of the per-replicate ratios*
  t50(treated, seed r) / t50(control, seed r).  Ratios are averaged on the log
  scale because they are ratios (a 2-fold and a 0.5-fold change cancel), and
  pairing by seed removes most of the between-seed noise.
* **Hill fit**: slowdown(C) = 1 + (Smax - 1) C^h / (C^h + EC50^h), least squares
  (``scipy.optimize.curve_fit``) in the parameters (log10 EC50, Smax, h) with
  bounds.  Censored responses are lower bounds: they enter the fit only when the
  curve would pass below them (one-sided residual, solved by an active set).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from geroconvert.core.readouts import censor_time, summarise, t50  # noqa: F401 - analysis works on them too


def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=-2)


def _percentiles(values: np.ndarray, coverage: float) -> tuple[float, float]:
    """Equal-tailed percentile interval; values may hold +inf (censored), never interpolated across."""
    values = np.asarray(values, np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1.0 - coverage) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail], method="inverted_cdf")
    return float(low), float(high)


def _resamples(n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """[n_boot, n_items] indices drawn with replacement (numpy Generator, fixed seed)."""
    return np.random.default_rng(seed).integers(0, n_items, size=(n_boot, n_items))


# ---------------------------------------------------------------------------------
# t50 with a bootstrap interval; RPP bands


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


def t50_interval(time_h, rpp_runs, n_boot: int = 2000, seed: int = 0, level: float = 0.5,
                 coverage: float = 0.95) -> T50Interval:
    """t50 (h) of the mean of ``rpp_runs`` [replicates, times] with a bootstrap over replicates.

    Each bootstrap sample draws replicates with replacement, averages their curves
    (NaN-aware) and takes the t50 of that mean; censored samples count as +inf, so a
    percentile above them is +inf.  ``coverage`` is the interval's nominal coverage.
    """
    t = np.asarray(time_h, np.float64)
    runs = np.atleast_2d(np.asarray(rpp_runs, np.float64))
    n_rep = runs.shape[0]
    mean = _nanmean_rows(runs)
    estimate = t50(t, mean, level)
    last = censor_time(t, mean)
    censored = bool(math.isnan(estimate) and not math.isnan(last))
    if n_rep < 2 or n_boot <= 0:
        return T50Interval(estimate, math.nan, math.nan, censored, last if censored else math.nan, n_rep, 0,
                           math.nan, level, coverage)
    boot = np.empty(n_boot)
    for b, idx in enumerate(_resamples(n_rep, n_boot, seed)):
        curve = _nanmean_rows(runs[idx])
        value = t50(t, curve, level)
        if math.isnan(value) and not math.isnan(censor_time(t, curve)):
            value = math.inf
        boot[b] = value
    low, high = _percentiles(boot, coverage)
    return T50Interval(estimate, low, high, censored, last if censored else math.nan, n_rep, n_boot,
                       float(np.mean(np.isinf(boot))), level, coverage)


def rpp_band(rpp_runs, coverage: float = 0.95, clip: tuple[float, float] | None = (0.0, 1.0)) -> dict:
    """Mean RPP per time point and a t-based interval for that mean, across replicates.

    ``rpp_runs`` is [replicates, times].  The interval is mean +- t(1-alpha/2, n-1) *
    sd / sqrt(n) with n the number of finite replicates at that time (an interval for
    the *mean curve*, not the spread of single runs), clipped to ``clip`` (RPP is a
    fraction).  NaN where fewer than 2 replicates are finite.  Returns
    ``{"mean", "low", "high", "sd", "n"}``, each an array over times.
    """
    from scipy import stats

    runs = np.atleast_2d(np.asarray(rpp_runs, np.float64))
    n = np.sum(np.isfinite(runs), axis=0)
    mean = _nanmean_rows(runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.where(n >= 2, np.nanstd(runs, axis=0, ddof=1), np.nan)
        half = stats.t.ppf(0.5 + coverage / 2.0, np.maximum(n - 1, 1)) * sd / np.sqrt(np.maximum(n, 1))
    low, high = mean - half, mean + half
    if clip is not None:
        low, high = np.clip(low, *clip), np.clip(high, *clip)
    return {"mean": mean, "low": low, "high": high, "sd": sd, "n": n}


# ---------------------------------------------------------------------------------
# paired slowdown


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


def paired_slowdown(t50_treated, t50_control, n_boot: int = 2000, seed: int = 0, censor_time_h=None,
                    coverage: float = 0.95) -> PairedSlowdown:
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
    bound = np.broadcast_to(np.asarray(np.nan if censor_time_h is None else censor_time_h, np.float64),
                            treated.shape)
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
        boot = np.exp(logs[_resamples(ratios.size, n_boot, seed)].mean(axis=1))
        low, high = _percentiles(boot, coverage)
    return PairedSlowdown(ratio, lower, low, high, ratios, cens, n_cens, int(ratios.size),
                          int(treated.size - ratios.size), coverage)


# ---------------------------------------------------------------------------------
# Hill fit


def hill_slowdown(dose_nM, log10_ec50: float, smax: float, hill: float) -> np.ndarray:
    """slowdown(C) = 1 + (Smax - 1) * C^h / (C^h + EC50^h), C in nM; exactly 1 at C = 0."""
    from scipy.special import expit

    c = np.asarray(dose_nM, np.float64)
    with np.errstate(divide="ignore"):
        frac = expit(hill * math.log(10.0) * (np.log10(c) - log10_ec50))
    return 1.0 + (smax - 1.0) * frac


@dataclass(frozen=True)
class HillFit:
    """Fitted Hill curve of slowdown vs dose; intervals at ``coverage``.

    ``interval_method`` is "bootstrap" (replicates resampled, percentile) or
    "covariance" (t-based, from the fit's covariance; EC50 interval from log10 EC50).
    ``converged`` is False when the fit failed, had too few doses, ended with a
    parameter on a bound, or put EC50 more than a decade outside the tested doses
    (see ``message``); the numbers are then not to be trusted.
    """

    ec50_nM: float
    ec50_ci: tuple[float, float]
    smax: float
    smax_ci: tuple[float, float]
    hill: float
    hill_ci: tuple[float, float]
    converged: bool
    message: str
    n_points: int
    n_censored: int
    interval_method: str
    n_boot_ok: int
    coverage: float
    bounds: dict = field(default_factory=dict)

    def predict(self, dose_nM) -> np.ndarray:
        """Fitted slowdown at ``dose_nM`` (nM); NaN when the fit failed."""
        if not np.isfinite([self.ec50_nM, self.smax, self.hill]).all():
            return np.full(np.shape(dose_nM), np.nan)
        return hill_slowdown(dose_nM, math.log10(self.ec50_nM), self.smax, self.hill)


def _hill_bounds(dose: np.ndarray, y: np.ndarray, bounds: dict | None) -> dict:
    d = dose[dose > 0]
    out = {"log10_ec50": (math.log10(d.min()) - 3.0, math.log10(d.max()) + 3.0),
           "smax": (1.0, max(10.0 * float(np.nanmax(y)), 10.0)), "hill": (0.1, 10.0)}
    out.update(bounds or {})
    return out


def _hill_start(dose: np.ndarray, y: np.ndarray, b: dict) -> np.ndarray:
    levels = np.unique(dose)
    means = np.array([np.mean(y[dose == c]) for c in levels])
    smax = float(np.clip(1.05 * means.max(), b["smax"][0] + 1e-3, b["smax"][1] - 1e-3))
    half = 1.0 + (smax - 1.0) / 2.0
    above = np.flatnonzero(means >= half)
    if above.size == 0 or above[0] == 0:
        log_ec50 = float(np.log10(levels[above[0]] if above.size else levels[-1]))
    else:
        log_ec50 = float(np.mean(np.log10(levels[above[0] - 1: above[0] + 1])))
    log_ec50 = float(np.clip(log_ec50, b["log10_ec50"][0] + 1e-3, b["log10_ec50"][1] - 1e-3))
    return np.array([log_ec50, smax, float(np.clip(1.0, *b["hill"]))])


def _fit_once(dose, y, cens, b, max_rounds: int = 20):
    """Least squares with one-sided residuals for censored points, by an active set of curve_fit calls.

    Returns (params, covariance, n_used, message); params None on failure.
    """
    from scipy.optimize import curve_fit

    lo = [b["log10_ec50"][0], b["smax"][0], b["hill"][0]]
    hi = [b["log10_ec50"][1], b["smax"][1], b["hill"][1]]
    p = _hill_start(dose, y, b)
    active = np.zeros(dose.size, bool)
    for _ in range(max_rounds):
        use = ~cens | active
        if np.unique(dose[use]).size < 3:
            return None, None, int(use.sum()), "fewer than 3 doses with usable responses"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, cov = curve_fit(hill_slowdown, dose[use], y[use], p0=p, bounds=(lo, hi), maxfev=20000)
        except (RuntimeError, ValueError, TypeError) as exc:
            return None, None, int(use.sum()), f"curve_fit failed: {exc}"
        new_active = cens & (hill_slowdown(dose, *p) < y - 1e-9 * np.abs(y))
        if np.array_equal(new_active, active):
            return p, cov, int(use.sum()), "ok"
        active = new_active
    return p, cov, int((~cens | active).sum()), "ok (active set did not settle)"


def _on_bound(p: np.ndarray, b: dict) -> list[str]:
    names = ("log10_ec50", "smax", "hill")
    out = []
    for name, value in zip(names, p):
        low, high = b[name]
        if abs(value - low) <= 1e-6 * max(1.0, abs(low)) or abs(value - high) <= 1e-6 * max(1.0, abs(high)):
            out.append(name)
    return out


def fit_hill(dose_nM, response, censored=None, n_boot: int = 500, seed: int = 0, coverage: float = 0.95,
             bounds: dict | None = None) -> HillFit:
    """Fit slowdown(C) = 1 + (Smax - 1) C^h / (C^h + EC50^h) to slowdown factors.

    ``dose_nM`` [doses] (nM); ``response`` [doses] (one value per dose, e.g. means)
    or [replicates, doses] (per-replicate factors; all replicates are fitted pooled).
    ``censored`` (same shape, bool) marks responses that are lower bounds.  Dose 0 is
    the control: the model is 1 there whatever the parameters, so dose-0 points are
    left out of the fit.  NaN responses are ignored.  Intervals: bootstrap over
    replicates (``n_boot`` refits, percentile) when 2-D with >= 2 replicates, else
    t-based from the covariance of the fit.  ``bounds`` overrides the parameter
    bounds ``{"log10_ec50": (lo, hi), "smax": (lo, hi), "hill": (lo, hi)}``
    (defaults: 3 decades beyond the dose range, 1 to 10x the largest response, 0.1 to 10).
    """
    from scipy import stats

    dose = np.asarray(dose_nM, np.float64).ravel()
    resp = np.asarray(response, np.float64)
    per_replicate = resp.ndim == 2
    resp2 = resp if per_replicate else resp[None, :]
    if resp2.shape[1] != dose.size:
        raise ValueError(f"fit_hill: {dose.size} doses but response has shape {resp.shape}")
    cens2 = np.zeros(resp2.shape, bool) if censored is None else np.asarray(censored, bool).reshape(resp2.shape)
    positive = dose > 0

    def pooled(rows: np.ndarray):
        x = np.broadcast_to(dose, resp2.shape)[rows][:, positive].ravel()
        y = resp2[rows][:, positive].ravel()
        c = cens2[rows][:, positive].ravel()
        ok = np.isfinite(y) & np.isfinite(x)
        return x[ok], y[ok], c[ok]

    def nan_fit(message: str, n_points=0, n_cens=0, b=None) -> HillFit:
        nan2 = (math.nan, math.nan)
        return HillFit(math.nan, nan2, math.nan, nan2, math.nan, nan2, False, message, n_points, n_cens,
                       "none", 0, coverage, b or {})

    all_rows = np.arange(resp2.shape[0])
    x, y, c = pooled(all_rows)
    n_observed = np.unique(x[~c]).size
    if n_observed < 3:
        return nan_fit(f"need at least 3 positive doses with an uncensored response, have {n_observed};"
                       " extend the run past the t50 of the higher doses", x.size, int(c.sum()))
    b = _hill_bounds(x, y, bounds)
    p, cov, n_used, message = _fit_once(x, y, c, b)
    if p is None:
        return nan_fit(message, x.size, int(c.sum()), b)
    converged = True
    stuck = _on_bound(p, b)
    tested = x[x > 0]
    if stuck:
        converged, message = False, f"parameter on its bound: {', '.join(stuck)}"
    elif not tested.min() / 10.0 <= 10.0 ** p[0] <= 10.0 * tested.max():
        converged, message = False, "EC50 more than a decade outside the tested doses (not identifiable)"
    ci = [(math.nan, math.nan)] * 3
    n_ok = 0
    if per_replicate and resp2.shape[0] >= 2 and n_boot > 0:
        method = "bootstrap"
        cache: dict[tuple, np.ndarray | None] = {}
        fits = []
        for rows in _resamples(resp2.shape[0], n_boot, seed):
            key = tuple(np.sort(rows))
            if key not in cache:
                bx, by, bc = pooled(np.asarray(key))
                cache[key] = _fit_once(bx, by, bc, b)[0] if np.unique(bx[~bc]).size >= 3 else None
            if cache[key] is not None:
                fits.append(cache[key])
        n_ok = len(fits)
        if fits:
            arr = np.array(fits)
            ci = [_percentiles(arr[:, k], coverage) for k in range(3)]
    else:
        method = "covariance"
        dof = n_used - 3
        if dof > 0 and np.all(np.isfinite(cov)):
            se = np.sqrt(np.diag(cov))
            q = stats.t.ppf(0.5 + coverage / 2.0, dof)
            ci = [(float(p[k] - q * se[k]), float(p[k] + q * se[k])) for k in range(3)]
    with np.errstate(over="ignore"):
        ec50_ci = tuple(float(v) for v in np.power(10.0, np.asarray(ci[0], np.float64)))
    return HillFit(float(10.0 ** p[0]), ec50_ci, float(p[1]), tuple(map(float, ci[1])), float(p[2]),
                   tuple(map(float, ci[2])), converged, message, int(x.size), int(c.sum()), method, n_ok,
                   coverage, b)


# ---------------------------------------------------------------------------------
# from a sweep: dose response and hypertrophy


@dataclass(frozen=True)
class DoseResponse:
    """Dose response of one sweep (or one slice of it, ``where``).

    Arrays are indexed [dose, replicate] with doses ascending (nM) and replicate ids
    ascending; a missing run is NaN.  ``t50_h`` is each run's t50 (NaN if censored or
    missing); ``censored`` marks censored runs, whose lower bound is
    ``censor_time_h``.  ``t50_curve[i]`` is the t50 of the replicate-mean curve at
    dose i with its bootstrap interval; ``slowdown[i]`` the paired slowdown vs dose 0
    (None without a dose-0 control); ``hill`` the Hill fit to the per-replicate
    slowdown factors.
    """

    dose_path: str
    where: dict
    doses_nM: np.ndarray
    replicates: np.ndarray
    t50_h: np.ndarray
    censored: np.ndarray
    censor_time_h: np.ndarray
    t50_curve: list
    slowdown: list
    hill: HillFit
    has_control: bool

    def slowdown_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-replicate slowdown factors [replicate, dose] (lower bounds where censored) and the censored mask."""
        ratio = np.full((self.replicates.size, self.doses_nM.size), np.nan)
        cens = np.zeros(ratio.shape, bool)
        if not self.has_control:
            return ratio, cens
        control = self.t50_h[self._control_index()]
        for i in range(self.doses_nM.size):
            ok = np.isfinite(control) & (control > 0)
            value = np.where(self.censored[i], self.censor_time_h[i], self.t50_h[i])
            ratio[:, i] = np.where(ok, value / np.where(ok, control, 1.0), np.nan)
            cens[:, i] = ok & self.censored[i]
        return ratio, cens

    def _control_index(self) -> int:
        return int(np.flatnonzero(self.doses_nM == 0)[0])

    def rows(self) -> list[dict]:
        """One plain dict per dose (for tables and JSON)."""
        out = []
        for i, dose in enumerate(self.doses_nM):
            curve, slow = self.t50_curve[i], self.slowdown[i]
            out.append({"dose_nM": float(dose), "n_replicates": int(np.isfinite(self.censor_time_h[i]).sum()),
                        "t50_h": curve.estimate_h, "t50_ci_h": (curve.ci_low_h, curve.ci_high_h),
                        "t50_censored": curve.censored, "t50_lower_bound_h": curve.lower_bound_h,
                        "slowdown": slow.ratio if slow else math.nan,
                        "slowdown_lower_bound": slow.lower_bound if slow else math.nan,
                        "slowdown_ci": (slow.ci_low, slow.ci_high) if slow else (math.nan, math.nan),
                        "slowdown_n_censored": slow.n_censored if slow else 0,
                        "hill_fitted_slowdown": float(self.hill.predict(float(dose))) if dose > 0 else 1.0})
        return out


def _select(sweep, where: dict | None, exclude: str) -> np.ndarray:
    """Indices of runs matching ``where`` on every swept path other than ``exclude``."""
    where = dict(where or {})
    mask = np.ones(sweep.n_runs, bool)
    for path, values in sweep.swept.items():
        if path == exclude:
            continue
        if path in where:
            mask &= values == where[path]
        elif np.unique(values).size > 1:
            raise ValueError(f"the sweep also varies {path!r}: pass where={{{path!r}: value}} to pick a slice")
    return np.flatnonzero(mask)


def dose_response(sweep, dose_path: str = "environment.rapamycin_nM", where: dict | None = None,
                  level: float = 0.5, n_boot: int = 2000, hill_boot: int = 500, seed: int = 0,
                  coverage: float = 0.95) -> DoseResponse:
    """t50 per run, paired slowdown vs dose 0 per replicate, and the Hill fit, from a SweepData.

    ``dose_path`` is the swept config path holding the dose in nM.  When the sweep
    varies other paths too, ``where`` picks one value of each.  Runs are paired with
    the dose-0 run of the same replicate (same seed).  ``n_boot`` is the bootstrap
    size of the t50 and slowdown intervals, ``hill_boot`` that of the Hill fit.
    """
    if dose_path not in sweep.swept:
        raise ValueError(f"{dose_path!r} is not swept; swept paths: {sorted(sweep.swept)}")
    runs = _select(sweep, where, dose_path)
    dose_of = np.asarray(sweep.swept[dose_path], np.float64)
    doses = np.unique(dose_of[runs])
    replicates = np.unique(sweep.replicate[runs])
    shape = (doses.size, replicates.size)
    t50_h, bound = np.full(shape, np.nan), np.full(shape, np.nan)
    curves = np.full(shape + (sweep.rpp_time_h.size,), np.nan)
    for r in runs:
        i, j = np.searchsorted(doses, dose_of[r]), np.searchsorted(replicates, sweep.replicate[r])
        curves[i, j] = sweep.rpp[r]
        t50_h[i, j] = t50(sweep.rpp_time_h, sweep.rpp[r], level)
        bound[i, j] = censor_time(sweep.rpp_time_h, sweep.rpp[r])
    censored = np.isnan(t50_h) & np.isfinite(bound)
    t50_curve = [t50_interval(sweep.rpp_time_h, curves[i][np.isfinite(bound[i])], n_boot, seed, level, coverage)
                 for i in range(doses.size)]
    has_control = bool(np.any(doses == 0))
    slowdown: list = [None] * doses.size
    if has_control:
        c = int(np.flatnonzero(doses == 0)[0])
        for i in range(doses.size):
            present = np.isfinite(bound[i]) & np.isfinite(bound[c])
            slowdown[i] = paired_slowdown(t50_h[i][present], t50_h[c][present], n_boot, seed,
                                          censor_time_h=bound[i][present], coverage=coverage)
    result = DoseResponse(dose_path, dict(where or {}), doses, replicates, t50_h, censored, bound, t50_curve,
                          slowdown, HillFit(math.nan, (math.nan,) * 2, math.nan, (math.nan,) * 2, math.nan,
                                            (math.nan,) * 2, False, "no dose-0 control", 0, 0, "none", 0,
                                            coverage), has_control)
    if has_control:
        ratio, cens = result.slowdown_matrix()
        hill = fit_hill(doses, ratio, censored=cens, n_boot=hill_boot, seed=seed, coverage=coverage)
        result = replace(result, hill=hill)
    return result


def _interp_runs(time_h: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row at times ``at``; NaN outside the recorded range."""
    out = np.full((values.shape[0], at.size), np.nan)
    if time_h.size == 0:
        return out
    inside = (at >= time_h[0] - 1e-9) & (at <= time_h[-1] + 1e-9)
    for r in range(values.shape[0]):
        out[r, inside] = np.interp(at[inside], time_h, values[r])
    return out


def hypertrophy(sweep, times_h=None, series: str = "mean_mass", coverage: float = 0.95) -> dict:
    """Mean cell mass (newborn masses) at chosen times per grid point, next to RPP.

    ``times_h`` defaults to the RPP assay times (or the first and last record times
    without assays).  For each grid point (``sweep.grid_points()`` order): replicate
    mean of the series at each time (interpolated between records) with a t-based
    interval (``rpp_band``, unclipped), the fold change against the first record
    time, and the replicate-mean RPP at the same times (NaN where not assayed).
    Returns a dict of arrays indexed [point, time] plus ``points`` and ``times_h``.
    """
    if series not in sweep.series:
        raise ValueError(f"series {series!r} not recorded; have {sorted(sweep.series)}")
    st = np.asarray(sweep.series_time_h, np.float64)
    if times_h is None:
        times_h = sweep.rpp_time_h if sweep.rpp_time_h.size else st[[0, -1]]
    at = np.asarray(times_h, np.float64)
    points = sweep.grid_points()
    out = {name: np.full((len(points), at.size), np.nan)
           for name in ("mass_mean", "mass_low", "mass_high", "fold_change", "rpp_mean")}
    for k, point in enumerate(points):
        idx = sweep.runs_at(point)
        values = np.asarray(sweep.series[series][idx], np.float64)
        band = rpp_band(_interp_runs(st, values, at), coverage, clip=None)
        out["mass_mean"][k], out["mass_low"][k], out["mass_high"][k] = band["mean"], band["low"], band["high"]
        out["fold_change"][k] = band["mean"] / np.mean(values[:, 0])
        if sweep.rpp_time_h.size:
            rpp_at = np.full((idx.size, at.size), np.nan)
            for j, t in enumerate(at):
                hit = np.flatnonzero(np.abs(sweep.rpp_time_h - t) < 1e-6)
                if hit.size:
                    rpp_at[:, j] = sweep.rpp[idx, hit[0]]
            out["rpp_mean"][k] = _nanmean_rows(rpp_at)
    return {"points": points, "paths": sorted(sweep.swept), "times_h": at, "series": series, **out}
