"""The validation suite: published in-vitro experiments, number by number.

    geroconvert validate [--quick] [--json FILE]

Each case names the published value and its source, the simulated value with its
interval, and the accepted band; the band comes from the publication, not from what
the model printed.  The HT-p21 control and 500 nM rapamycin cases are the targets the
model was calibrated to (``geroconvert.studies.calibration``), so they check that the
calibration holds at this size and seed set; everything else is a prediction.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass

import numpy as np

from geroconvert.analysis import stats as analysis
from geroconvert.archive.sweepdata import SweepData

# RPP every 12 h over the reversible window, then daily: enough to place t50 within hours
RPP_TIMES_H = [float(t) for t in range(0, 97, 12)] + [float(t) for t in range(120, 385, 24)]
RAPAMYCIN_DOSES_NM = {
    "quick": [0.0, 0.01, 0.1, 1.0, 10.0, 100.0, 500.0, 1000.0],
    "full": [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 500.0, 1000.0],
}
PAN_MTOR_NM = 300.0
SIZES = {
    "quick": {"replicates": 3, "width": 48, "height": 48, "max_cells": 250},
    "full": {"replicates": 8, "width": 64, "height": 64, "max_cells": 500},
}


@dataclass
class Case:
    case: str
    published: str
    source: str
    simulated: float
    interval: tuple[float, float]
    low: float
    high: float
    passed: bool
    note: str = ""
    # where a documented shortfall is explained: the case still prints FAIL, but the exit
    # code is that of the other cases; one that passes again says so
    known_failure: str = ""

    @property
    def unexpected_failure(self) -> bool:
        return not self.passed and not self.known_failure

    def as_json(self) -> dict:
        data = {key: value.item() if isinstance(value, np.generic) else value for key, value in asdict(self).items()}
        data["passed"] = bool(self.passed)
        data["interval"] = [None if not math.isfinite(v) else float(v) for v in self.interval]
        for key in ("simulated", "low", "high"):  # JSON has no infinities: an open end is null
            data[key] = None if not math.isfinite(data[key]) else data[key]
        return data


def in_band(value: float, low: float, high: float) -> bool:
    return math.isfinite(value) and low <= value <= high


def base_config(size: str, cells: dict | None = None) -> dict:
    """The HT-p21 protocol: inducer on at t = 0 in serum, RPP measured over 16 days;
    ``cells`` changes cell parameters (a posterior draw of the fitted constants)."""
    s = SIZES[size]
    return {
        "simulation": {
            "geometry": "dish",
            "width": s["width"],
            "height": s["height"],
            "initial_density": 0.15,
            "dt_h": 1.0,
            "hours": RPP_TIMES_H[-1],
            "record_every_h": 24.0,
        },
        "environment": {"inducer": 1.0},
        "cells": {"paramset": "ht_p21", **(cells or {})},
        "assays": {"rpp_times_h": RPP_TIMES_H, "max_cells": s["max_cells"]},
    }


def experiments(size: str, cells: dict | None = None) -> dict[str, dict]:
    """The sweeps the cases read, as config mappings with a [sweep] section."""
    reps = SIZES[size]["replicates"]
    base = base_config(size, cells)
    return {
        "rapamycin": {
            **base,
            "sweep": {"replicates": reps, "grid": {"environment.rapamycin_nM": RAPAMYCIN_DOSES_NM[size]}},
        },
        "pan_mtor": {**base, "sweep": {"replicates": reps, "grid": {"environment.pan_mtor_nM": [0.0, PAN_MTOR_NM]}}},
        "conditions": {
            **base,
            "sweep": {
                "replicates": reps,
                "zip": {
                    "environment.oxygen": [1.0, 0.05, 1.0, 1.0],
                    "environment.mitogen": [1.0, 1.0, 0.0, 1.0],
                    "simulation.initial_density": [0.15, 0.15, 0.15, 1.0],
                },
            },
        },
    }


def run_experiments(
    size: str, workers: int | None = None, progress=None, cells: dict | None = None
) -> dict[str, SweepData]:
    """Run every sweep in memory on local processes; returns SweepData by name."""
    from geroconvert.studies.executors import on_local
    from geroconvert.studies.sweep import base_mapping, plan_runs

    plans = {name: (mapping, plan_runs(mapping)) for name, mapping in experiments(size, cells).items()}
    total = sum(len(specs) for _, specs in plans.values())
    done = 0
    out = {}
    import os

    workers = workers or os.cpu_count() or 1
    for name, (mapping, specs) in plans.items():
        finished = []
        source = on_local(specs, base_mapping(mapping), min(workers, len(specs)))
        with contextlib.closing(source):  # ends the workers on an error, whatever keeps the traceback
            for spec, outcome in source:
                if isinstance(outcome, BaseException):
                    raise RuntimeError(f"validation run {name}/{spec.key} failed: {outcome}")
                finished.append((spec, outcome))
                done += 1
                if progress:
                    progress(done, total)
        finished.sort(key=lambda item: item[0].key)
        out[name] = SweepData.from_results([(s.key, s.replicate, s.overrides, res) for s, res in finished])
    return out


def _control_rpp_cases(rapamycin: SweepData) -> list[Case]:
    control = rapamycin.runs_at((0.0,))
    band = analysis.rpp_band(rapamycin.rpp[control])
    times = rapamycin.rpp_time_h
    cases = []
    for t, low, high, published, note in (
        # the calibration fits RPP(72 h) (and t50); RPP at 48 h is a published number it does not use
        (48.0, 0.7, 1.0, "RPP kept for ~2 days", "not a calibration target: a check on it"),
        (72.0, 0.0, 0.5, "RPP mostly lost by day 3", "calibration target"),
    ):
        i = int(np.flatnonzero(times == t)[0])
        value = float(band["mean"][i])
        cases.append(
            Case(
                f"control RPP at {t:.0f} h",
                published,
                "Leontieva & Blagosklonny 2013, Cell Cycle 12:3063",
                value,
                (float(band["low"][i]), float(band["high"][i])),
                low,
                high,
                in_band(value, low, high),
                note,
            )
        )
    return cases


def _rapamycin_cases(response) -> list[Case]:
    rows = {row["dose_nM"]: row for row in response.rows()}
    at500 = rows[500.0]
    value = at500["slowdown"]
    cases = [
        Case(
            "t50 slowdown by rapamycin 500 nM",
            "approximately 3-fold, not complete",
            "Demidenko et al. 2009, Cell Cycle 8:1888; Leontieva & Blagosklonny 2011 (dose)",
            value,
            tuple(at500["slowdown_ci"]),
            2.5,
            3.5,
            in_band(value, 2.5, 3.5),
            "calibration target",
        )
    ]
    hill = response.hill
    cases.append(
        Case(
            "rapamycin slowdown saturates: fitted maximum",
            "incomplete (~3-fold plateau)",
            "Demidenko et al. 2009; Choo et al. 2008 (4E-BP1 escapes rapamycin)",
            hill.smax,
            tuple(hill.smax_ci),
            1.0,
            4.0,
            hill.converged and in_band(hill.smax, 1.0, 4.0),
            "prediction" + ("" if hill.converged else f"; fit: {hill.message}"),
        )
    )
    cases.append(
        Case(
            "rapamycin EC50 of the slowdown (nM)",
            "S6K IC50 ~0.1-1 nM",
            "commonly quoted, no single source (summary)",
            hill.ec50_nM,
            tuple(hill.ec50_ci),
            0.01,
            10.0,
            hill.converged and in_band(hill.ec50_nM, 0.01, 10.0),
            "prediction",
        )
    )
    return cases


def _pan_mtor_case(pan, rapamycin_response) -> Case:
    response = analysis.dose_response(pan, "environment.pan_mtor_nM", n_boot=500, hill_boot=0)
    row = {r["dose_nM"]: r for r in response.rows()}[PAN_MTOR_NM]
    # a censored t50 (geroconversion nearly stopped) is reported as its lower bound
    value = row["slowdown"] if math.isfinite(row["slowdown"]) else row["slowdown_lower_bound"]
    best_rapamycin = max(r["slowdown"] for r in rapamycin_response.rows() if math.isfinite(r["slowdown"]))
    note = "prediction" + ("; censored: lower bound" if row["slowdown_n_censored"] else "")
    return Case(
        f"pan-mTOR {PAN_MTOR_NM:.0f} nM slows more than rapamycin at any dose",
        "Torin1 beats rapamycin (maximal at 30 nM)",
        "Leontieva et al. 2015, Oncotarget 6:23238",
        value,
        tuple(row["slowdown_ci"]),
        best_rapamycin,
        math.inf,
        value > best_rapamycin,
        note + f"; best rapamycin slowdown {best_rapamycin:.2f}",
    )


def _condition_cases(conditions: SweepData) -> list[Case]:
    points = conditions.grid_points()  # in zip order: control, hypoxia, serum starvation, dense
    names: tuple[tuple[str, str], ...] = (
        ("control", ""),
        ("hypoxia (1% O2)", "Leontieva et al. 2012, PNAS 109:13314"),
        ("serum starvation", "Leontieva & Blagosklonny 2010, Aging 2"),
        ("contact inhibition (confluent)", "Leontieva et al. 2014, PNAS 111:8832"),
    )
    t50 = np.array(
        [[analysis.t50(conditions.rpp_time_h, conditions.rpp[r]) for r in conditions.runs_at(p)] for p in points]
    )
    last = conditions.rpp_time_h[-1]
    cases = []
    for i in range(1, len(points)):
        slow = analysis.paired_slowdown(t50[i], t50[0], n_boot=500, censor_time_h=last)
        value = slow.ratio if math.isfinite(slow.ratio) else slow.lower_bound
        label, source = names[i]
        cases.append(
            Case(
                f"{label}: t50 at least doubled",
                "arrested cells stay quiescent (RPP kept)",
                source,
                value,
                (slow.ci_low, slow.ci_high),
                2.0,
                math.inf,
                in_band(value, 2.0, math.inf),
                "prediction" + ("; censored: lower bound" if slow.n_censored else ""),
            )
        )
    return cases


def evaluate(data: dict[str, SweepData]) -> list[Case]:
    rapamycin = analysis.dose_response(data["rapamycin"], "environment.rapamycin_nM", n_boot=500, hill_boot=200)
    return (
        _control_rpp_cases(data["rapamycin"])
        + _rapamycin_cases(rapamycin)
        + [_pan_mtor_case(data["pan_mtor"], rapamycin)]
        + _condition_cases(data["conditions"])
    )


def format_table(cases: list[Case]) -> str:
    def num(x):
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return "n/a" if not math.isfinite(x) else f"{x:.3g}"

    header = ("case", "published (source)", "simulated [interval]", "band", "result")
    rows = [
        (
            c.case,
            f"{c.published} ({c.source})",
            f"{num(c.simulated)} [{num(c.interval[0])}, {num(c.interval[1])}]",
            f"{num(c.low)} to {num(c.high)}",
            result_text(c),
        )
        for c in cases
    ]
    widths = [min(60, max(len(r[i]) for r in rows + [header])) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    for row in rows:
        lines.append("  ".join(cell[:w].ljust(w) for cell, w in zip(row, widths)))
    passed = sum(c.passed for c in cases)
    known = sum(not c.passed and bool(c.known_failure) for c in cases)
    lines.append(f"{passed} passed, {len(cases) - passed} failed" + (f" ({known} known, documented)" if known else ""))
    for c in cases:
        if not c.passed and c.known_failure:
            lines.append(f"known failure: {c.case}: see {c.known_failure}")
        elif c.passed and c.known_failure:
            lines.append(f"now passes: {c.case}: drop its known-failure mark and update {c.known_failure}")
    return "\n".join(lines)


def result_text(case: Case) -> str:
    if case.passed:
        return "pass"
    return "FAIL (known)" if case.known_failure else "FAIL"
