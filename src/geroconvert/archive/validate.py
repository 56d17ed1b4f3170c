"""Checking an archive against its schema while reading it: one pass that every reader goes through.

:func:`read_checked` reads the root attributes, /config and every table of an archive of
schema 2 (:mod:`geroconvert.archive.schema`) into a :class:`~geroconvert.archive.table.RunRows`,
checking types, shapes, dtypes, lengths, encodings and that every table lists the same
runs.  ``info``, ``report``, ``open_archive``, ``sweep --resume`` and a writer that adds
runs all read through it, so no reader accepts what another refuses.  What does not fit
is an :class:`~geroconvert.errors.ArchiveError` of one line naming the object and what
was expected.  An archive of schema 1 is refused with the command that converts it.
Snapshots are large and read only on request, so they are checked when read
(:func:`check_snapshots`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from geroconvert.archive.provenance import RUN_FIELDS
from geroconvert.archive.schema import (
    INT_FILL,
    POSTERIOR_KIND,
    READ_ERRORS,
    RUN_DIM,
    SCHEMA_VERSION,
    TIME_DIM,
    check_key,
    import_h5py,
    sha256_text,
)
from geroconvert.archive.table import Curves, RunRows
from geroconvert.archive.values import FIX, Wrong, attr, bad, count, first_line, flag, json_names, other_attrs, text
from geroconvert.errors import ArchiveError

ROOT_TEXT = tuple(name for name in (*RUN_FIELDS, "created_utc", "command") if name != "git_dirty")
UPGRADE_HINT = "convert it with `geroconvert upgrade OLD.h5 NEW.h5`"


@dataclass
class Checked:
    """An archive as read: root attributes, config, its runs and the /summary table as stored."""

    attrs: dict
    config_toml: str
    config_sha256: str
    rows: RunRows
    summary: dict[str, np.ndarray]  # column -> values, /summary as stored (swept columns typed)
    swept_columns: list[str]


# -- objects -------------------------------------------------------------------------------


def dtype_text(dtype) -> str:
    if dtype.names:
        return "a compound dtype"
    if import_h5py().check_string_dtype(dtype) is not None:
        return "a string dtype"
    return f"dtype {dtype}"


def member(group, name: str, path, kind: str):
    """``group[name]``, which must be a ``kind`` ("group" or "dataset")."""
    h5py = import_h5py()
    obj = group.get(name)
    where = f"{group.name.rstrip('/')}/{name}"
    if obj is None:
        link = group.get(name, getlink=True)
        if link is None:
            raise bad(path, where, f"is missing, expected a {kind}")
        if isinstance(link, h5py.HardLink):  # there, but it cannot be opened: damage
            raise ArchiveError(f"{path}: corrupt archive ({where} cannot be opened)")
        raise bad(path, where, f"is a link to nothing, expected a {kind}")
    if not isinstance(obj, h5py.Group if kind == "group" else h5py.Dataset):
        raise bad(path, where, f"is a {type(obj).__name__.lower()}, expected a {kind}")
    return obj


def is_text(dataset) -> bool:
    return import_h5py().check_string_dtype(dataset.dtype) is not None


def read_text(dataset, path) -> np.ndarray:
    """A 1-D UTF-8 string dataset as an object array of str."""
    if dataset.ndim != 1 or not is_text(dataset):
        raise bad(path, dataset.name, f"has shape {dataset.shape} and {dtype_text(dataset.dtype)}, expected 1-D text")
    try:
        return np.array([text(v) for v in dataset[()]], dtype=object)
    except Wrong as wrong:
        raise bad(path, dataset.name, str(wrong)) from None


def read_numbers(dataset, path, shape: tuple, kinds: str = "biuf", why: str = "one per run") -> np.ndarray:
    """A numeric dataset of ``shape`` (``None`` entries: any length)."""
    if dataset.dtype.kind not in kinds or len(dataset.shape) != len(shape):
        expected = "whole numbers" if kinds == "iu" else "numbers"
        dims = {1: "1-D", 2: "2-D (run x time)"}.get(len(shape), f"{len(shape)}-D")
        raise bad(
            path, dataset.name, f"has shape {dataset.shape} and {dtype_text(dataset.dtype)}, expected {dims} {expected}"
        )
    for have, want in zip(dataset.shape, shape):
        if want is not None and have != want:
            raise bad(path, dataset.name, f"has shape {dataset.shape}, expected {shape} ({why})")
    return dataset[()]


def check_snapshots(group, path) -> dict:
    """time_h -> field -> dataset of a run's snapshots: numbers of one shape per snapshot,
    2-D (rows x width) or, from an epidermis on a basal sheet, 3-D (rows x depth x width)."""
    out = {}
    for name in group:
        snap = member(group, name, path, "group")
        fields = {field: member(snap, field, path, "dataset") for field in snap}
        shapes = {dataset.shape for dataset in fields.values()}
        if len(shapes) > 1 or any(d.ndim not in (2, 3) or d.dtype.kind not in "biuf" for d in fields.values()):
            raise bad(
                path, snap.name, f"holds fields of shapes {sorted(shapes)}, expected 2-D or 3-D numbers of one shape"
            )
        from geroconvert.archive.values import number

        out[attr(snap, "time_h", path, number)] = fields
    return out


# -- root and config -----------------------------------------------------------------------


def check_root(f, path, supported: tuple[int, ...] = (SCHEMA_VERSION,)) -> dict:
    """The root attributes; the schema version must be one of ``supported``."""
    if "schema_version" not in f.attrs or "runs" not in f:
        if f.attrs.get("kind") == POSTERIOR_KIND:
            raise ArchiveError(
                f"{path}: a posterior file (`calibrate --abc`), not a run archive; "
                "pass it to sweep, validate or trial as --posterior FILE"
            )
        raise ArchiveError(f"{path}: an HDF5 file but not a geroconvert archive (no schema_version or /runs)")
    version = attr(f, "schema_version", path, count)
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"{path}: archive schema {version} is newer than this geroconvert reads ({SCHEMA_VERSION}); "
            "upgrade geroconvert"
        )
    if version == 1 and 1 not in supported:
        raise ArchiveError(f"{path}: archive schema 1, written by an earlier geroconvert; {UPGRADE_HINT}")
    if version not in supported:
        raise bad(path, "root attribute schema_version", f"is {version}, expected {SCHEMA_VERSION}")
    known: dict = {"schema_version": version}
    for name in ROOT_TEXT:
        known[name] = attr(f, name, path, text, None)
    known["git_dirty"] = attr(f, "git_dirty", path, flag, None)
    return {**other_attrs(f, known), **{name: value for name, value in known.items() if value is not None}}


def check_config(f, path) -> tuple[str, str]:
    """(resolved config text, its sha256), the text UTF-8 and matching the digest."""
    group = member(f, "config", path, "group")
    dataset = member(group, "toml", path, "dataset")
    if dataset.shape != () or not is_text(dataset):
        raise bad(path, dataset.name, f"has shape {dataset.shape} and {dtype_text(dataset.dtype)}, expected one string")
    try:
        toml = text(dataset[()])
    except Wrong as wrong:
        raise bad(path, dataset.name, str(wrong)) from None
    digest = attr(group, "sha256", path, text)
    if digest != sha256_text(toml):
        raise bad(path, "/config attribute sha256", "does not match /config/toml")
    return toml, digest


# -- the tables ----------------------------------------------------------------------------


def _run_group(f, name: str, path, keys: np.ndarray | None):
    """A table's group and its run keys, which must be those of /runs (``keys``) in order."""
    group = member(f, name, path, "group")
    own = read_text(member(group, RUN_DIM, path, "dataset"), path)
    if keys is not None and (own.shape != keys.shape or not np.array_equal(own, keys)):
        if own.shape != keys.shape:
            raise bad(path, f"/{name}/{RUN_DIM}", f"lists {own.size} runs, /runs/{RUN_DIM} {keys.size}")
        first = int(np.flatnonzero(own != keys)[0])
        raise bad(path, f"/{name}/{RUN_DIM}", f"lists run {own[first]!r} where /runs/{RUN_DIM} has {keys[first]!r}")
    return group, own


