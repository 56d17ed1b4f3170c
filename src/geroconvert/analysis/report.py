"""The report of a run or sweep: figures (PNG and SVG), ``summary.txt`` and ``summary.csv``.

``write_report(sweep, out_dir)`` works for any :class:`~geroconvert.archive.sweepdata.SweepData`:

* always: RPP curves per grid point (when RPP was assayed), hypertrophy next to RPP
  (when ``mean_mass`` was recorded), and a table per grid point (t50 with its
  bootstrap interval, RPP at the last assay and mean mass at the published comparison
  time, :data:`MASS_COMPARISON_H`);
* for every swept path whose name ends in ``_nM`` (a dose) and every slice of the
  other swept paths that has a dose-0 control: the paired slowdown per dose, the
  Hill fit (EC50, Smax, h with intervals) and its figure;
* a single run (nothing swept) is one grid point; with one run per grid point no
  interval is drawn or promised.

Grid points are named by :func:`~geroconvert.analysis.plotting.condition_labels`.

Loading a SweepData from an archive is not done here (see ``archive.sweepdata.load_sweep``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from geroconvert.analysis import plotting
from geroconvert.analysis import stats as analysis

# Sizes are compared at 96 h of arrest: the model puts the ~15-fold growth of Demidenko &
# Blagosklonny 2009 at day 3-4 (docs/science.md, hypertrophy_rate_per_h; the paper gives no
# timing), and there rapamycin's modest reduction shows.  Later every arm nears the size
# ceiling (cells.mass_max), so the last record time no longer tells the doses apart.
MASS_COMPARISON_H = 96.0


def _num(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _interval(low: float, high: float, digits: int = 3) -> str:
    if math.isnan(low) and math.isnan(high):
        return ""
    return f"[{_num(low, digits)}, {_num(high, digits)}]"


def _t50_text(ti: analysis.T50Interval, last_h: float) -> str:
    """'63.6 [63.1, 64.3]'; an open end of the interval (censored resamples) reads '>192'."""
    ends = [f">{_num(last_h)}" if math.isinf(v) else _num(v) for v in (ti.ci_low_h, ti.ci_high_h)]
    interval = "" if math.isnan(ti.ci_low_h) else f"[{ends[0]}, {ends[1]}]"
    if ti.censored:
        return f">{_num(ti.lower_bound_h)} (censored)" + (f" {interval}" if not ends[0].startswith(">") else "")
    return f"{_num(ti.estimate_h)} {interval}".rstrip()


def _slowdown_text(slow: analysis.PairedSlowdown | None, is_control: bool) -> str:
    if is_control:
        return "1 (control)"
    if slow is None or slow.n_pairs == 0:
        return "n/a"
    interval = _interval(slow.ci_low, slow.ci_high)
    if slow.n_censored:
        return f">={_num(slow.lower_bound)} {interval} ({slow.n_censored}/{slow.n_pairs} censored)"
    return f"{_num(slow.ratio)} {interval}".rstrip()


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]]


def dose_slices(sweep) -> list[tuple[str, dict]]:
    """(dose path, where) for every dose path (``*_nM``) and slice of the other swept paths with a dose-0 control."""
    out = []
    for dose_path in sorted(p for p in sweep.swept if p.endswith("_nM")):
        others = [p for p in sorted(sweep.swept) if p != dose_path]
        values = [list(dict.fromkeys(sweep.swept[p].tolist())) for p in others]
        # the combinations that occur, in the order of their product (posterior draws would
        # make that product huge and almost empty)
        seen = dict.fromkeys(zip(*(sweep.swept[p].tolist() for p in others))) if others else {(): None}
        for combo in sorted(seen, key=lambda c: [vals.index(v) for vals, v in zip(values, c)]):
            where = dict(zip(others, combo))
            mask = np.ones(sweep.n_runs, bool)
            for path, value in where.items():
                mask &= sweep.swept[path] == value
            doses = sweep.swept[dose_path][mask]
            if mask.any() and np.any(doses == 0) and np.any(doses > 0):
                out.append((dose_path, where))
    return out


def _hill_lines(dr: analysis.DoseResponse) -> list[str]:
    h = dr.hill
    drug = plotting.short_name(dr.dose_path)
    lines = [
        f"Hill fit of {drug}: slowdown(C) = 1 + (Smax - 1) C^h / (C^h + EC50^h), C in nM",
        (
            f"  converged: {'yes' if h.converged else 'no'} ({h.message}); {h.n_points} points"
            f" ({h.n_censored} censored, used as lower bounds)"
        ),
    ]
    if not math.isnan(h.ec50_nM):
        lines += [
            f"  EC50  = {_num(h.ec50_nM)} nM {_interval(*h.ec50_ci)}",
            f"  Smax  = {_num(h.smax)} {_interval(*h.smax_ci)}",
            f"  h     = {_num(h.hill)} {_interval(*h.hill_ci)}",
            (
                f"  fitted slowdown at the highest dose ({_num(dr.doses_nM.max())} nM):"
                f" {_num(float(h.predict(dr.doses_nM.max())))}"
            ),
        ]
    else:
        lines.append("  EC50  = n/a (no fit)")
    lines += _smax_caveat(dr)
    if h.interval_method == "bootstrap":
        n_rep = dr.replicates.size
        lines.append(
            f"  intervals: {h.coverage:.0%} percentile bootstrap over {n_rep} replicates"
            f" ({h.n_boot_ok} successful refits)"
        )
        if n_rep <= 3:
            lines.append(
                f"  note: with {n_rep} replicates the bootstrap has few distinct resamples;"
                " read the intervals as the spread of the replicates."
            )
    elif h.interval_method == "covariance":
        lines.append(f"  intervals: {h.coverage:.0%}, t-based from the fit covariance (one response per dose)")
    return lines


def _smax_caveat(dr: analysis.DoseResponse) -> list[str]:
    """A warning when Smax is read off the fitted form rather than the data."""
    if not plotting.smax_extrapolated(dr):
        return []
    top, reach = plotting.measured_reach(dr)
    where = (
        f"the highest dose with a measured slowdown ({_num(top)} nM) reaches {reach:.0%} of the fitted rise"
        if math.isfinite(top)
        else "no dose has a measured (uncensored) slowdown"
    )
    return [
        f"  caveat: Smax is extrapolated: {where}; above it the doses give lower bounds (censored t50)"
        " or were not tested, so Smax comes from the Hill form, not from the data"
    ]


def _dose_lines(dr: analysis.DoseResponse) -> list[str]:
    drug = plotting.short_name(dr.dose_path)
    where = plotting.point_label(list(dr.where), list(dr.where.values()))
    lines = [
        f"Dose response: {drug}" + (f" at {where}" if dr.where else ""),
        "  slowdown = geometric mean over replicates of t50(dose, seed r) / t50(0 nM, seed r);",
        "  '>=' marks doses with censored t50: the value"
        + (" and its interval are lower bounds" if dr.replicates.size >= 2 else " is a lower bound"),
    ]
    rows = []
    for i, dose in enumerate(dr.doses_nM):
        fitted = float(dr.hill.predict(dose)) if dose > 0 else 1.0
        rows.append(
            [
                _num(dose),
                str(dr.slowdown[i].n_pairs if dr.slowdown[i] else 0),
                _slowdown_text(dr.slowdown[i], dose == 0),
                _num(fitted),
            ]
        )
    slowdown = "slowdown [95% CI]" if dr.replicates.size >= 2 else "slowdown"
    lines += ["  " + x for x in _table(["dose (nM)", "pairs", slowdown, "Hill fit"], rows)]
    return lines + [""] + _hill_lines(dr)


def _summary_header(readouts: _Readouts) -> list[str]:
    sweep, paths = readouts.sweep, readouts.paths
    lines = [
        "geroconvert report",
        "",
        f"runs: {sweep.n_runs} ({len(readouts.points)} grid point(s) x up to {readouts.n_rep} replicate(s))",
        f"swept: {', '.join(paths) if paths else 'nothing (single configuration)'}",
    ]
    if "control" in readouts.labels.values():
        base = plotting.config_values(sweep) or {}
        lines.append(
            "conditions are named by the swept values that differ from the config's own;"
            f" control: {plotting.point_label(paths, [base[p] for p in paths])}"
        )
    if sweep.rpp_time_h.size:
        lines.append("RPP assay times (h): " + " ".join(_num(t) for t in sweep.rpp_time_h))
        lines.append(
            "t50 = first time the replicate-mean RPP falls to 0.5 (linear interpolation);"
            " '>T (censored)' = not reached by the last assay time T;"
            + (
                " intervals: 95% percentile bootstrap over replicates."
                if readouts.has_ci
                else " one run per grid point, so no intervals."
            )
        )
    else:
        lines.append("no RPP assay in these runs")
    if readouts.has_mass:
        lines.append(_mass_note(readouts.mass_time_h))
    return lines + [""]


def _mass_note(at_h: float) -> str:
    """Why the table shows the mass at that time (and not at the end, the size ceiling)."""
    reason = (
        "the ~15-fold hypertrophy of Demidenko & Blagosklonny 2009 is compared at day 3-4 of arrest;"
        " later every arm nears the size ceiling"
    )
    if at_h == MASS_COMPARISON_H:
        return f"mean mass at {_num(at_h)} h: {reason}"
    return (
        f"mean mass at {_num(at_h)} h, the last record time (the runs end before {_num(MASS_COMPARISON_H)} h): {reason}"
    )


def mass_time(series_time_h) -> float:
    """The time at which the report compares sizes: 96 h if recorded, else the last record time."""
    t = np.asarray(series_time_h, np.float64)
    if t.size and t[0] <= MASS_COMPARISON_H <= t[-1]:
        return MASS_COMPARISON_H
    return float(t[-1]) if t.size else math.nan


def write_report(
    sweep,
    out_dir,
    n_boot: int = 2000,
    hill_boot: int = 500,
    seed: int = 0,
    title: str | None = None,
    posterior: dict | None = None,
) -> list[Path]:
    """Write figures (PNG + SVG), ``summary.txt`` and ``summary.csv`` into ``out_dir``; returns the paths.

    ``posterior``: the sweep's ``[sweep.posterior]`` (``rows``: path -> values) and its
    ``counts`` (how many draws each row stands for).  The dose response of
    each draw then goes into ``summary.*`` without its own figure or Hill-fit interval, and
    :mod:`~geroconvert.analysis.posterior_report` gives each quantity its band over the draws."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    readouts = _readouts(sweep, n_boot, 0 if posterior else hill_boot, seed)
    if posterior:
        from geroconvert.analysis import posterior_report

        written = _write_figures(replace(readouts, responses=[]), out, title)
        written += posterior_report.write(readouts.responses, posterior, out)
    else:
        written = _write_figures(readouts, out, title)
    slow_at = _slowdown_at(readouts)
    rows, records = [], []
    for point in readouts.points:
        row, record = _point_row(readouts, point, slow_at)
        rows.append(row)
        records.append(record)
    written.append(_write_summary(readouts, _table_header(readouts, slow_at), rows, out / "summary.txt"))
    written.append(_write_csv(records, out / "summary.csv"))
    return written


