"""Writing archives of schema 2: :func:`write_archive` lays a :class:`~geroconvert.archive.table.RunRows`
out as the file's datasets, and :class:`ArchiveWriter` collects runs and writes them when it closes.

An archive is always written whole, in one go, into a new file or an in-memory buffer
(:func:`geroconvert.archive.output.atomic_output` and the sweep's parts write that way,
so HDF5 never meets a full disk and a crash never leaves half a file).  The layout is in
:mod:`geroconvert.archive.schema`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import BinaryIO

import numpy as np

from geroconvert.archive.provenance import RUN_FIELDS
from geroconvert.archive.schema import (
    RPP_LONG_NAMES,
    RPP_UNITS,
    RUN_DIM,
    SCHEMA_VERSION,
    TIME_DIM,
    check_key,
    import_h5py,
    sha256_text,
    summary_units,
    utf8_dtype,
)
from geroconvert.archive.table import Curves, RunRows, fill_value, swept_columns
from geroconvert.errors import ArchiveError

COMPRESS_ABOVE = 4096  # values: larger datasets are chunked and compressed


class ArchiveWriter:
    """Collect runs and write them as one archive when closed (use as a context manager).

    ``ArchiveWriter(path, config_text)`` makes a new archive; ``ArchiveWriter(path,
    mode="a")`` adds runs to an existing one (read and checked first; a ``config_text``
    given must match the stored one), which is then replaced in one step.  ``path`` may be
    an in-memory buffer (``io.BytesIO``; for ``mode="a"`` holding the archive's bytes).
    Leaving the ``with`` block by an exception writes nothing.

    ``provenance`` (default: collected when first needed) is this writing session's: the
    root attributes of a new file, and the /sessions row of every run it adds, so runs that
    a resume adds under another version say so.
    """

    def __init__(
        self,
        path: str | Path | BinaryIO,
        config_text: str | None = None,
        mode: str = "w",
        provenance: dict | None = None,
        command: str | None = None,
    ):
        if mode not in ("w", "a"):
            raise ValueError(f"mode must be 'w' or 'a', not {mode!r}")
        self.target = path
        self.path = Path(path) if isinstance(path, str | Path) else Path("<memory>")
        self.mode = mode
        self._provenance = provenance
        self._command = command
        self.closed = False
        if mode == "w":
            self.config_text = config_text or ""
            self.root: dict | None = None  # the session's provenance, collected at close
            self.rows = RunRows.empty()
        else:
            from geroconvert.archive.reader import read_file

            stored = read_file(path, self.path, snapshots=True)  # the file is rewritten: keep them
            if config_text is not None and stored.config_sha256 != sha256_text(config_text):
                raise ArchiveError(
                    f"{self.path}: its /config differs from this config; "
                    "runs of different configs do not belong in one archive"
                )
            self.config_text = stored.config_toml
            self.root = stored.attrs
            self.rows = stored.rows
        self._added: list[RunRows] = []

    def session_provenance(self, command: str | None = None) -> dict:
        """The provenance of this writing session, collected on first use (it asks git)."""
        if self._provenance is None:
            from geroconvert.archive.provenance import collect

            self._provenance = collect(command=command or self._command)
        return self._provenance

    # -- context manager
    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.closed = True  # an error or a stop: nothing is written

    def close(self) -> None:
        """Write the archive (once)."""
        if self.closed:
            return
        self.closed = True
        rows = RunRows.concat([self.rows, *self._added])
        root = self.root if self.root is not None else self.session_provenance()
        if self.mode == "a" and not isinstance(self.target, io.BytesIO):
            from geroconvert.archive.output import replace_with_bytes

            buffer = io.BytesIO()
            write_archive(buffer, self.config_text, root, rows)
            replace_with_bytes(self.path, buffer.getvalue(), "then add the runs again")
            return
        if isinstance(self.target, io.BytesIO):
            self.target.seek(0)
            self.target.truncate()
        write_archive(self.target, self.config_text, root, rows)

    # -- runs
    def new_rows(self) -> RunRows:
        """The runs added so far (not those the archive held), as a sweep's part holds them."""
        return RunRows.concat(self._added)

    def run_keys(self) -> list[str]:
        return RunRows.concat([self.rows, *self._added]).sorted().keys

    def has_run(self, key: str) -> bool:
        return key in self.rows.keys or any(key in added.keys for added in self._added)

    def add_run(
        self,
        key: str,
        results,
        seed: int,
        overrides: dict | None = None,
        replicate: int = 0,
        swept: dict | None = None,
        snapshots: bool = True,
        wall_s: float | None = None,
        replace: bool = False,
    ) -> None:
        """Add one finished run (a :class:`~geroconvert.core.recorder.Results`).

        ``swept`` maps config paths to this run's values (they become /summary columns and
        per-run coordinates); ``wall_s`` (default: the results' own) becomes the run's
        ``wall_s`` in /runs and /summary.
        """
        from geroconvert.archive.provenance import utc_now

        check_key(key)
        if self.has_run(key):
            if not replace:
                raise ArchiveError(f"{self.path}: run {key!r} already exists")
            self._drop(key)
        wall = float(wall_s if wall_s is not None else (results.summary or {}).get("wall_s", np.nan))
        self._added.append(
            RunRows.of_run(
                key,
                results,
                seed=seed,
                replicate=replicate,
                overrides=overrides or {},
                swept=swept or {},
                wall_s=wall,
                created_utc=utc_now(),
                session=self.session_provenance(),
                snapshots=snapshots,
            )
        )

    def _drop(self, key: str) -> None:
        def without(rows: RunRows) -> RunRows:
            return rows.take([r for r, k in enumerate(rows.keys) if k != key]) if key in rows.keys else rows

        self.rows = without(self.rows)
        self._added = [without(added) for added in self._added]


# -- the layout ------------------------------------------------------------------------------


def write_archive(target, config_text: str, root: dict, rows: RunRows) -> None:
    """Write a whole archive of schema 2 into ``target`` (a path or a writable buffer)."""
    h5py = import_h5py()
    rows = rows.sorted()
    with h5py.File(target, "w", track_order=True) as f:
        f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
        for name, value in root.items():
            if name != "schema_version":
                f.attrs[name] = int(value) if isinstance(value, bool) else value
        config = f.create_group("config")
        config.create_dataset("toml", data=config_text, dtype=utf8_dtype())
        digest = sha256_text(config_text)
        config.attrs["sha256"] = digest
        config["toml"].attrs["sha256"] = digest
        _write_runs(f, rows)
        _write_sessions(f, rows.sessions)
        swept = swept_columns(rows)
        _write_summary(f, rows, swept)
        coords = {"replicate": rows.replicate, "seed": rows.seed, **swept}
        series_units = {name: rows.units.get(name, "1") for name in rows.timeseries.values}
        _write_curves(f, "timeseries", rows, rows.timeseries, coords, series_units, _series_long_names())
        _write_curves(f, "rpp", rows, rows.rpp, coords, RPP_UNITS, RPP_LONG_NAMES)
        events = _group_with_runs(f, "events", rows)
        for name, values in rows.events.items():
            _dataset(events, name, values, (events[RUN_DIM],), "1", f"{name.replace('_', ' ')} events over the run")
        if rows.snapshots:
            _write_snapshots(f.create_group("snapshots"), rows.snapshots)


def _series_long_names() -> dict[str, str]:
    from geroconvert.core.recorder import SERIES_LONG_NAMES

    return SERIES_LONG_NAMES


def _dataset(group, name: str, values, dims: tuple, units: str | None, long_name: str, fill=None):
    """A dataset with its dimension scales attached, ``units`` and ``long_name``."""
    values = np.asarray(values)
    options: dict = {}
    if values.dtype == object:
        options["dtype"] = utf8_dtype()
    elif values.size > COMPRESS_ABOVE:
        options.update(compression="gzip", shuffle=True, chunks=True)
    if fill is not None:
        options["fillvalue"] = fill
    dataset = group.create_dataset(name, data=values, **options)
    if units is not None:
        dataset.attrs["units"] = units
    dataset.attrs["long_name"] = long_name
    for axis, scale in enumerate(dims):
        dataset.dims[axis].attach_scale(scale)
    return dataset


def _text(values) -> np.ndarray:
    return np.array(list(values), dtype=object) if len(values) else np.zeros(0, dtype=object)


def _group_with_runs(f, name: str, rows: RunRows):
    """A group whose first dataset is the ``run`` dimension scale (the run keys)."""
    group = f.create_group(name, track_order=True)
    scale = group.create_dataset(RUN_DIM, data=_text(rows.keys), dtype=utf8_dtype())
    scale.attrs["long_name"] = "run key"
    scale.make_scale(RUN_DIM)
    return group


def _write_runs(f, rows: RunRows) -> None:
    group = _group_with_runs(f, "runs", rows)
    run = (group[RUN_DIM],)
    _dataset(group, "replicate", rows.replicate, run, "1", "replicate: the run's seed is the sweep seed + replicate")
    _dataset(group, "seed", rows.seed, run, "1", "random seed of the run")
    _dataset(group, "wall_s", rows.wall_s, run, "s", "wall time of the run, set-up included, compilation not")
    _dataset(group, "created_utc", _text(rows.created_utc), run, None, "when the run was written (UTC, ISO 8601)")
    _dataset(group, "session", rows.session, run, "1", "row of /sessions: the software that wrote the run")
    _dataset(group, "overrides", _text(rows.overrides), run, None, "config overrides of the run (JSON object)")
    _dataset(group, "swept", _text(rows.swept), run, None, "the run's grid point: config path -> value (JSON)")


def _write_sessions(f, sessions: list[dict]) -> None:
    group = f.create_group("sessions", track_order=True)
    scale = group.create_dataset("session", data=np.arange(len(sessions), dtype=np.int64))
    scale.attrs["long_name"] = "writing session (a resumed sweep adds one)"
    scale.make_scale("session")
    for name in RUN_FIELDS:
        values = [session.get(name, "") for session in sessions]
        if name == "git_dirty":
            data = np.array([int(bool(v)) for v in values], np.int64)
            _dataset(group, name, data, (scale,), "1", "1 if the source tree had uncommitted changes")
        else:
            _dataset(group, name, _text([str(v) for v in values]), (scale,), None, name.replace("_", " "))


def _write_summary(f, rows: RunRows, swept: dict[str, np.ndarray]) -> None:
    group = _group_with_runs(f, "summary", rows)
    run = (group[RUN_DIM],)
    group.attrs["swept_columns"] = json.dumps(list(swept))
    _dataset(group, "replicate", rows.replicate, run, "1", "replicate")
    _dataset(group, "seed", rows.seed, run, "1", "random seed of the run")
    for name, values in swept.items():
        _dataset(group, name, values, run, None if values.dtype == object else summary_units(name), f"swept: {name}")
    series_units = dict(rows.units)
    for name, values in rows.summary.items():
        if name in group:
            continue
        _dataset(group, name, values, run, summary_units(name, series_units), _summary_long_name(name))


def _summary_long_name(name: str) -> str:
    known = {
        "t50_h": "time at which RPP first falls to 0.5 (linear interpolation; NaN if it never does)",
        "rpp_final": "RPP at the last assay",
        "wall_s": "wall time of the run, set-up included, compilation not",
        "compile_s": "numba compilation or cache loading during the run",
    }
    if name in known:
        return known[name]
    if name.startswith("final_"):
        return f"{name[6:]} at the last record"
    return name.replace("_", " ")


def _write_curves(f, name: str, rows: RunRows, curves: Curves, coords: dict, units: dict, long_names: dict) -> None:
    group = _group_with_runs(f, name, rows)
    run = group[RUN_DIM]
    time = group.create_dataset(TIME_DIM, data=np.asarray(curves.time_h, np.float64))
    time.attrs["units"] = "h"
    time.attrs["long_name"] = long_names.get("time_h", "time since the start of the run")
    time.make_scale(TIME_DIM)
    for coord, values in coords.items():
        is_text = np.asarray(values).dtype == object
        _dataset(group, coord, values, (run,), None if is_text else summary_units(coord), coord)
    coordinates = " ".join(coords)
    for series, values in curves.values.items():
        dataset = _dataset(
            group,
            series,
            values,
            (run, time),
            units.get(series, "1"),
            long_names.get(series, series),
            fill=fill_value(values.dtype),
        )
        if coordinates:
            dataset.attrs["coordinates"] = coordinates
        if curves.ragged:  # netCDF readers mask what the runs did not record (xarray: NaN)
            dataset.attrs["_FillValue"] = np.array(fill_value(values.dtype), values.dtype)
    if curves.ragged:
        _dataset(
            group, "recorded", curves.recorded.astype(np.uint8), (run, time), "1", "1 if the run recorded this time"
        )


def _write_snapshots(group, snapshots: dict) -> None:
    for key in snapshots:
        run = group.create_group(key)
        for time_h in sorted(snapshots[key]):
            snap = run.create_group(f"{float(time_h):011.3f}")
            snap.attrs["time_h"] = float(time_h)
            for name, array in snapshots[key][time_h].items():
                snap.create_dataset(
                    name, data=np.asarray(array), chunks=True, compression="gzip", compression_opts=4, shuffle=True
                )
