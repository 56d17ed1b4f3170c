"""The run archive (DESIGN section 5): one self-describing HDF5 file, no pickles.

Layout (schema_version 1)::

    /                      attrs: schema_version, package_version, created_utc, git_commit, git_dirty,
                                  python_version, numpy_version, numba_version, h5py_version, host,
                                  platform, command
    /config                attrs: sha256;  dataset `toml` (scalar UTF-8 string): the resolved config
    /runs/<key>            attrs: seed, overrides (JSON), status, wall_s, replicate, swept (JSON),
                                  created_utc
        timeseries/<name>  1-D float64, dimension scale `time_h` attached; attr `units`
        assays/rpp/        time_h (scale), rpp, n_replated, n_colonies (1-D)
        events             attrs: event name -> total count over the run
        summary            attrs: scalar results (t50_h, final_*, wall_s, ...)
        snapshots/<t>/     (optional) attr time_h; 2-D datasets phase, kind, mass, p16, gero, sasp
                           (chunked, gzip)
    /summary               one row per complete run, stored as a group of equal-length column
                           datasets: run_key (UTF-8), replicate, seed, one column per swept
                           parameter named by its config path (e.g. `environment.rapamycin_nM`),
                           then one float64 column per scalar result (NaN where a run lacks it).
                           attrs: columns (JSON list, in order), swept_columns (JSON list)

A run is written with ``status = "writing"`` and marked ``"complete"`` last, then
``/summary`` is rebuilt from every complete run's ``summary`` attributes and the file is
flushed: a reader never mistakes a half-written run for a result, and
:class:`ArchiveWriter` can append runs to an existing archive one at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from geroconvert.errors import ArchiveError

SCHEMA_VERSION = 1
STATUS_COMPLETE = "complete"
STATUS_WRITING = "writing"
SNAPSHOT_FIELDS = ("phase", "kind", "mass", "p16", "gero", "sasp")
RPP_UNITS = {"time_h": "h", "rpp": "fraction of replated cells forming colonies", "n_replated": "cells",
             "n_colonies": "colonies"}




# What h5py raises on damaged files: OSError or RuntimeError from the HDF5 library (bad
# checksums, broken links), KeyError/TypeError/AttributeError when an object is missing or
# of another kind than the layout says, ValueError (incl. bad UTF-8 and JSON) for bad values.
READ_ERRORS = (KeyError, OSError, ValueError, RuntimeError, TypeError, AttributeError)


def _h5py():
    import h5py

    return h5py


def _str_dtype():
    return _h5py().string_dtype("utf-8")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def natural_key(text: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _plain(value: Any) -> Any:
    """An HDF5 attribute value as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key or "/" in key or key in (".", "..") or key != key.strip():
        raise ArchiveError(f"run key {key!r}: use a non-empty name without '/' or surrounding spaces")
    return key


# ---------------------------------------------------------------------------------------
# output files: refuse to clobber, write atomically


def partial_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".partial")


def check_output(path: str | Path, overwrite: bool = False) -> Path:
    """Refuse an output path that exists (unless ``overwrite``) or cannot be a file; returns the Path."""
    path = Path(path)
    if path.is_dir():
        raise ArchiveError(f"{path}: is a directory; give a file name such as {path / 'run.h5'}")
    if path.exists() and not overwrite:
        raise ArchiveError(f"{path}: already exists; pass --overwrite to replace it or choose another name")
    partial = partial_path(path)
    if partial.exists() and not overwrite:
        raise ArchiveError(f"{partial}: left by an interrupted run; remove it or pass --overwrite")
    if path.parent.exists() and not path.parent.is_dir():
        raise ArchiveError(f"{path.parent}: is not a directory")
    return path


