"""SweepData: the runs of a sweep as aligned arrays, the input of analysis and report.

Built from an archive (:func:`load_sweep`) or from in-memory results
(``SweepData.from_results``).  Row r of every 2-D array is run r.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geroconvert.archive.values import FIX
from geroconvert.errors import ArchiveError


@dataclass
class SweepData:
    keys: list[str]  # run keys, e.g. "g003_r01"
    replicate: np.ndarray  # int, replicate index of each run (same seed at every grid point)
    swept: dict[str, np.ndarray]  # config path -> value per run, e.g. "environment.rapamycin_nM"
    rpp_time_h: np.ndarray  # assay times (shared by all runs)
    rpp: np.ndarray  # [runs, assay times]
    series_time_h: np.ndarray  # record times (shared by all runs)
    series: dict[str, np.ndarray] = field(default_factory=dict)  # name -> [runs, record times]
    summary: dict[str, np.ndarray] = field(default_factory=dict)  # name -> value per run
    config_toml: str = ""

    @property
    def n_runs(self) -> int:
        return len(self.keys)

    def grid_points(self) -> list[tuple]:
        """Distinct combinations of swept values, in order of first appearance."""
        paths = sorted(self.swept)
        seen: dict[tuple, None] = {}
        for r in range(self.n_runs):
            seen.setdefault(tuple(self.swept[p][r] for p in paths), None)
        return list(seen)

    def runs_at(self, point: tuple) -> np.ndarray:
        """Indices of the runs at one grid point, ordered by replicate."""
        paths = sorted(self.swept)
        mask = np.ones(self.n_runs, bool)
        for path, value in zip(paths, point):
            mask &= self.swept[path] == value
        idx = np.flatnonzero(mask)
        return idx[np.argsort(self.replicate[idx], kind="stable")]

    @classmethod
    def from_results(cls, runs: list[tuple[str, int, dict, Any]], config_toml: str = "") -> SweepData:
        """From (key, replicate, swept values, Results) tuples of runs with the same schedule."""
        keys = [key for key, _, _, _ in runs]
        replicate = np.array([rep for _, rep, _, _ in runs], np.int64)
        paths = sorted({p for _, _, swept, _ in runs for p in swept})
        swept = {p: np.array([swept.get(p, np.nan) for _, _, swept, _ in runs]) for p in paths}
        results = [res for _, _, _, res in runs]
        first = results[0]
        rpp = (
            np.array([res.rpp["rpp"] for res in results], np.float64)
            if len(first.rpp.get("time_h", ()))
            else np.zeros((len(runs), 0))
        )
        series = {
            name: np.array([res.timeseries[name] for res in results]) for name in first.timeseries if name != "time_h"
        }
        summary_names = sorted({name for res in results for name in res.summary})
        summary = {
            name: np.array([res.summary.get(name, np.nan) for res in results], np.float64) for name in summary_names
        }
        return cls(
            keys=keys,
            replicate=replicate,
            swept=swept,
            rpp_time_h=np.asarray(first.rpp.get("time_h", np.zeros(0)), np.float64),
            rpp=rpp,
            series_time_h=np.asarray(first.timeseries.get("time_h", np.zeros(0))),
            series=series,
            summary=summary,
            config_toml=config_toml,
        )


def load_sweep(path: str | Path):
    """A :class:`~geroconvert.archive.sweepdata.SweepData` of every complete run in an archive.

    The archive is read through the schema check of ``info``; on top, a SweepData needs
    runs that share their record and assay times and agree on the type of each swept value.
    """
    from geroconvert.archive.reader import read_complete_runs

    archive, runs = read_complete_runs(path)
    if not runs:
        return SweepData(
            keys=[],
            replicate=np.zeros(0, np.int64),
            swept={},
            rpp_time_h=np.zeros(0),
            rpp=np.zeros((0, 0)),
            series_time_h=np.zeros(0),
            config_toml=archive["config_toml"],
        )
    series_time = _shared_times(path, runs, "timeseries", "record times")
    rpp_time = _shared_times(path, runs, "rpp", "RPP assay times")
    paths = sorted({p for run in runs.values() for p in run["attrs"]["swept"]})
    names = list(dict.fromkeys(n for run in runs.values() for n in run["timeseries"] if n != "time_h"))
    missing = np.full(series_time.size, math.nan)  # a series one run lacks, as /summary does for results
    summary_names = sorted({n for run in runs.values() for n in run["summary"]})
    return SweepData(
        keys=list(runs),
        replicate=np.array([run["attrs"]["replicate"] for run in runs.values()], np.int64),
        swept={p: _swept_values(path, runs, p) for p in paths},
        rpp_time_h=rpp_time,
        rpp=np.array([run["rpp"].get("rpp", np.zeros(0)) for run in runs.values()], np.float64),
        series_time_h=series_time,
        series={name: np.array([run["timeseries"].get(name, missing) for run in runs.values()]) for name in names},
        summary={n: np.array([run["summary"].get(n, math.nan) for run in runs.values()]) for n in summary_names},
        config_toml=archive["config_toml"],
    )


def _shared_times(path, runs: dict[str, dict], part: str, what: str) -> np.ndarray:
    """The time_h of ``part`` that every run shares (the rows of a SweepData are aligned on it)."""
    (first, run), *others = runs.items()
    times = np.asarray(run[part].get("time_h", np.zeros(0)), np.float64)
    for key, other in others:
        if not np.array_equal(np.asarray(other[part].get("time_h", np.zeros(0)), np.float64), times):
            raise ArchiveError(
                f"{path}: runs {first} and {key} have different {what}; a report compares runs of one schedule, "
                "so runs of another simulation.hours, record_every_h or assays.rpp_times_h need their own archive"
            )
    return times


def _swept_values(path, runs: dict[str, dict], name: str) -> np.ndarray:
    """One swept value per run: numbers (NaN where a run lacks it) or text (a list or table as its JSON)."""
    values = [run["attrs"]["swept"].get(name, math.nan) for run in runs.values()]
    values = [v if isinstance(v, (int, float, str)) else json.dumps(v) for v in values]
    kinds = {isinstance(v, str) for v in values if not (isinstance(v, float) and math.isnan(v))}
    if len(kinds) > 1:
        keys = {isinstance(v, str): key for key, v in zip(runs, values)}
        raise ArchiveError(
            f"{path}: swept value {name!r} is text in run {keys[True]} but a number in run {keys[False]}; {FIX}"
        )
    return np.array(values)