def _json_objects(values: np.ndarray, path, where: str) -> list[str]:
    for value in values:
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError:
            raise bad(path, where, f"holds {value[:40]!r}, not JSON text") from None
        if not isinstance(loaded, dict):
            raise bad(path, where, f"holds {value[:40]!r}, expected JSON objects")
    return list(values)


def _check_runs(f, path) -> tuple[np.ndarray, dict[str, Any]]:
    group, keys = _run_group(f, "runs", path, None)
    seen: set[str] = set()
    for key in keys:
        try:
            check_key(key)
        except ArchiveError:
            raise bad(
                path, f"/runs/{RUN_DIM}", f"holds the run key {key!r}; a key is a non-empty name without '/'"
            ) from None
        if key in seen:
            raise bad(path, f"/runs/{RUN_DIM}", f"lists run {key!r} twice")
        seen.add(key)
    n = (keys.size,)
    columns: dict[str, Any] = {
        name: read_numbers(member(group, name, path, "dataset"), path, n, "iu")
        for name in ("replicate", "seed", "session")
    }
    for name, values in columns.items():
        if np.any(values < 0):
            raise bad(path, f"/runs/{name}", "has negative values, expected whole numbers >= 0")
    columns["wall_s"] = read_numbers(member(group, "wall_s", path, "dataset"), path, n, "f")
    for name in ("created_utc", "overrides", "swept"):
        columns[name] = read_text(member(group, name, path, "dataset"), path)
        if columns[name].shape != n:
            raise bad(path, f"/runs/{name}", f"has {columns[name].size} values, expected {keys.size} (one per run)")
    for name in ("overrides", "swept"):
        columns[name] = _json_objects(columns[name], path, f"/runs/{name}")
    return keys, columns


