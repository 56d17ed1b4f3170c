"""The archive's schema: one self-describing HDF5 file, no pickles (docs/design.md, "The run archive").

Layout (schema_version 2): columnar, one row per run along the dimension ``run``, so that
plain h5py, ``xarray.open_dataset(path, engine="h5netcdf", group=...)`` and
:func:`geroconvert.open_archive` all read it directly::

    /                  attrs: schema_version, package_version, created_utc, git_commit, git_dirty,
                              python_version, numpy_version, numba_version, h5py_version, host,
                              platform, command (the software and command that created the file)
    /config            attrs: sha256;  dataset `toml` (scalar UTF-8 string): the resolved config
    /runs              one row per run: run (the run key, UTF-8; dimension scale), replicate,
                       seed, wall_s, created_utc, session (row of /sessions that wrote the run),
                       overrides and swept (JSON objects, as UTF-8 text)
    /sessions          one row per writing session (a resumed sweep adds one): session (scale),
                       package_version, git_commit, git_dirty, python_version, numpy_version,
                       numba_version, h5py_version, host, platform
    /summary           run (scale), replicate, seed, one column per swept parameter named by its
                       config path (e.g. `environment.rapamycin_nM`; numbers, or text for lists),
                       one float64 column per scalar result (t50_h, final_*, wall_s, compile_s;
                       NaN where a run lacks it).  attrs: swept_columns (JSON list)
    /timeseries        run (scale), time_h (scale), the swept columns, replicate and seed as
                       per-run coordinates, one float64 (run x time_h) dataset per series
    /rpp               the RPP assay, laid out as /timeseries: rpp (float64), n_replated and
                       n_colonies (int64)
    /events            run (scale), one int64 column per event: its total over the run
    /snapshots/<run>/<t>/  (optional) attr time_h; datasets phase, kind, mass, p16, gero, sasp,
                         rows x width (rows x depth x width on a basal sheet)

Every dataset carries ``units`` (CF style: ``h``, ``s``, ``nM``, ``1`` for counts and
fractions) and ``long_name`` (what it is), and its dimension scales, so netCDF readers see
real dimensions.  Runs of one archive may have recorded at different times (a sweep over
``simulation.hours``): the time axis of /timeseries (and of /rpp) is then the union of
their times, a time a run did not record holds the fill value (``_FillValue``: NaN for
float64, -1 for int64), and a uint8 (run x time_h) dataset ``recorded`` (1 = recorded)
says which; it is written only when the runs differ.  Only the series that apply to the
run's geometry are written (a dish has no stem cells or layers); in a sweep over the
geometry itself each run holds NaN in the other geometry's series.

A sweep in progress (or stopped) also has the folder ``OUT.h5.parts/``: each batch of
runs it commits is a small archive of this same layout there, written in one step; readers
see the runs of ``OUT.h5`` and its parts as one archive, and the end of the sweep merges
them into ``OUT.h5`` (:mod:`geroconvert.archive.parts`).

Runs are written by :mod:`geroconvert.archive.writer` and read by
:mod:`geroconvert.archive.reader`, which checks every file against this layout first
(:mod:`geroconvert.archive.validate`).  Archives of schema 1 (one group per run, written by
geroconvert 0.1) are converted by ``geroconvert upgrade`` (:mod:`geroconvert.archive.schema1`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

from geroconvert.errors import ArchiveError

SCHEMA_VERSION = 2
STATUS_COMPLETE = "complete"  # every run an archive of schema 2 holds is complete
SNAPSHOT_FIELDS = ("phase", "kind", "mass", "p16", "gero", "sasp")
RPP_UNITS = {"time_h": "h", "rpp": "1", "n_replated": "1", "n_colonies": "1"}
RPP_LONG_NAMES = {
    "time_h": "time of the assay since the start of the run",
    "rpp": "re-proliferative potential: fraction of replated cells forming colonies",
    "n_replated": "cells replated",
    "n_colonies": "colonies counted",
}
FLOAT_FILL = np.nan  # a time a run did not record, in float64 datasets
INT_FILL = -1  # ... in int64 datasets (counts are never negative)
GROUPS = ("runs", "sessions", "summary", "timeseries", "rpp", "events")
RUN_DIM = "run"
# the command a sensitivity study records as its archive's provenance: `report` and `info`
# tell a study's design points from a sweep's conditions by it
SENSITIVITY_COMMAND = "geroconvert sensitivity"
# the root ``kind`` of a posterior file (archive.posterior), which readers of run archives name
POSTERIOR_KIND = "geroconvert posterior"
TIME_DIM = "time_h"


def summary_units(name: str, series_units: dict[str, str] | None = None) -> str:
    """CF-style units of a /summary column, from its name (``final_X`` has the units of series X)."""
    if name.startswith("final_") and series_units and name[6:] in series_units:
        return series_units[name[6:]]
    for suffix, units in (
        ("_per_h", "h-1"),
        ("_nM", "nM"),
        ("_h", "h"),
        ("_s", "s"),
        ("_um", "um"),
        ("_years", "year"),
    ):
        if name.endswith(suffix):
            return units
    return "1"


# What h5py raises on damaged files: OSError or RuntimeError from the HDF5 library (bad
# checksums, broken links), KeyError/TypeError/AttributeError when an object is missing or
# of another kind than the layout says, ValueError (incl. bad UTF-8 and JSON) for bad values.
READ_ERRORS = (KeyError, OSError, ValueError, RuntimeError, TypeError, AttributeError)


def import_h5py():
    """h5py, imported on first use (it is slow to import)."""
    import h5py

    return h5py


def utf8_dtype():
    """The HDF5 variable-length UTF-8 string type."""
    return import_h5py().string_dtype("utf-8")


def sha256_text(text: str) -> str:
    """The hex SHA-256 digest of ``text`` (UTF-8): how /config is identified."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def natural_key(text: str):
    """Sort key that orders ``r2`` before ``r10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def plain(value: Any) -> Any:
    """An HDF5 attribute value as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def check_key(key: str) -> str:
    """``key`` if it can name a run group, else an ArchiveError."""
    if not isinstance(key, str) or not key or "/" in key or key in (".", "..") or key != key.strip():
        raise ArchiveError(f"run key {key!r}: use a non-empty name without '/' or surrounding spaces")
    return key
