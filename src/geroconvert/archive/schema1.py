"""Checking an archive against its schema: one pass that every reader goes through.

:func:`check_archive` reads the root attributes, /config, the attributes of every run, the
shapes, dtypes and lengths of each complete run's series, its RPP assay, events and
summary, and /summary, and returns them as ``read_archive`` gives them.  ``info``
(``read_archive``), ``report`` (``read_complete_runs``), ``read_run``, ``sweep --resume``
(``complete_run_keys``) and a writer that appends all open archives through it, so no
reader accepts what another refuses.  What does not fit the schema (a value of another
type, shape, dtype, length or encoding; a missing or foreign object) is an
:class:`~geroconvert.errors.ArchiveError` of one line naming the object and what was
expected (the value conversions are in :mod:`geroconvert.archive.values`).  Snapshots
are large and read only by ``read_run(..., snapshots=True)``, so they are checked when
read (:func:`check_snapshots`).
"""

from __future__ import annotations

import numpy as np

from geroconvert.archive.provenance import RUN_FIELDS
from geroconvert.archive.schema import (
    READ_ERRORS,
    RPP_UNITS,
    SCHEMA_VERSION,
    STATUS_COMPLETE,
    import_h5py,
    natural_key,
    sha256_text,
)
from geroconvert.archive.values import (
    REQUIRED,
    Wrong,
    attr,
    bad,
    count,
    first_line,
    flag,
    json_names,
    json_object,
    number,
    other_attrs,
    text,
)
from geroconvert.errors import ArchiveError

ROOT_TEXT = tuple(name for name in (*RUN_FIELDS, "created_utc", "command") if name != "git_dirty")


# -- objects -------------------------------------------------------------------------------


def _dtype_text(dtype) -> str:
    if dtype.names:
        return "a compound dtype"
    if import_h5py().check_string_dtype(dtype) is not None:
        return "a string dtype"
    return f"dtype {dtype}"


def member(group, name: str, path, kind: str):
    """``group[name]``, which must be a ``kind`` ("group" or "dataset")."""
    h5py = import_h5py()
    obj = group.get(name)
    if obj is None:
        where = f"{group.name.rstrip('/')}/{name}"
        link = group.get(name, getlink=True)
        if link is None:
            raise bad(path, where, f"is missing, expected a {kind}")
        if isinstance(link, h5py.HardLink):  # there, but it cannot be opened: damage
            raise ArchiveError(f"{path}: corrupt archive ({where} cannot be opened)")
        raise bad(path, where, f"is a link to nothing, expected a {kind}")
    if not isinstance(obj, h5py.Group if kind == "group" else h5py.Dataset):
        where = f"{group.name.rstrip('/')}/{name}"
        raise bad(path, where, f"is a {type(obj).__name__.lower()}, expected a {kind}")
    return obj


def _numbers(dataset, path, length: int | None = None, why: str = "") -> None:
    """``dataset`` must hold 1-D numbers (``length`` of them; ``why`` says why so many)."""
    shape, dtype = dataset.shape, dataset.dtype
    if len(shape) != 1 or dtype.kind not in "biuf":
        raise bad(path, dataset.name, f"has shape {shape} and {_dtype_text(dtype)}, expected 1-D numbers")
    if length is not None and shape[0] != length:
        raise bad(path, dataset.name, f"has {shape[0]} values, expected {length} ({why})")


def check_series(group, path, required: tuple = ()) -> dict:
    """The datasets of a series group (time_h first, then as recorded): 1-D numbers as long as its time_h.

    An empty group is no series (a run without RPP assays may have written none).  The
    ``units`` attributes are checked where they are read (``read_run``): reading them is
    most of the cost of this pass, and ``info``, ``report`` and ``--resume`` do not.
    """
    names = list(group)
    if not names:
        return {}
    ordered = sorted(names, key=lambda name: name != "time_h")  # the dimension scale first (a stable sort)
    datasets = {name: member(group, name, path, "dataset") for name in ordered}
    for name in ("time_h", *required):
        if name not in datasets:
            raise bad(path, f"{group.name}/{name}", "is missing, expected a dataset")
    times = datasets["time_h"]
    _numbers(times, path)
    for dataset in datasets.values():
        _numbers(dataset, path, times.shape[0], "as many as time_h")
    values = times[()]
    if not (np.all(np.isfinite(values)) and np.all(values >= 0) and np.all(np.diff(values) > 0)):
        raise bad(path, times.name, "is not a list of increasing times >= 0")
    return datasets


