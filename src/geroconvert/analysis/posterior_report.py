"""The dose response over posterior draws: EC50, maximum slowdown and slowdown per dose with credible bands.

A sweep run with ``--posterior FILE --draws K`` holds one dose response per draw (its
``[sweep.posterior]`` paths are swept with the draws' values).  Here the responses of one
condition (the other swept values) are gathered over the draws: each quantity's median
and 5-95% band over the draws, the share of draws whose Hill fit converged, and a figure
of the slowdown band.  The spread is the posterior's: every draw runs the same seeds.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from geroconvert.analysis import plotting

BAND = (0.05, 0.5, 0.95)


def _band(values) -> tuple[float, float, float]:
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], np.float64)
    if finite.size == 0:
        return math.nan, math.nan, math.nan
    low, median, high = np.quantile(finite, BAND)
    return float(low), float(median), float(high)


def groups(responses: list, posterior_paths: list[str]) -> dict[tuple, list]:
    """The responses by condition: the ``where`` values that are not a posterior path."""
    out: dict[tuple, list] = {}
    for dr in responses:
        condition = tuple((p, v) for p, v in sorted(dr.where.items()) if p not in posterior_paths)
        out.setdefault((dr.dose_path, condition), []).append(dr)
    return out


def records(responses: list, posterior_paths: list[str]) -> list[dict]:
    """One record per condition and quantity: median and band over the draws."""
    out = []
    for (dose_path, condition), drs in groups(responses, posterior_paths).items():
        base = {"dose_path": dose_path, "condition": ", ".join(f"{p}={v}" for p, v in condition) or "-"}
        fits = [dr.hill for dr in drs]
        converged = [h for h in fits if h.converged]
        share = len(converged) / len(fits)
        for name, values in (("EC50_nM", [h.ec50_nM for h in converged]), ("Smax", [h.smax for h in converged])):
            low, median, high = _band(values)
            out.append({**base, "quantity": name, "median": median, "low_5": low, "high_95": high,
                        "draws": len(drs), "fits_converged": share})  # fmt: skip
        doses = drs[0].doses_nM
        for i, dose in enumerate(doses):
            if dose == 0:
                continue
            values = [_ratio(dr, i) for dr in drs]
            low, median, high = _band(values)
            out.append({**base, "quantity": f"slowdown at {dose:g} nM", "median": median, "low_5": low,
                        "high_95": high, "draws": len(drs), "fits_converged": share})  # fmt: skip
    return out


def _ratio(dr, i: int) -> float:
    slow = dr.slowdown[i] if dr.slowdown else None
    if slow is None:
        return math.nan
    return slow.ratio if math.isfinite(slow.ratio) else slow.lower_bound


def write(responses: list, posterior_paths: list[str], out: Path) -> list[Path]:
    """``posterior_predictive.csv``, ``.txt`` and a figure per condition; returns the files."""
    rows = records(responses, posterior_paths)
    if not rows:
        return []
    csv_path = out / "posterior_predictive.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    text = out / "posterior_predictive.txt"
    text.write_text("\n".join(lines(rows)) + "\n", encoding="utf-8")
    files = [csv_path, text]
    for k, ((dose_path, condition), drs) in enumerate(groups(responses, posterior_paths).items()):
        figure = _band_figure(dose_path, condition, drs)
        files += plotting.save(figure, out / f"posterior_dose_response_{plotting.short_name(dose_path)}_{k}")
        plotting.close(figure)
    return files


def lines(rows: list[dict]) -> list[str]:
    out = ["Predictions over posterior draws (median [5%, 95%]; the spread is the posterior's, the seeds are shared)"]
    last = None
    for row in rows:
        if (row["dose_path"], row["condition"]) != last:
            last = (row["dose_path"], row["condition"])
            out.append(f"{row['dose_path']} ({row['condition']}; {row['draws']} draws, "
                       f"Hill fit converged in {row['fits_converged']:.0%})")  # fmt: skip
        out.append(f"  {row['quantity']:<28} {_num(row['median'])} [{_num(row['low_5'])}, {_num(row['high_95'])}]")
    return out


def _num(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.3g}"


def _band_figure(dose_path: str, condition: tuple, drs: list):
    plt = plotting._plt()
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    doses = drs[0].doses_nM
    positive = doses > 0
    per_draw = np.array([[_ratio(dr, i) for i in range(doses.size)] for dr in drs])[:, positive]
    for row in per_draw:
        axes.plot(doses[positive], row, color="0.75", lw=0.6)
    low, median, high = (np.nanquantile(per_draw, q, axis=0) for q in BAND)
    axes.fill_between(doses[positive], low, high, color="tab:blue", alpha=0.25, label="5-95% over draws")
    axes.plot(doses[positive], median, color="tab:blue", lw=2, label="median")
    axes.set_xscale("log")
    axes.set_xlabel(f"{plotting.short_name(dose_path)} (nM)")
    axes.set_ylabel("slowdown of geroconversion (t50 / t50 at 0 nM)")
    where = ", ".join(f"{plotting.short_name(p)}={v}" for p, v in condition)
    axes.set_title(f"Posterior predictive dose response{' (' + where + ')' if where else ''}: {len(drs)} draws")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure
