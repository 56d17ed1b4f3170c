"""Runs as columns: the in-memory form of an archive of schema 2 (:mod:`geroconvert.archive.schema`).

A :class:`RunRows` holds any number of runs as aligned arrays, row r being run r; its
:class:`Curves` hold the (run x time) series on one time axis, the union of the runs'
times, with a mask of the times each run recorded.  The writer turns a RunRows into the
file's datasets one for one and the reader back, so batches of a sweep, the parts on
disk and whole archives are all joined the same way (:meth:`RunRows.concat`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

import numpy as np

from geroconvert.archive.provenance import RUN_FIELDS
from geroconvert.archive.schema import FLOAT_FILL, INT_FILL, natural_key


def fill_value(dtype) -> float | int:
    """What a time a run did not record holds in a dataset of ``dtype``."""
    return INT_FILL if np.dtype(dtype).kind in "iu" else FLOAT_FILL


@dataclass
class Curves:
    """Series of many runs on one time axis: ``values[name][r, t]`` is run r at ``time_h[t]``."""

    time_h: np.ndarray  # (T,) float64, increasing
    values: dict[str, np.ndarray]  # name -> (R, T), float64 or int64
    recorded: np.ndarray  # (R, T) bool: run r recorded time t

    @classmethod
    def empty(cls, n_runs: int = 0) -> Curves:
        return cls(np.zeros(0), {}, np.zeros((n_runs, 0), bool))

    @classmethod
    def of_run(cls, series: dict) -> Curves:
        """One run's series (``time_h`` and 1-D arrays as long) as a single row."""
        if series is None or len(series.get("time_h", ())) == 0:
            return cls.empty(1)
        time = np.asarray(series["time_h"], np.float64)
        values = {}
        for name, array in series.items():
            if name == "time_h":
                continue
            array = np.asarray(array)
            dtype = np.int64 if array.dtype.kind in "iub" else np.float64
            values[name] = array.astype(dtype).reshape(1, -1)
        return cls(time, values, np.ones((1, time.size), bool))

    @property
    def n_runs(self) -> int:
        return self.recorded.shape[0]

    @property
    def ragged(self) -> bool:
        """Whether some run lacks some of the times (then ``recorded`` is written)."""
        return not bool(self.recorded.all())

    def row(self, r: int) -> dict[str, np.ndarray]:
        """Run r's series at the times it recorded, ``time_h`` first (empty if it recorded none)."""
        mask = self.recorded[r]
        if not mask.any():
            return {}
        return {"time_h": self.time_h[mask].copy(), **{name: v[r, mask].copy() for name, v in self.values.items()}}

    def take(self, rows: np.ndarray) -> Curves:
        """The runs at ``rows``, on the times at least one of them recorded."""
        recorded = self.recorded[rows]
        times = recorded.any(axis=0)
        if times.all():
            return Curves(self.time_h, {n: v[rows] for n, v in self.values.items()}, recorded)
        return Curves(self.time_h[times], {n: v[rows][:, times] for n, v in self.values.items()}, recorded[:, times])

    @staticmethod
    def concat(parts: list[Curves]) -> Curves:
        """The rows of ``parts`` in order, on the union of their time axes."""
        n_runs = sum(part.n_runs for part in parts)
        times = [part.time_h for part in parts if part.time_h.size]
        if not times:
            return Curves.empty(n_runs)
        first = times[0]
        same = all(t.shape == first.shape and np.array_equal(t, first) for t in times)
        time = first if same else np.unique(np.concatenate(times))
        names: dict[str, np.dtype] = {}
        for part in parts:
            for name, column in part.values.items():
                if name not in names or column.dtype.kind == "f":  # a float run makes the column float
                    names[name] = column.dtype
        values = {name: np.full((n_runs, time.size), fill_value(dtype), dtype) for name, dtype in names.items()}
        recorded = np.zeros((n_runs, time.size), bool)
        start = 0
        for part in parts:
            stop = start + part.n_runs
            if part.time_h.size:
                where = np.searchsorted(time, part.time_h)
                recorded[start:stop, where] = part.recorded
                for name, column in part.values.items():
                    block = values[name][start:stop]
                    block[:, where] = np.where(part.recorded, column, fill_value(column.dtype))
                    values[name][start:stop] = block
            start = stop
        return Curves(time, values, recorded)


