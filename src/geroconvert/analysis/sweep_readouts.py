"""Readouts of a sweep: the dose response (t50, paired slowdown, Hill fit) and hypertrophy.

Both take a :class:`~geroconvert.archive.sweepdata.SweepData`; runs are paired across
grid points by replicate (the same seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from geroconvert.analysis.hill import HillFit, fit_hill
from geroconvert.analysis.intervals import nanmean_rows, paired_slowdown, rpp_band, t50_interval
from geroconvert.core.readouts import censor_time, t50


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
            out.append(
                {
                    "dose_nM": float(dose),
                    "n_replicates": int(np.isfinite(self.censor_time_h[i]).sum()),
                    "t50_h": curve.estimate_h,
                    "t50_ci_h": (curve.ci_low_h, curve.ci_high_h),
                    "t50_censored": curve.censored,
                    "t50_lower_bound_h": curve.lower_bound_h,
                    "slowdown": slow.ratio if slow else math.nan,
                    "slowdown_lower_bound": slow.lower_bound if slow else math.nan,
                    "slowdown_ci": (slow.ci_low, slow.ci_high) if slow else (math.nan, math.nan),
                    "slowdown_n_censored": slow.n_censored if slow else 0,
                    "hill_fitted_slowdown": float(self.hill.predict(float(dose))) if dose > 0 else 1.0,
                }
            )
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


def dose_response(
    sweep,
    dose_path: str = "environment.rapamycin_nM",
    where: dict | None = None,
    level: float = 0.5,
    n_boot: int = 2000,
    hill_boot: int = 500,
    seed: int = 0,
    coverage: float = 0.95,
) -> DoseResponse:
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
    t50_curve = [
        t50_interval(sweep.rpp_time_h, curves[i][np.isfinite(bound[i])], n_boot, seed, level, coverage)
        for i in range(doses.size)
    ]
    has_control = bool(np.any(doses == 0))
    slowdown: list = [None] * doses.size
    if has_control:
        c = int(np.flatnonzero(doses == 0)[0])
        for i in range(doses.size):
            present = np.isfinite(bound[i]) & np.isfinite(bound[c])
            slowdown[i] = paired_slowdown(
                t50_h[i][present], t50_h[c][present], n_boot, seed, censor_time_h=bound[i][present], coverage=coverage
            )
    result = DoseResponse(
        dose_path,
        dict(where or {}),
        doses,
        replicates,
        t50_h,
        censored,
        bound,
        t50_curve,
        slowdown,
        HillFit(
            math.nan,
            (math.nan,) * 2,
            math.nan,
            (math.nan,) * 2,
            math.nan,
            (math.nan,) * 2,
            False,
            "no dose-0 control",
            0,
            0,
            "none",
            0,
            coverage,
        ),
        has_control,
    )
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
    out = {
        name: np.full((len(points), at.size), np.nan)
        for name in ("mass_mean", "mass_low", "mass_high", "fold_change", "rpp_mean")
    }
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
            out["rpp_mean"][k] = nanmean_rows(rpp_at)
    return {"points": points, "paths": sorted(sweep.swept), "times_h": at, "series": series, **out}