def check_rpp(group, path) -> dict:
    """The RPP assay: its four series, counts as whole numbers >= 0, fractions within 0..1 (or NaN)."""
    datasets = check_series(group, path, required=tuple(RPP_UNITS))
    for name in ("n_replated", "n_colonies") if datasets else ():
        values = datasets[name][()]
        if values.dtype.kind not in "iu":
            raise bad(path, datasets[name].name, f"has {_dtype_text(values.dtype)}, expected whole numbers >= 0")
        if np.any(values < 0):
            raise bad(path, datasets[name].name, "has negative counts, expected whole numbers >= 0")
    rpp = datasets["rpp"][()] if datasets else np.zeros(0)
    if np.any((rpp < 0) | (rpp > 1)):  # NaN (no cell replated) compares False: allowed
        raise bad(path, datasets["rpp"].name, "has values outside 0..1, expected fractions of replated cells")
    return datasets


def check_snapshots(group, path) -> dict:
    """time_h -> field -> dataset of a run's snapshots: 2-D numbers of one shape per snapshot."""
    out = {}
    for name in group:
        snap = member(group, name, path, "group")
        fields = {field: member(snap, field, path, "dataset") for field in snap}
        shapes = {dataset.shape for dataset in fields.values()}
        if len(shapes) > 1 or any(d.ndim != 2 or d.dtype.kind not in "biuf" for d in fields.values()):
            raise bad(path, snap.name, f"holds fields of shapes {sorted(shapes)}, expected 2-D numbers of one shape")
        out[attr(snap, "time_h", path, number)] = fields
    return out


# -- the parts of an archive ---------------------------------------------------------------


RUN_ATTRS = {
    "seed": count,
    "replicate": count,
    "overrides": json_object,
    "swept": json_object,
    "wall_s": number,
}
RUN_OPTIONAL = {"created_utc": text, **{name: flag if name == "git_dirty" else text for name in RUN_FIELDS}}


def check_root(f, path) -> dict:
    if "schema_version" not in f.attrs or "runs" not in f:
        raise ArchiveError(f"{path}: an HDF5 file but not a geroconvert archive (no schema_version or /runs)")
    version = attr(f, "schema_version", path, count)
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"{path}: archive schema {version} is newer than this geroconvert reads "
            f"({SCHEMA_VERSION}); upgrade geroconvert"
        )
    if version < 1:
        supported = "1" if SCHEMA_VERSION == 1 else f"1 to {SCHEMA_VERSION}"
        raise bad(path, "root attribute schema_version", f"is {version}, expected {supported}")
    known = {"schema_version": version}
    for name in ROOT_TEXT:
        known[name] = attr(f, name, path, text, None)
    known["git_dirty"] = attr(f, "git_dirty", path, flag, None)
    return {**other_attrs(f, known), **{name: value for name, value in known.items() if value is not None}}


def check_config(f, path) -> tuple[str, str]:
    """(resolved config text, its sha256), the text UTF-8 and matching the digest."""
    group = member(f, "config", path, "group")
    dataset = member(group, "toml", path, "dataset")
    if dataset.shape != () or import_h5py().check_string_dtype(dataset.dtype) is None:
        raise bad(
            path, dataset.name, f"has shape {dataset.shape} and {_dtype_text(dataset.dtype)}, expected one string"
        )
    try:
        toml = text(dataset[()])
    except Wrong as wrong:
        raise bad(path, dataset.name, str(wrong)) from None
    digest = attr(group, "sha256", path, text)
    if digest != sha256_text(toml):
        raise bad(path, "/config attribute sha256", "does not match /config/toml")
    return toml, digest


def run_events(group, path) -> dict[str, int]:
    events = member(group, "events", path, "group")
    return {name: attr(events, name, path, count) for name in events.attrs}