@contextlib.contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield ``PATH.partial`` to write; on success move it onto ``path`` (os.replace), else delete it.

    An existing ``path`` is never touched unless ``overwrite`` and the write succeeded.
    """
    path = check_output(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    try:
        yield partial
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    if path.exists() and not overwrite:  # appeared while we ran
        raise ArchiveError(f"{path}: appeared while running; the result is kept in {partial}")
    os.replace(partial, path)


# ---------------------------------------------------------------------------------------
# writing


class ArchiveWriter:
    """Write runs into an archive, one complete run at a time.

    ``ArchiveWriter(path, config_text)`` creates a new file (``mode="w"``);
    ``ArchiveWriter(path, mode="a")`` reopens an existing archive to add runs (a
    ``config_text`` given then must match the stored one).  Use as a context manager.
    """

    def __init__(self, path: str | Path, config_text: str | None = None, mode: str = "w",
                 provenance: dict | None = None, command: str | None = None):
        h5py = _h5py()
        self.path = Path(path)
        if mode == "w":
            self.file = h5py.File(self.path, "w")
            self._write_header(config_text or "", provenance, command)
        elif mode == "a":
            info = open_checked(self.path)
            info.close()
            self.file = h5py.File(self.path, "a")
            stored = self.file["config"].attrs.get("sha256", "") if "config" in self.file else ""
            if config_text is not None and _plain(stored) != sha256_text(config_text):
                self.file.close()
                raise ArchiveError(f"{self.path}: its /config differs from this config; "
                                   "runs of different configs do not belong in one archive")
            self.file.require_group("runs")
        else:
            raise ValueError(f"mode must be 'w' or 'a', not {mode!r}")

    def _write_header(self, config_text: str, provenance: dict | None, command: str | None) -> None:
        from geroconvert.archive.provenance import collect

        f = self.file
        f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
        for name, value in (provenance or collect(command=command)).items():
            f.attrs[name] = int(value) if isinstance(value, bool) else value
        config = f.create_group("config")
        config.create_dataset("toml", data=config_text, dtype=_str_dtype())
        digest = sha256_text(config_text)
        config.attrs["sha256"] = digest
        config["toml"].attrs["sha256"] = digest
        f.create_group("runs")
        self.rebuild_summary()
        f.flush()

    # -- context manager
    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()

    # -- runs
    def run_keys(self, status: str | None = STATUS_COMPLETE) -> list[str]:
        runs = self.file["runs"]
        keys = [k for k in runs if status is None or _plain(runs[k].attrs.get("status")) == status]
        return sorted(keys, key=natural_key)

    def has_run(self, key: str) -> bool:
        return key in self.run_keys()

    def add_run(self, key: str, results, seed: int, overrides: dict | None = None, replicate: int = 0,
                swept: dict | None = None, status: str = STATUS_COMPLETE, snapshots: bool = True,
                wall_s: float | None = None, replace: bool = False) -> None:
        """Write one finished run (a :class:`~geroconvert.core.recorder.Results`), rebuild /summary, flush.

        ``swept`` maps config paths to this run's values (they become /summary columns);
        ``wall_s`` (default: the results' own) becomes the run's ``wall_s`` attribute and
        summary value.  A half-written run left by a crash (status ``writing``) is
        replaced silently.
        """
        check_key(key)
        runs = self.file["runs"]
        if key in runs:
            if _plain(runs[key].attrs.get("status")) == STATUS_COMPLETE and not replace:
                raise ArchiveError(f"{self.path}: run {key!r} already exists")
            del runs[key]
        summary = {name: float(value) for name, value in (results.summary or {}).items()}
        if wall_s is None:
            wall_s = summary.get("wall_s", math.nan)
        elif "wall_s" in summary:
            summary["wall_s"] = float(wall_s)  # one wall time per run: the caller's, which covers set-up too
        group = runs.create_group(key, track_order=True)
        group.attrs["status"] = STATUS_WRITING
        group.attrs["seed"] = np.int64(seed)
        group.attrs["replicate"] = np.int64(replicate)
        group.attrs["overrides"] = json.dumps(overrides or {}, sort_keys=True, default=str)
        group.attrs["swept"] = json.dumps(swept or {}, sort_keys=True, default=str)
        group.attrs["wall_s"] = float(wall_s)
        from geroconvert.archive.provenance import utc_now

        group.attrs["created_utc"] = utc_now()
        self._write_series(group.create_group("timeseries", track_order=True), results.timeseries, results.units)
        rpp = group.create_group("assays").create_group("rpp", track_order=True)
        self._write_series(rpp, results.rpp, RPP_UNITS)
        events = group.create_group("events", track_order=True)
        for name, value in (results.events or {}).items():
            events.attrs[name] = np.int64(value)
        summary_group = group.create_group("summary", track_order=True)
        for name, value in summary.items():
            summary_group.attrs[name] = value
        if snapshots and results.snapshots:
            self._write_snapshots(group.create_group("snapshots"), results.snapshots)
        group.attrs["status"] = status
        self.rebuild_summary()
        self.file.flush()

    @staticmethod
    def _write_series(group, series: dict, units: dict) -> None:
        if "time_h" not in series:
            return
        time = np.asarray(series["time_h"], np.float64)
        scale = group.create_dataset("time_h", data=time)
        scale.attrs["units"] = units.get("time_h", "h")
        scale.make_scale("time_h")
        for name, values in series.items():
            if name == "time_h":
                continue
            values = np.asarray(values)
            if values.shape != time.shape:
                raise ArchiveError(f"series {name!r} has shape {values.shape}, time_h has {time.shape}")
            options = {"compression": "gzip", "shuffle": True, "chunks": True} if values.size > 4096 else {}
            dataset = group.create_dataset(name, data=values, **options)
            dataset.attrs["units"] = units.get(name, "")
            dataset.dims[0].attach_scale(scale)
            dataset.dims[0].label = "time_h"

    @staticmethod
    def _write_snapshots(group, snapshots: dict) -> None:
        for time_h in sorted(snapshots):
            snap = group.create_group(f"{float(time_h):011.3f}")
            snap.attrs["time_h"] = float(time_h)
            for name, array in snapshots[time_h].items():
                array = np.asarray(array)
                snap.create_dataset(name, data=array, chunks=True, compression="gzip", compression_opts=4,
                                    shuffle=True)

    def rebuild_summary(self) -> None:
        """Recreate /summary from the ``summary`` attributes of every complete run."""
        f = self.file
        if "summary" in f:
            del f["summary"]
        table = summary_table(f)
        group = f.create_group("summary", track_order=True)
        group.attrs["layout"] = "columns: one dataset per column, one row per complete run, in run-key order"
        group.attrs["columns"] = json.dumps(list(table))
        group.attrs["swept_columns"] = json.dumps(table_swept_columns(f))
        for name, values in table.items():
            if values.dtype.kind in "OUS":
                group.create_dataset(name, data=np.asarray(values, dtype=object), dtype=_str_dtype())
            else:
                group.create_dataset(name, data=values)


def table_swept_columns(f) -> list[str]:
    names: list[str] = []
    for key in sorted(f["runs"], key=natural_key):
        for name in json.loads(_plain(f["runs"][key].attrs.get("swept", "{}"))):
            if name not in names:
                names.append(name)
    return names


def summary_table(f) -> dict[str, np.ndarray]:
    """The /summary columns computed from the runs of an open file."""
    runs = f["runs"]
    keys = [k for k in sorted(runs, key=natural_key) if _plain(runs[k].attrs.get("status")) == STATUS_COMPLETE]
    rows = []
    for key in keys:
        group = runs[key]
        rows.append({
            "key": key,
            "replicate": int(_plain(group.attrs.get("replicate", 0))),
            "seed": int(_plain(group.attrs.get("seed", 0))),
            "swept": json.loads(_plain(group.attrs.get("swept", "{}"))),
            "summary": {n: float(_plain(v)) for n, v in group["summary"].attrs.items()} if "summary" in group else {},
        })
    table: dict[str, np.ndarray] = {
        "run_key": np.array([r["key"] for r in rows], dtype=object),
        "replicate": np.array([r["replicate"] for r in rows], np.int64),
        "seed": np.array([r["seed"] for r in rows], np.int64),
    }
    swept_names: list[str] = []
    result_names: list[str] = []
    for row in rows:
        swept_names += [n for n in row["swept"] if n not in swept_names]
        result_names += [n for n in row["summary"] if n not in result_names]
    for name in swept_names:
        values = [row["swept"].get(name) for row in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            if all(isinstance(v, int) for v in present) and len(present) == len(values):
                table[name] = np.array(values, np.int64)
            else:
                table[name] = np.array([math.nan if v is None else float(v) for v in values], np.float64)
        else:
            table[name] = np.array(["" if v is None else (v if isinstance(v, str) else json.dumps(v))
                                    for v in values], dtype=object)
    for name in result_names:
        if name in table:
            continue
        table[name] = np.array([row["summary"].get(name, math.nan) for row in rows], np.float64)
    return table


# ---------------------------------------------------------------------------------------
# reading


def open_checked(path: str | Path):
    """Open an archive read-only, with one-line errors for every way it can be wrong."""
    h5py = _h5py()
    path = Path(path)
    if not path.exists():
        raise ArchiveError(f"{path}: no such file")
    if path.is_dir():
        raise ArchiveError(f"{path}: is a directory, not an archive")
    try:
        is_hdf5 = h5py.is_hdf5(str(path))
    except OSError as error:
        raise ArchiveError(f"{path}: cannot read ({error})") from None
    if not is_hdf5:
        raise ArchiveError(f"{path}: not an HDF5 file (a geroconvert archive is written by `geroconvert run`)")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ArchiveError(f"{path}: corrupt or truncated HDF5 file ({str(error).splitlines()[0]})") from None
    try:
        version = f.attrs.get("schema_version")
        if version is None or "runs" not in f:
            raise ArchiveError(f"{path}: an HDF5 file but not a geroconvert archive (no schema_version or /runs)")
        if int(version) > SCHEMA_VERSION:
            raise ArchiveError(f"{path}: archive schema {int(version)} is newer than this geroconvert reads "
                               f"({SCHEMA_VERSION}); upgrade geroconvert")
    except ArchiveError:
        f.close()
        raise
    except Exception as error:  # damaged metadata
        f.close()
        raise ArchiveError(f"{path}: corrupt archive ({error})") from None
    return f


def read_archive(path: str | Path) -> dict:
    """Provenance, config, run attributes and /summary as plain Python values and numpy arrays."""
    with open_checked(path) as f:
        try:
            config = f["config"] if "config" in f else None
            toml = _plain(config["toml"][()]) if config is not None and "toml" in config else ""
            out = {
                "path": str(path),
                "attrs": {name: _plain(value) for name, value in f.attrs.items()},
                "config_toml": toml,
                "config_sha256": _plain(config.attrs.get("sha256", "")) if config is not None else "",
                "runs": {},
                "summary": {},
            }
            for key in sorted(f["runs"], key=natural_key):
                group = f["runs"][key]
                attrs = {name: _plain(value) for name, value in group.attrs.items()}
                for name in ("overrides", "swept"):
                    if isinstance(attrs.get(name), str):
                        attrs[name] = json.loads(attrs[name])
                attrs["summary"] = ({n: float(_plain(v)) for n, v in group["summary"].attrs.items()}
                                    if "summary" in group else {})
                out["runs"][key] = attrs
            if "summary" in f:
                order = json.loads(_plain(f["summary"].attrs.get("columns", "[]"))) or list(f["summary"])
                for name in order:
                    data = f["summary"][name]
                    out["summary"][name] = (data.asstr()[()] if data.dtype.kind == "O" else data[()])
        except READ_ERRORS as error:
            raise ArchiveError(f"{path}: corrupt archive ({error})") from None
    return out


def complete_run_keys(path: str | Path, config_text: str | None = None) -> list[str]:
    """Keys of the complete runs, read without opening the file for writing.

    With ``config_text``, an archive whose /config differs is refused (``--resume``).
    """
    with open_checked(path) as f:
        try:
            stored = _plain(f["config"].attrs.get("sha256", "")) if "config" in f else ""
            runs = f["runs"]
            keys = [k for k in runs if _plain(runs[k].attrs.get("status")) == STATUS_COMPLETE]
        except READ_ERRORS as error:
            raise ArchiveError(f"{path}: corrupt archive ({error})") from None
    if config_text is not None and stored != sha256_text(config_text):
        raise ArchiveError(f"{path}: its /config differs from this config; "
                           "runs of different configs do not belong in one archive")
    return sorted(keys, key=natural_key)


def _read_group_series(group) -> tuple[dict, dict]:
    series, units = {}, {}
    for name in group:
        series[name] = group[name][()]
        units[name] = _plain(group[name].attrs.get("units", ""))
    if "time_h" in series:  # the dimension scale first, then the recorded order
        series = {"time_h": series.pop("time_h"), **series}
    return series, units


def read_run(path: str | Path, key: str, snapshots: bool = False) -> dict:
    """One run: timeseries, units, rpp, summary, events, attrs (and snapshots) as numpy arrays."""
    with open_checked(path) as f:
        try:
            return _read_run(f, path, key, snapshots)
        except READ_ERRORS as error:
            raise ArchiveError(f"{path}: corrupt run {key!r} ({error})") from None


def _read_run(f, path, key: str, snapshots: bool) -> dict:
    if key not in f["runs"]:
        raise ArchiveError(f"{path}: no run {key!r}; runs: {', '.join(sorted(f['runs'], key=natural_key))}")
    group = f["runs"][key]
    series, units = _read_group_series(group["timeseries"])
    rpp, _ = _read_group_series(group["assays/rpp"]) if "assays/rpp" in group else ({}, {})
    out = {
        "attrs": {name: _plain(value) for name, value in group.attrs.items()},
        "timeseries": series,
        "units": units,
        "rpp": rpp,
        "summary": {n: float(_plain(v)) for n, v in group["summary"].attrs.items()},
        "events": {n: int(_plain(v)) for n, v in group["events"].attrs.items()},
        "snapshots": {},
    }
    for name in ("overrides", "swept"):
        if isinstance(out["attrs"].get(name), str):
            out["attrs"][name] = json.loads(out["attrs"][name])
    if snapshots and "snapshots" in group:
        for name in group["snapshots"]:
            snap = group["snapshots"][name]
            out["snapshots"][float(snap.attrs["time_h"])] = {field: snap[field][()] for field in snap}
    return out
