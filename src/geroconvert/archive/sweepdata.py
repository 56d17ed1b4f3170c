"""SweepData: the runs of a sweep as aligned arrays, the input of analysis and report.

Built from an archive (:func:`load_sweep`) or from in-memory results
(``SweepData.from_results``).  Row r of every 2-D array is run r.
"""

from __future__ import annotations

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
    _index: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def n_runs(self) -> int:
        return len(self.keys)

    def run_timeseries(self, run: int) -> dict[str, np.ndarray]:
        """Run ``run``'s time series as one run's results give them: ``time_h`` and every series."""
        return {"time_h": self.series_time_h, **{name: values[run] for name, values in self.series.items()}}

    def grid_points(self) -> list[tuple]:
        """Distinct combinations of swept values (in the sorted order of the swept paths), in
        order of first appearance."""
        return list(self._runs_by_point())

    def runs_at(self, point: tuple) -> np.ndarray:
        """Indices of the runs at one grid point, ordered by replicate."""
        if any(isinstance(v, float) and math.isnan(v) for v in point):  # NaN equals nothing, not even itself
            return np.zeros(0, np.int64)
        idx = self._runs_by_point().get(point)
        if idx is None:  # a point given from outside the grid (e.g. 1 for 1.0 matches, as == does)
            mask = np.ones(self.n_runs, bool)
            for path, value in zip(sorted(self.swept), point):
                mask &= self.swept[path] == value
            idx = np.flatnonzero(mask)
        return idx[np.argsort(self.replicate[idx], kind="stable")]

    def _runs_by_point(self) -> dict[tuple, np.ndarray]:
        """Grid point -> its runs, built once: a report of 20,000 points asks for each."""
        if self._index is None or self._index[0] != self.n_runs:
            paths = sorted(self.swept)
            columns = [self.swept[p].tolist() for p in paths]
            groups: dict[tuple, list[int]] = {}
            for r in range(self.n_runs):
                groups.setdefault(tuple(column[r] for column in columns), []).append(r)
            self._index = (self.n_runs, {point: np.array(rows, np.int64) for point, rows in groups.items()})
        return self._index[1]

    @classmethod
    def from_archive(cls, archive) -> SweepData:
        """From an :class:`~geroconvert.archive.frames.Archive` (``geroconvert.open_archive``)."""
        return sweep_of(archive.path, archive.checked)

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
    """A :class:`~geroconvert.archive.sweepdata.SweepData` of every run in an archive.

    The archive is read through the schema check of ``info`` (its parts included); on top,
    a SweepData needs runs that share their record and assay times and agree on the type
    of each swept value.
    """
    from geroconvert.archive.reader import read_rows

    return sweep_of(path, read_rows(path))


def sweep_of(path, checked) -> SweepData:
    """A SweepData of an archive already read (:func:`geroconvert.archive.reader.read_rows`)."""
    from geroconvert.archive.table import swept_columns

    rows = checked.rows
    for curves, what in ((rows.timeseries, "record times"), (rows.rpp, "RPP assay times")):
        if curves.ragged:
            first, other = _differing_runs(rows.keys, curves.recorded)
            raise ArchiveError(
                f"{path}: runs {first} and {other} have different {what}; a report compares runs of one schedule, "
                "so runs of another simulation.hours, record_every_h or assays.rpp_times_h need their own archive"
            )
    swept = swept_columns(rows)
    for name, values in swept.items():
        if values.dtype == object:
            _check_text_column(path, rows, name)
    return SweepData(
        keys=list(rows.keys),
        replicate=rows.replicate.copy(),
        swept={name: swept[name] for name in sorted(swept)},
        rpp_time_h=rows.rpp.time_h,
        rpp=np.asarray(rows.rpp.values.get("rpp", np.zeros((rows.n_runs, 0))), np.float64),
        series_time_h=rows.timeseries.time_h,
        series=dict(rows.timeseries.values),
        summary={name: rows.summary[name] for name in sorted(rows.summary)},
        config_toml=checked.config_toml,
    )


def _differing_runs(keys: list[str], recorded: np.ndarray) -> tuple[str, str]:
    """Two runs whose recorded times differ (the first run and the first that differs from it)."""
    differs = [r for r in range(1, len(keys)) if not np.array_equal(recorded[r], recorded[0])]
    return keys[0], keys[differs[0] if differs else len(keys) - 1]


def _check_text_column(path, rows, name: str) -> None:
    """A swept value must be text in every run or a number in every run (that has it)."""
    kinds: dict[bool, str] = {}
    for r in range(rows.n_runs):
        value = rows.swept_of(r).get(name)
        if value is not None:
            kinds.setdefault(isinstance(value, (int, float)) and not isinstance(value, bool), rows.keys[r])
    if len(kinds) > 1:
        raise ArchiveError(
            f"{path}: swept value {name!r} is text in run {kinds[False]} but a number in run {kinds[True]}; {FIX}"
        )