def run_summary(group, path) -> dict[str, float]:
    summary = member(group, "summary", path, "group")
    return {name: attr(summary, name, path, number) for name in summary.attrs}


def run_parts(group, path) -> tuple[dict, dict]:
    """The checked datasets of a complete run's (timeseries, RPP assay)."""
    series = check_series(member(group, "timeseries", path, "group"), path)
    return series, check_rpp(member(member(group, "assays", path, "group"), "rpp", path, "group"), path)


def check_run(runs, key: str, path, parts: dict | None = None) -> dict:
    """A run's attributes (overrides and swept as dicts, ``summary``), its parts checked if it is complete.

    ``parts`` gets key -> (series, RPP datasets, events) of a complete run, for a reader to go on with.
    """
    group = member(runs, key, path, "group")
    status = attr(group, "status", path, text)
    complete = status == STATUS_COMPLETE
    # a half-written run is no result: what it has must fit, but nothing is required
    attrs = {
        name: attr(group, name, path, convert, REQUIRED if complete else None) for name, convert in RUN_ATTRS.items()
    }
    attrs.update((name, attr(group, name, path, convert, None)) for name, convert in RUN_OPTIONAL.items())
    attrs = {"status": status, **{name: value for name, value in attrs.items() if value is not None}}
    attrs["summary"] = {}
    if complete:
        checked = (*run_parts(group, path), run_events(group, path))
        attrs["summary"] = run_summary(group, path)
        if parts is not None:
            parts[key] = checked
    return {**other_attrs(group, attrs), **attrs}


def _column(group, name: str, path, rows: int | None) -> np.ndarray:
    """A /summary column: 1-D numbers or UTF-8 text, ``rows`` long (None: any length)."""
    dataset = member(group, name, path, "dataset")
    if import_h5py().check_string_dtype(dataset.dtype) is None:
        _numbers(dataset, path, rows, "as many as run_key")
        return dataset[()]
    if dataset.ndim != 1 or (rows is not None and dataset.shape[0] != rows):
        raise bad(path, dataset.name, f"has shape {dataset.shape}, expected {rows} values (as many as run_key)")
    try:
        return np.array([text(value) for value in dataset[()]], dtype=object)
    except Wrong as wrong:
        raise bad(path, dataset.name, str(wrong)) from None


def check_summary(f, path) -> dict[str, np.ndarray]:
    """/summary: columns of one length, run_key among them as text.

    Its rows are not compared with the runs: /summary is derived from them and rebuilt at
    every write, and no reader takes run data from it (``info`` notes a stale one).
    """
    group = member(f, "summary", path, "group")
    order = attr(group, "columns", path, json_names, None) or list(group)
    swept = attr(group, "swept_columns", path, json_names, [])
    if "run_key" not in order:
        raise bad(path, "/summary", "has no run_key column")
    keys = _column(group, "run_key", path, None)
    if keys.dtype != object:
        raise bad(path, "/summary/run_key", f"holds {_dtype_text(keys.dtype)}, expected run keys (text)")
    table = {name: _column(group, name, path, len(keys)) for name in order}
    for name in swept:
        if name not in table:
            raise bad(path, "/summary attribute swept_columns", f"names {name!r}, which is not a column")
    return table


def _runs(f, path, parts: dict | None) -> dict[str, dict]:
    runs = member(f, "runs", path, "group")
    return {key: check_run(runs, key, path, parts) for key in sorted(runs, key=natural_key)}


def check_archive(f, path, parts: dict | None = None) -> dict:
    """The whole archive checked (see the module docstring), as ``read_archive`` returns it.

    ``parts``, if given, is filled as :func:`check_run` fills it, for every complete run.
    """
    try:
        attrs = check_root(f, path)
        toml, digest = check_config(f, path)
        runs = _runs(f, path, parts)
        summary = check_summary(f, path)
    except ArchiveError:
        raise
    except READ_ERRORS as error:  # what h5py raises on damage the checks above did not name
        raise ArchiveError(f"{path}: corrupt archive ({first_line(error)})") from None
    return {
        "path": str(path),
        "attrs": attrs,
        "config_toml": toml,
        "config_sha256": digest,
        "runs": runs,
        "summary": summary,
    }