def _check_sessions(f, path, n_used: int) -> list[dict]:
    group = member(f, "sessions", path, "group")
    scale = read_numbers(member(group, "session", path, "dataset"), path, (None,), "iu")
    if scale.size < n_used:
        raise bad(path, "/sessions", f"has {scale.size} rows, but /runs/session refers to row {n_used - 1}")
    columns: dict[str, list] = {}
    for name in RUN_FIELDS:
        dataset = member(group, name, path, "dataset")
        if name == "git_dirty":
            columns[name] = [bool(v) for v in read_numbers(dataset, path, scale.shape, "biu", "one per session")]
        else:
            values = read_text(dataset, path)
            if values.shape != scale.shape:
                raise bad(path, dataset.name, f"has {values.size} values, expected {scale.size} (one per session)")
            columns[name] = list(values)
    return [{name: columns[name][i] for name in RUN_FIELDS} for i in range(scale.size)]


def _check_summary(f, path, keys: np.ndarray) -> tuple[dict[str, np.ndarray], list[str]]:
    group, _ = _run_group(f, "summary", path, keys)
    swept = attr(group, "swept_columns", path, json_names, [])
    table: dict[str, np.ndarray] = {RUN_DIM: keys}
    for name in group:
        if name == RUN_DIM:
            continue
        dataset = member(group, name, path, "dataset")
        if is_text(dataset) and name in swept:  # only a swept column may be text (a list value)
            table[name] = read_text(dataset, path)
            if table[name].shape != keys.shape:
                raise bad(path, dataset.name, f"has {table[name].size} values, expected {keys.size} (one per run)")
        else:
            table[name] = read_numbers(dataset, path, keys.shape)
    for name in swept:
        if name not in table:
            raise bad(path, "/summary attribute swept_columns", f"names {name!r}, which is not a column")
    return table, swept


def _check_curves(f, name: str, path, keys: np.ndarray, coords: set[str]) -> Curves:
    group, _ = _run_group(f, name, path, keys)
    time = read_numbers(member(group, TIME_DIM, path, "dataset"), path, (None,), "f")
    if not (np.all(np.isfinite(time)) and np.all(time >= 0) and np.all(np.diff(time) > 0)):
        raise bad(path, f"/{name}/{TIME_DIM}", "is not a list of increasing times >= 0")
    shape = (keys.size, time.size)
    recorded = np.ones(shape, bool)
    if "recorded" in group:
        recorded = read_numbers(member(group, "recorded", path, "dataset"), path, shape, "biu", "run x time").astype(
            bool
        )
    values = {}
    for series in group:
        if series in (RUN_DIM, TIME_DIM, "recorded") or series in coords:
            continue
        values[series] = read_numbers(member(group, series, path, "dataset"), path, shape, "iuf", "run x time")
    return Curves(time, values, recorded)


