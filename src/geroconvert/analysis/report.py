"""The report of a run or sweep: figures (PNG and SVG), ``summary.txt`` and ``summary.csv``.

``write_report(sweep, out_dir)`` works for any :class:`~geroconvert.archive.sweepdata.SweepData`:

* always: RPP curves per grid point (when RPP was assayed), hypertrophy next to RPP
  (when ``mean_mass`` was recorded), and a table per grid point (t50 with its
  bootstrap interval, RPP and mean mass at the last time);
* for every swept path whose name ends in ``_nM`` (a dose) and every slice of the
  other swept paths that has a dose-0 control: the paired slowdown per dose, the
  Hill fit (EC50, Smax, h with intervals) and its figure;
* a single run (nothing swept) is one grid point.

Loading a SweepData from an archive is not done here (see ``archive.sweepdata.load_sweep``).
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geroconvert.analysis import plotting
from geroconvert.analysis import stats as analysis


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
        for combo in itertools.product(*values):
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


def _dose_lines(dr: analysis.DoseResponse) -> list[str]:
    drug = plotting.short_name(dr.dose_path)
    where = plotting.point_label(list(dr.where), list(dr.where.values()))
    lines = [
        f"Dose response: {drug}" + (f" at {where}" if dr.where else ""),
        "  slowdown = geometric mean over replicates of t50(dose, seed r) / t50(0 nM, seed r);",
        "  '>=' marks doses with censored t50: the value and its interval are lower bounds",
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
    lines += ["  " + x for x in _table(["dose (nM)", "pairs", "slowdown [95% CI]", "Hill fit"], rows)]
    return lines + [""] + _hill_lines(dr)


def _summary_header(sweep) -> list[str]:
    paths = sorted(sweep.swept)
    points = sweep.grid_points()
    reps = np.unique(sweep.replicate).size
    lines = [
        "geroconvert report",
        "",
        f"runs: {sweep.n_runs} ({len(points)} grid point(s) x up to {reps} replicate(s))",
        f"swept: {', '.join(paths) if paths else 'nothing (single configuration)'}",
    ]
    if sweep.rpp_time_h.size:
        lines.append("RPP assay times (h): " + " ".join(_num(t) for t in sweep.rpp_time_h))
        lines.append(
            "t50 = first time the replicate-mean RPP falls to 0.5 (linear interpolation);"
            " '>T (censored)' = not reached by the last assay time T;"
            " intervals: 95% percentile bootstrap over replicates."
        )
    else:
        lines.append("no RPP assay in these runs")
    return lines + [""]


def write_report(
    sweep, out_dir, n_boot: int = 2000, hill_boot: int = 500, seed: int = 0, title: str | None = None
) -> list[Path]:
    """Write figures (PNG + SVG), ``summary.txt`` and ``summary.csv`` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    readouts = _readouts(sweep, n_boot, hill_boot, seed)
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
    """What the report shows, computed once: t50 per grid point, the last mean mass, the dose responses."""

    sweep: Any
    paths: list[str]
    points: list[tuple]
    has_rpp: bool
    has_mass: bool
    t50s: dict
    mass_last: dict
    responses: list


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
    mass_last = {}
    if has_mass:
        hyp = analysis.hypertrophy(sweep, times_h=[sweep.series_time_h[-1]])
        mass_last = {
            p: (hyp["mass_mean"][k, 0], hyp["mass_low"][k, 0], hyp["mass_high"][k, 0]) for k, p in enumerate(points)
        }
    responses = (
        [
            analysis.dose_response(sweep, dose_path, where, n_boot=n_boot, hill_boot=hill_boot, seed=seed)
            for dose_path, where in dose_slices(sweep)
        ]
        if has_rpp
        else []
    )
    return _Readouts(sweep, paths, points, has_rpp, has_mass, t50s, mass_last, responses)


def _write_figures(readouts: _Readouts, out: Path, title: str | None) -> list[Path]:
    """RPP curves, hypertrophy and one dose-response figure per dose slice, as PNG and SVG."""
    sweep, responses = readouts.sweep, readouts.responses
    figures = []
    if readouts.has_rpp:
        figures.append(("rpp_curves", plotting.rpp_curves(sweep, title=title)))
    if readouts.has_mass:
        figures.append(("hypertrophy", plotting.hypertrophy(sweep, title=title)))
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
    label = plotting.point_label(readouts.paths, point)
    n = sweep.runs_at(point).size
    row = [label, str(n)]
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
        m, lo, hi = readouts.mass_last[point]
        row.append(f"{_num(m)} {_interval(lo, hi)}".rstrip())
        record.update(mean_mass_last=m, mean_mass_last_ci_low=lo, mean_mass_last_ci_high=hi)
    return row, record


def _table_header(readouts: _Readouts, slow_at: dict) -> list[str]:
    sweep = readouts.sweep
    header = ["grid point", "n"]
    if readouts.has_rpp:
        header += ["t50 (h) [95% CI]", f"RPP at {_num(sweep.rpp_time_h[-1])} h"]
    if slow_at:
        header.append("slowdown [95% CI]")
    if readouts.has_mass:
        header.append(f"mean mass at {_num(sweep.series_time_h[-1])} h [95% CI]")
    return header


def _write_summary(readouts: _Readouts, header: list[str], rows: list[list[str]], path: Path) -> Path:
    """``summary.txt``: the header, the table per grid point, then each dose response and its Hill fit."""
    lines = _summary_header(readouts.sweep)
    lines += ["Per grid point (mean mass in newborn-cell masses; its interval is t-based)", *_table(header, rows), ""]
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
