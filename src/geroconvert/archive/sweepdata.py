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
    """A :class:`~geroconvert.archive.sweepdata.SweepData` of every complete run in an archive."""
    from geroconvert.archive.hdf5 import read_archive, read_run

    archive = read_archive(path)
    keys = [k for k, attrs in archive["runs"].items() if attrs.get("status") == "complete"]
    runs = [read_run(path, key) for key in keys]
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
    paths = sorted({p for run in runs for p in run["attrs"].get("swept", {})})
    first = runs[0]
    rpp_time = np.asarray(first["rpp"].get("time_h", np.zeros(0)), np.float64)
    series_time = np.asarray(first["timeseries"].get("time_h", np.zeros(0)), np.float64)
    summary_names = sorted({n for run in runs for n in run["summary"]})
    return SweepData(
        keys=keys,
        replicate=np.array([int(run["attrs"].get("replicate", 0)) for run in runs], np.int64),
        swept={p: np.array([run["attrs"]["swept"].get(p, math.nan) for run in runs]) for p in paths},
        rpp_time_h=rpp_time,
        rpp=np.array([run["rpp"].get("rpp", np.zeros(0)) for run in runs], np.float64),
        series_time_h=series_time,
        series={
            name: np.array([run["timeseries"][name] for run in runs])
            for name in first["timeseries"]
            if name != "time_h"
        },
        summary={n: np.array([run["summary"].get(n, math.nan) for run in runs]) for n in summary_names},
        config_toml=archive["config_toml"],
    )
