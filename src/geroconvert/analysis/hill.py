"""The Hill fit of slowdown factors against dose: EC50, Smax and the Hill coefficient with intervals.

slowdown(C) = 1 + (Smax - 1) C^h / (C^h + EC50^h), fitted by least squares in
(log10 EC50, Smax, h) with bounds; censored responses are lower bounds that enter the
fit only where the curve would pass below them (one-sided residuals, by an active set).
Intervals come from a bootstrap over replicates, or from the fit's covariance when
there is one response per dose.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from geroconvert.analysis.intervals import percentile_interval, resample_indices


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
    out = {
        "log10_ec50": (math.log10(d.min()) - 3.0, math.log10(d.max()) + 3.0),
        "smax": (1.0, max(10.0 * float(np.nanmax(y)), 10.0)),
        "hill": (0.1, 10.0),
    }
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
        log_ec50 = float(np.mean(np.log10(levels[above[0] - 1 : above[0] + 1])))
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


@dataclass(frozen=True)
class _Responses:
    """The responses of a fit as [replicates, doses] (one row when given one value per dose)."""

    dose: np.ndarray
    values: np.ndarray
    censored: np.ndarray
    per_replicate: bool

    @classmethod
    def of(cls, dose_nM, response, censored) -> _Responses:
        dose = np.asarray(dose_nM, np.float64).ravel()
        resp = np.asarray(response, np.float64)
        per_replicate = resp.ndim == 2
        resp2 = resp if per_replicate else resp[None, :]
        if resp2.shape[1] != dose.size:
            raise ValueError(f"fit_hill: {dose.size} doses but response has shape {resp.shape}")
        cens2 = np.zeros(resp2.shape, bool) if censored is None else np.asarray(censored, bool).reshape(resp2.shape)
        return cls(dose, resp2, cens2, per_replicate)

    @property
    def n_replicates(self) -> int:
        return self.values.shape[0]

    def pooled(self, rows: np.ndarray):
        """(dose, response, censored) of the positive doses of ``rows``, flat, without NaN responses."""
        positive = self.dose > 0
        x = np.broadcast_to(self.dose, self.values.shape)[rows][:, positive].ravel()
        y = self.values[rows][:, positive].ravel()
        c = self.censored[rows][:, positive].ravel()
        ok = np.isfinite(y) & np.isfinite(x)
        return x[ok], y[ok], c[ok]


def fit_hill(
    dose_nM,
    response,
    censored=None,
    n_boot: int = 500,
    seed: int = 0,
    coverage: float = 0.95,
    bounds: dict | None = None,
) -> HillFit:
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
    data = _Responses.of(dose_nM, response, censored)
    x, y, c = data.pooled(np.arange(data.n_replicates))
    n_observed = np.unique(x[~c]).size
    if n_observed < 3:
        return _failed_fit(
            f"need at least 3 positive doses with an uncensored response, have {n_observed};"
            " extend the run past the t50 of the higher doses",
            coverage,
            x.size,
            int(c.sum()),
        )
    b = _hill_bounds(x, y, bounds)
    p, cov, n_used, message = _fit_once(x, y, c, b)
    if p is None:
        return _failed_fit(message, coverage, x.size, int(c.sum()), b)
    converged, message = _check_converged(p, b, x, message)
    if data.per_replicate and data.n_replicates >= 2 and n_boot > 0:
        method = "bootstrap"
        ci, n_ok = _bootstrap_intervals(data, b, n_boot, seed, coverage)
    else:
        method, n_ok = "covariance", 0
        ci = _covariance_intervals(p, cov, n_used, coverage)
    with np.errstate(over="ignore"):
        low, high = (float(v) for v in np.power(10.0, np.asarray(ci[0], np.float64)))
    return HillFit(
        float(10.0 ** p[0]),
        (low, high),
        float(p[1]),
        (float(ci[1][0]), float(ci[1][1])),
        float(p[2]),
        (float(ci[2][0]), float(ci[2][1])),
        converged,
        message,
        int(x.size),
        int(c.sum()),
        method,
        n_ok,
        coverage,
        b,
    )


def _failed_fit(message: str, coverage: float, n_points=0, n_cens=0, b=None) -> HillFit:
    nan2 = (math.nan, math.nan)
    return HillFit(
        math.nan, nan2, math.nan, nan2, math.nan, nan2, False, message, n_points, n_cens, "none", 0, coverage, b or {}
    )


def _check_converged(p: np.ndarray, b: dict, x: np.ndarray, message: str) -> tuple[bool, str]:
    """(converged, message): not converged with a parameter on its bound or EC50 far outside the doses."""
    converged = True
    stuck = _on_bound(p, b)
    tested = x[x > 0]
    if stuck:
        converged, message = False, f"parameter on its bound: {', '.join(stuck)}"
    elif not tested.min() / 10.0 <= 10.0 ** p[0] <= 10.0 * tested.max():
        converged, message = False, "EC50 more than a decade outside the tested doses (not identifiable)"
    return converged, message


def _bootstrap_intervals(data: _Responses, b: dict, n_boot: int, seed: int, coverage: float):
    """Percentile intervals of the three parameters over refits to resampled replicates, and the refit count.

    Resamples holding the same replicates are fitted once.
    """
    ci = [(math.nan, math.nan)] * 3
    cache: dict[tuple, np.ndarray | None] = {}
    fits = []
    for rows in resample_indices(data.n_replicates, n_boot, seed):
        key = tuple(np.sort(rows))
        if key not in cache:
            bx, by, bc = data.pooled(np.asarray(key))
            cache[key] = _fit_once(bx, by, bc, b)[0] if np.unique(bx[~bc]).size >= 3 else None
        if cache[key] is not None:
            fits.append(cache[key])
    if fits:
        arr = np.array(fits)
        ci = [percentile_interval(arr[:, k], coverage) for k in range(3)]
    return ci, len(fits)


def _covariance_intervals(p: np.ndarray, cov, n_used: int, coverage: float) -> list[tuple[float, float]]:
    """t-based intervals of the three parameters from the fit's covariance (NaN without degrees of freedom)."""
    from scipy import stats

    ci = [(math.nan, math.nan)] * 3
    dof = n_used - 3
    if dof > 0 and np.all(np.isfinite(cov)):
        se = np.sqrt(np.diag(cov))
        q = stats.t.ppf(0.5 + coverage / 2.0, dof)
        ci = [(float(p[k] - q * se[k]), float(p[k] + q * se[k])) for k in range(3)]
    return ci
