"""Archives of schema 1 (one group per run, written before geroconvert 0.2), read only to convert them.

Layout (schema_version 1)::

    /                      attrs: schema_version = 1 and the provenance of its creation
    /config                attrs: sha256;  dataset `toml`: the resolved config
    /runs/<key>            attrs: seed, overrides (JSON), status, wall_s, replicate, swept (JSON),
                                  created_utc and (newer files) the run's own software
        timeseries/<name>  1-D float64 on the dimension scale `time_h`
        assays/rpp/        time_h, rpp, n_replated, n_colonies (1-D)
        events             attrs: event name -> total count over the run
        summary            attrs: scalar results
        snapshots/<t>/     (optional) 2-D fields
    /summary               a table derived from the runs (not read: it is rebuilt)

:func:`read_schema1` checks such a file as geroconvert 0.1 did (types, shapes, dtypes,
lengths, UTF-8, the config digest) and returns its complete runs; runs that a crash left
half-written (status ``writing``) hold no result and are left out.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from geroconvert.archive import validate
from geroconvert.archive.provenance import RUN_FIELDS
from geroconvert.archive.schema import (
    READ_ERRORS,
    RPP_UNITS,
    STATUS_COMPLETE,
    import_h5py,
    natural_key,
)
from geroconvert.archive.table import RunRows
from geroconvert.archive.validate import check_config, check_snapshots, dtype_text, member
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

# -- objects -------------------------------------------------------------------------------


def _numbers(dataset, path, length: int | None = None, why: str = "") -> None:
    """``dataset`` must hold 1-D numbers (``length`` of them; ``why`` says why so many)."""
    shape, dtype = dataset.shape, dataset.dtype
    if len(shape) != 1 or dtype.kind not in "biuf":
        raise bad(path, dataset.name, f"has shape {shape} and {dtype_text(dtype)}, expected 1-D numbers")
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
            raise bad(path, datasets[name].name, f"has {dtype_text(values.dtype)}, expected whole numbers >= 0")
        if np.any(values < 0):
            raise bad(path, datasets[name].name, "has negative counts, expected whole numbers >= 0")
    rpp = datasets["rpp"][()] if datasets else np.zeros(0)
    if np.any((rpp < 0) | (rpp > 1)):  # NaN (no cell replated) compares False: allowed
        raise bad(path, datasets["rpp"].name, "has values outside 0..1, expected fractions of replated cells")
    return datasets


RUN_ATTRS = {
    "seed": count,
    "replicate": count,
    "overrides": json_object,
    "swept": json_object,
    "wall_s": number,
}
RUN_OPTIONAL = {"created_utc": text, **{name: flag if name == "git_dirty" else text for name in RUN_FIELDS}}


def check_root(f, path) -> dict:
    return validate.check_root(f, path, supported=(1,))


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
        raise bad(path, "/summary/run_key", f"holds {dtype_text(keys.dtype)}, expected run keys (text)")
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


def read_schema1(f, path) -> tuple[dict, str, RunRows]:
    """(root attributes, config text, the complete runs) of an open archive of schema 1, checked."""
    from geroconvert.archive.provenance import of_run
    from geroconvert.core.recorder import SERIES_UNITS  # today's CF units: the old texts confuse netCDF readers

    parts: dict = {}
    archive = check_archive(f, path, parts)
    rows = []
    try:
        for key, (series, rpp, events) in parts.items():
            attrs = archive["runs"][key]
            group = f["runs"][key]
            snapshots = {}
            if "snapshots" in group:
                for time_h, fields in check_snapshots(member(group, "snapshots", path, "group"), path).items():
                    snapshots[time_h] = {name: dataset[()] for name, dataset in fields.items()}
            results = SimpleNamespace(
                timeseries={name: dataset[()] for name, dataset in series.items()},
                units={
                    name: SERIES_UNITS.get(name) or attr(ds, "units", path, text, "") for name, ds in series.items()
                },
                rpp={name: dataset[()] for name, dataset in rpp.items()},
                summary=attrs["summary"],
                events=events,
                snapshots=snapshots,
            )
            rows.append(
                RunRows.of_run(
                    key,
                    results,
                    seed=attrs["seed"],
                    replicate=attrs["replicate"],
                    overrides=attrs["overrides"],
                    swept=attrs["swept"],
                    wall_s=attrs["wall_s"],
                    created_utc=attrs.get("created_utc") or archive["attrs"].get("created_utc", ""),
                    session=of_run(attrs, archive["attrs"]),
                )
            )
    except READ_ERRORS as error:
        raise ArchiveError(f"{path}: corrupt archive ({first_line(error)})") from None
    return archive["attrs"], archive["config_toml"], RunRows.concat(rows)
