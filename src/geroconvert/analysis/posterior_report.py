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
import warnings
from pathlib import Path

import numpy as np

from geroconvert.analysis import plotting

BAND = (0.05, 0.5, 0.95)


def credible_band(values) -> tuple[float, float, float]:
    """(5%, median, 95%) of the finite values (None and NaN left out; NaN for none)."""
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], np.float64)
    if finite.size == 0:
        return math.nan, math.nan, math.nan
    low, median, high = np.quantile(finite, BAND)
    return float(low), float(median), float(high)


def groups(responses: list, posterior: dict) -> dict[tuple, list]:
    """The responses by condition (the ``where`` values that are not a posterior path), each
    response repeated as often as its particle was drawn (``posterior["counts"]``)."""
    paths = list(posterior["rows"])
    counts = {
        tuple(float(posterior["rows"][p][k]) for p in paths): n for k, n in enumerate(posterior.get("counts") or [])
    }
    out: dict[tuple, list] = {}
    for dr in responses:
        condition = tuple((p, v) for p, v in sorted(dr.where.items()) if p not in paths)
        times = counts.get(tuple(float(dr.where[p]) for p in paths), 1)
        out.setdefault((dr.dose_path, condition), []).extend([dr] * times)
    return out


def records(responses: list, posterior: dict) -> list[dict]:
    """One record per condition and quantity: median and band over the draws, and how many of
    the draws give only a lower bound (a t50 beyond the last assay)."""
    out = []
    for (dose_path, condition), drs in groups(responses, posterior).items():
        base = {"dose_path": dose_path, "condition": ", ".join(f"{p}={v}" for p, v in condition) or "-"}
        fits = [dr.hill for dr in drs]
        converged = [h for h in fits if h.converged]
        share = len(converged) / len(fits)
        censored = sum(h.n_censored > 0 for h in converged)
        for name, values in (("EC50_nM", [h.ec50_nM for h in converged]), ("Smax", [h.smax for h in converged])):
            out.append(_record(base, name, values, len(drs), share, censored))
        for i, dose in enumerate(drs[0].doses_nM):
            if dose != 0:
                bounds = sum(bool(dr.slowdown and dr.slowdown[i] and dr.slowdown[i].n_censored) for dr in drs)
                out.append(
                    _record(base, f"slowdown at {dose:g} nM", [_ratio(dr, i) for dr in drs], len(drs), share, bounds)
                )
    return out


def _record(base: dict, name: str, values: list, draws: int, share: float, lower_bounds: int) -> dict:
    low, median, high = credible_band(values)
    return {**base, "quantity": name, "median": median, "low_5": low, "high_95": high, "draws": draws,
            "fits_converged": share, "draws_with_lower_bounds": lower_bounds}  # fmt: skip


def _ratio(dr, i: int) -> float:
    slow = dr.slowdown[i] if dr.slowdown else None
    if slow is None:
        return math.nan
    return slow.ratio if math.isfinite(slow.ratio) else slow.lower_bound


def write(responses: list, posterior: dict, out: Path) -> list[Path]:
    """``posterior_predictive.csv``, ``.txt`` and a figure per condition; returns the files.
    ``posterior``: the sweep's ``rows`` ([sweep.posterior]) and ``counts`` (posterior_counts)."""
    rows = records(responses, posterior)
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
    for k, ((dose_path, condition), drs) in enumerate(groups(responses, posterior).items()):
        figure = _band_figure(dose_path, condition, drs)
        if figure is None:
            continue  # no draw has a slowdown to draw here; the tables say so
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
        bounds = row["draws_with_lower_bounds"]
        note = f" (a lower bound in {bounds} of {row['draws']} draws)" if bounds else ""
        out.append(
            f"  {row['quantity']:<28} {_num(row['median'])} [{_num(row['low_5'])}, {_num(row['high_95'])}]{note}"
        )
    return out


def _num(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.3g}"


def _band_figure(dose_path: str, condition: tuple, drs: list):
    plt = plotting._plt()
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    doses = drs[0].doses_nM
    positive = doses > 0
    per_draw = np.array([[_ratio(dr, i) for i in range(doses.size)] for dr in drs])[:, positive]
    if not np.isfinite(per_draw).any():
        plotting.close(figure)
        return None
    for row in per_draw:
        axes.plot(doses[positive], row, color="0.75", lw=0.6)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a dose with no finite value has no band: NaN, not drawn
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