def _check_rpp(curves: Curves, path) -> None:
    for name in ("n_replated", "n_colonies"):
        values = curves.values.get(name)
        if values is None:
            continue
        if values.dtype.kind not in "iu":
            raise bad(path, f"/rpp/{name}", f"has {dtype_text(values.dtype)}, expected whole numbers >= 0")
        if np.any(values[curves.recorded] < 0):
            raise bad(path, f"/rpp/{name}", "has negative counts, expected whole numbers >= 0")
    rpp = curves.values.get("rpp")
    if rpp is not None and np.any((rpp < 0) | (rpp > 1)):  # NaN (no cell replated) compares False: allowed
        raise bad(path, "/rpp/rpp", "has values outside 0..1, expected fractions of replated cells")


def _check_events(f, path, keys: np.ndarray) -> dict[str, np.ndarray]:
    group, _ = _run_group(f, "events", path, keys)
    events = {}
    for name in group:
        if name == RUN_DIM:
            continue
        events[name] = read_numbers(member(group, name, path, "dataset"), path, keys.shape, "iu")
        if np.any(events[name] < INT_FILL):
            raise bad(path, f"/events/{name}", "has negative counts, expected whole numbers >= 0")
    return events


def read_snapshot_arrays(f, path, keys) -> dict[str, dict[float, dict[str, np.ndarray]]]:
    """run -> time -> field -> array (2-D, or 3-D on a sheet) of every run's snapshots (checked as read)."""
    if "snapshots" not in f:
        return {}
    group = member(f, "snapshots", path, "group")
    out = {}
    for key in group:
        if key not in keys:
            raise bad(path, f"/snapshots/{key}", "belongs to no run of /runs")
        fields = check_snapshots(member(group, key, path, "group"), path)
        out[key] = {t: {name: d[()] for name, d in arrays.items()} for t, arrays in fields.items()}
    return out


def read_checked(f, path, snapshots: bool = False) -> Checked:
    """The whole archive, checked (see the module docstring); snapshots only if asked for
    (a writer that rewrites the file keeps them)."""
    try:
        attrs = check_root(f, path)
        toml, digest = check_config(f, path)
        keys, runs = _check_runs(f, path)
        n_sessions = int(runs["session"].max()) + 1 if keys.size else 0
        sessions = _check_sessions(f, path, n_sessions)
        summary, swept = _check_summary(f, path, keys)
        coords = {"replicate", "seed", *swept}
        series = _check_curves(f, "timeseries", path, keys, coords)
        rpp = _check_curves(f, "rpp", path, keys, coords)
        _check_rpp(rpp, path)
        events = _check_events(f, path, keys)
        units = {name: attr(f["timeseries"][name], "units", path, text, "") for name in series.values}
        snapshot_arrays = read_snapshot_arrays(f, path, set(keys)) if snapshots else {}
    except ArchiveError:
        raise
    except READ_ERRORS as error:  # what h5py raises on damage the checks above did not name
        raise ArchiveError(f"{path}: corrupt archive ({first_line(error)})") from None
    results = [n for n in summary if n not in (RUN_DIM, "replicate", "seed", *swept)]
    rows = RunRows(
        keys=list(keys),
        replicate=runs["replicate"].astype(np.int64),
        seed=runs["seed"].astype(np.int64),
        wall_s=runs["wall_s"].astype(np.float64),
        created_utc=list(runs["created_utc"]),
        session=runs["session"].astype(np.int64),
        overrides=runs["overrides"],
        swept=runs["swept"],
        summary={name: np.asarray(summary[name], np.float64) for name in results},
        timeseries=series,
        rpp=rpp,
        events=events,
        sessions=sessions,
        units={"time_h": "h", **units},
        snapshots=snapshot_arrays,
    )
    return Checked(attrs, toml, digest, rows, summary, swept)


__all__ = ["FIX", "Checked", "read_checked", "check_snapshots", "member", "check_root", "check_config"]