@dataclass(frozen=True)
class _Readouts:
    """What the report shows, computed once: t50 per grid point, the mean mass at the
    comparison time (and at the last), the dose responses, and a name per grid point."""

    sweep: Any
    paths: list[str]
    points: list[tuple]
    labels: dict
    n_rep: int
    has_rpp: bool
    has_mass: bool
    t50s: dict
    mass_time_h: float
    mass_at: dict
    responses: list

    @property
    def has_ci(self) -> bool:
        """Intervals need 2 replicates; with one run per point none is drawn or promised."""
        return self.n_rep >= 2


def _readouts(sweep, n_boot: int, hill_boot: int, seed: int) -> _Readouts:
    paths = sorted(sweep.swept)
    points = sweep.grid_points()
    has_rpp = sweep.rpp_time_h.size > 0 and sweep.rpp.size > 0
    has_mass = "mean_mass" in sweep.series and sweep.series_time_h.size > 0

    t50s = (
        {p: analysis.t50_interval(sweep.rpp_time_h, sweep.rpp[sweep.runs_at(p)], n_boot, seed) for p in points}
        if has_rpp
        else {}
    )
    at_h = mass_time(sweep.series_time_h) if has_mass else math.nan
    mass_at = {}
    if has_mass:
        hyp = analysis.hypertrophy(sweep, times_h=[at_h, sweep.series_time_h[-1]])
        mass_at = {
            p: (hyp["mass_mean"][k, 0], hyp["mass_low"][k, 0], hyp["mass_high"][k, 0], hyp["mass_mean"][k, 1])
            for k, p in enumerate(points)
        }
    responses = (
        [
            analysis.dose_response(sweep, dose_path, where, n_boot=n_boot, hill_boot=hill_boot, seed=seed)
            for dose_path, where in dose_slices(sweep)
        ]
        if has_rpp
        else []
    )
    labels = dict(zip(points, plotting.condition_labels(sweep)))
    n_rep = plotting.replicates_per_point(sweep)
    return _Readouts(sweep, paths, points, labels, n_rep, has_rpp, has_mass, t50s, at_h, mass_at, responses)