@dataclass
class RunRows:
    """Runs as columns, row r of every array being run ``keys[r]`` (see the module docstring)."""

    keys: list[str]
    replicate: np.ndarray  # int64
    seed: np.ndarray  # int64
    wall_s: np.ndarray  # float64
    created_utc: list[str]
    session: np.ndarray  # int64: the row of ``sessions`` whose software wrote the run
    overrides: list[str]  # JSON objects: config path -> value
    swept: list[str]  # JSON objects: config path -> value, the run's grid point
    summary: dict[str, np.ndarray]  # result name -> float64 (NaN where a run lacks it)
    timeseries: Curves
    rpp: Curves
    events: dict[str, np.ndarray]  # event name -> int64 total over the run (-1 where a run lacks it)
    sessions: list[dict] = field(default_factory=list)  # RUN_FIELDS -> value, per writing session
    snapshots: dict[str, dict[float, dict[str, np.ndarray]]] = field(default_factory=dict)  # run -> time -> field
    units: dict[str, str] = field(default_factory=dict)  # series name -> units (as Results.units)

    @property
    def n_runs(self) -> int:
        return len(self.keys)

    @classmethod
    def empty(cls) -> RunRows:
        return cls(
            keys=[],
            replicate=np.zeros(0, np.int64),
            seed=np.zeros(0, np.int64),
            wall_s=np.zeros(0),
            created_utc=[],
            session=np.zeros(0, np.int64),
            overrides=[],
            swept=[],
            summary={},
            timeseries=Curves.empty(),
            rpp=Curves.empty(),
            events={},
        )

    @classmethod
    def of_run(
        cls,
        key: str,
        results,
        *,
        seed: int,
        replicate: int,
        overrides: dict,
        swept: dict,
        wall_s: float,
        created_utc: str,
        session: dict,
        snapshots: bool = True,
    ) -> RunRows:
        """One finished run (a :class:`~geroconvert.core.recorder.Results`) as a single row.

        ``wall_s`` is the run's one wall time (the caller's, which covers set-up too): it
        replaces the results' own in the summary.
        """
        summary = {name: np.array([float(value)]) for name, value in (results.summary or {}).items()}
        if "wall_s" in summary:
            summary["wall_s"] = np.array([float(wall_s)])
        return cls(
            keys=[key],
            replicate=np.array([replicate], np.int64),
            seed=np.array([seed], np.int64),
            wall_s=np.array([float(wall_s)]),
            created_utc=[created_utc],
            session=np.zeros(1, np.int64),
            overrides=[json.dumps(overrides or {}, sort_keys=True, default=str)],
            swept=[json.dumps(swept or {}, sort_keys=True, default=str)],
            summary=summary,
            timeseries=Curves.of_run(results.timeseries),
            rpp=Curves.of_run(results.rpp),
            events={name: np.array([int(value)], np.int64) for name, value in (results.events or {}).items()},
            sessions=[{name: session.get(name, "") for name in RUN_FIELDS}],
            snapshots={key: dict(results.snapshots)} if snapshots and results.snapshots else {},
            units=dict(results.units or {}),
        )

    def take(self, rows) -> RunRows:
        """The runs at ``rows`` (indices), in that order."""
        rows = np.asarray(rows, np.int64)
        keys = [self.keys[r] for r in rows]
        return replace(
            self,
            keys=keys,
            replicate=self.replicate[rows],
            seed=self.seed[rows],
            wall_s=self.wall_s[rows],
            created_utc=[self.created_utc[r] for r in rows],
            session=self.session[rows],
            overrides=[self.overrides[r] for r in rows],
            swept=[self.swept[r] for r in rows],
            summary={n: v[rows] for n, v in self.summary.items()},
            timeseries=self.timeseries.take(rows),
            rpp=self.rpp.take(rows),
            events={n: v[rows] for n, v in self.events.items()},
            snapshots={k: self.snapshots[k] for k in keys if k in self.snapshots},
        )

    def sorted(self) -> RunRows:
        """The runs in natural key order (``g2`` before ``g10``), a key seen twice kept once (its first)."""
        first: dict[str, int] = {}
        for r, key in enumerate(self.keys):
            first.setdefault(key, r)
        order = sorted(first, key=natural_key)
        rows = [first[key] for key in order]
        return self if rows == list(range(self.n_runs)) else self.take(rows)

    @staticmethod
    def concat(parts: list[RunRows]) -> RunRows:
        """The runs of ``parts`` one after the other; sessions of equal software become one."""
        parts = [part for part in parts if part.n_runs] or parts[:1] or [RunRows.empty()]
        sessions: list[dict] = []
        remapped = []
        for part in parts:
            index = []
            for session in part.sessions:
                if session not in sessions:
                    sessions.append(session)
                index.append(sessions.index(session))
            remapped.append(np.asarray(index, np.int64)[part.session] if part.n_runs else part.session)
        summary_names = list(dict.fromkeys(name for part in parts for name in part.summary))
        event_names = list(dict.fromkeys(name for part in parts for name in part.events))

        def column(name: str, table: str, fill, dtype) -> np.ndarray:
            return np.concatenate(
                [getattr(part, table).get(name, np.full(part.n_runs, fill, dtype)) for part in parts]
            ).astype(dtype)

        return RunRows(
            keys=[key for part in parts for key in part.keys],
            replicate=np.concatenate([part.replicate for part in parts]),
            seed=np.concatenate([part.seed for part in parts]),
            wall_s=np.concatenate([part.wall_s for part in parts]),
            created_utc=[value for part in parts for value in part.created_utc],
            session=np.concatenate(remapped),
            overrides=[value for part in parts for value in part.overrides],
            swept=[value for part in parts for value in part.swept],
            summary={name: column(name, "summary", math.nan, np.float64) for name in summary_names},
            timeseries=Curves.concat([part.timeseries for part in parts]),
            rpp=Curves.concat([part.rpp for part in parts]),
            events={name: column(name, "events", INT_FILL, np.int64) for name in event_names},
            sessions=sessions,
            snapshots={k: v for part in parts for k, v in part.snapshots.items()},
            units={k: v for part in parts for k, v in part.units.items()},
        )

    # -- per-run views, as the readers of schema 1 gave them
    def swept_of(self, r: int) -> dict:
        return json.loads(self.swept[r])

    def overrides_of(self, r: int) -> dict:
        return json.loads(self.overrides[r])

    def summary_of(self, r: int) -> dict[str, float]:
        """Run r's results; NaN where the result is undefined (t50_h of a curve that never
        falls to 0.5) or, in an archive of runs with different results, where it lacks one."""
        return {name: float(v[r]) for name, v in self.summary.items()}

    def events_of(self, r: int) -> dict[str, int]:
        return {name: int(v[r]) for name, v in self.events.items() if v[r] != INT_FILL}


def swept_columns(rows: RunRows) -> dict[str, np.ndarray]:
    """One /summary column per swept config path: int64 or float64 numbers (NaN where a run
    lacks the path), or text (a list or table as its JSON, "" where a run lacks it)."""
    swept = [rows.swept_of(r) for r in range(rows.n_runs)]
    names = list(dict.fromkeys(name for point in swept for name in point))
    columns: dict[str, np.ndarray] = {}
    for name in names:
        values = [point.get(name) for point in swept]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            if all(isinstance(v, int) for v in present) and len(present) == len(values):
                columns[name] = np.array(values, np.int64)
            else:
                columns[name] = np.array([math.nan if v is None else float(v) for v in values], np.float64)
        else:
            columns[name] = np.array(
                ["" if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values], dtype=object
            )
    return columns