def _write_figures(readouts: _Readouts, out: Path, title: str | None) -> list[Path]:
    """RPP curves, hypertrophy and one dose-response figure per dose slice, as PNG and SVG."""
    sweep, responses = readouts.sweep, readouts.responses
    figures = []
    if readouts.has_rpp:
        figures.append(("rpp_curves", plotting.rpp_curves(sweep, title=title)))
    if readouts.has_mass:
        figures.append(("hypertrophy", plotting.hypertrophy(sweep, title=title, compare_at_h=readouts.mass_time_h)))
    for k, dr in enumerate(responses):
        name = f"dose_response_{plotting.short_name(dr.dose_path)}" + (f"_{k}" if len(responses) > 1 else "")
        where = plotting.point_label(list(dr.where), list(dr.where.values())) if dr.where else None
        figures.append((name, plotting.dose_response(dr, title=where and f"{title or ''} {where}".strip())))
    written: list[Path] = []
    for name, fig in figures:
        written += plotting.save(fig, out / name)
        plotting.close(fig)
    return written


def _slowdown_at(readouts: _Readouts) -> dict[tuple, tuple]:
    """Per grid point: (paired slowdown, is the control) from the first dose response that covers it."""
    paths, points = readouts.paths, readouts.points
    slow_at: dict[tuple, tuple] = {}
    for dr in readouts.responses:
        d_index = paths.index(dr.dose_path)
        for i, dose in enumerate(dr.doses_nM):
            for point in points:
                if point[d_index] == dose and all(point[paths.index(p)] == v for p, v in dr.where.items()):
                    slow_at.setdefault(point, (dr.slowdown[i], dose == 0))
    return slow_at


def _point_row(readouts: _Readouts, point: tuple, slow_at: dict) -> tuple[list[str], dict]:
    """One grid point: its row of the text table and its record of the CSV."""
    sweep = readouts.sweep
    n = sweep.runs_at(point).size
    row = [readouts.labels[point], str(n)]
    record = {path: value for path, value in zip(readouts.paths, point)}
    record["n_runs"] = n
    if readouts.has_rpp:
        ti = readouts.t50s[point]
        rpp_last = float(np.nanmean(sweep.rpp[sweep.runs_at(point), -1]))
        row += [_t50_text(ti, sweep.rpp_time_h[-1]), _num(rpp_last)]
        record.update(
            t50_h=ti.estimate_h,
            t50_ci_low_h=ti.ci_low_h,
            t50_ci_high_h=ti.ci_high_h,
            t50_censored=ti.censored,
            t50_lower_bound_h=ti.lower_bound_h,
            rpp_last=rpp_last,
        )
    if slow_at:
        slow, is_control = slow_at.get(point, (None, False))
        row.append(_slowdown_text(slow, is_control) if point in slow_at else "")
        record.update(
            slowdown=(1.0 if is_control else slow.ratio) if slow else math.nan,
            slowdown_lower_bound=slow.lower_bound if slow else math.nan,
            slowdown_ci_low=slow.ci_low if slow else math.nan,
            slowdown_ci_high=slow.ci_high if slow else math.nan,
        )
    if readouts.has_mass:
        m, lo, hi, last = readouts.mass_at[point]
        row.append(f"{_num(m)} {_interval(lo, hi)}".rstrip())
        record.update(
            mean_mass=m,
            mean_mass_ci_low=lo,
            mean_mass_ci_high=hi,
            mean_mass_time_h=readouts.mass_time_h,
            mean_mass_last=last,
        )
    return row, record


def _table_header(readouts: _Readouts, slow_at: dict) -> list[str]:
    sweep = readouts.sweep
    ci = " [95% CI]" if readouts.has_ci else ""
    header = ["grid point", "n"]
    if readouts.has_rpp:
        header += [f"t50 (h){ci}", f"RPP at {_num(sweep.rpp_time_h[-1])} h"]
    if slow_at:
        header.append(f"slowdown{ci}")
    if readouts.has_mass:
        header.append(f"mean mass at {_num(readouts.mass_time_h)} h{ci}")
    return header


def _write_summary(readouts: _Readouts, header: list[str], rows: list[list[str]], path: Path) -> Path:
    """``summary.txt``: the header, the table per grid point, then each dose response and its Hill fit."""
    lines = _summary_header(readouts)
    mass = "mean mass in newborn-cell masses" + ("; its interval is t-based" if readouts.has_ci else "")
    lines += ["Per grid point" + (f" ({mass})" if readouts.has_mass else ""), *_table(header, rows), ""]
    for dr in readouts.responses:
        lines += _dose_lines(dr) + [""]
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


def _write_csv(records: list[dict], path: Path) -> Path:
    """``summary.csv``: one row per grid point, the union of the records' keys as columns."""
    fields = list(dict.fromkeys(k for r in records for k in r))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
    return path
