"""The archive's schema: one self-describing HDF5 file, no pickles (docs/design.md, "The run archive").

Layout (schema_version 1)::

    /                      attrs: schema_version, package_version, created_utc, git_commit, git_dirty,
                                  python_version, numpy_version, numba_version, h5py_version, host,
                                  platform, command
    /config                attrs: sha256;  dataset `toml` (scalar UTF-8 string): the resolved config
    /runs/<key>            attrs: seed, overrides (JSON), status, wall_s, replicate, swept (JSON),
                                  created_utc, and the software that wrote the run: package_version,
                                  git_commit, git_dirty, python_version, numpy_version, numba_version,
                                  h5py_version, host, platform (runs of older archives lack these:
                                  they count as made by the software in the root attributes)
        timeseries/<name>  1-D float64, dimension scale `time_h` attached; attr `units`
        assays/rpp/        time_h (scale), rpp, n_replated, n_colonies (1-D)
        events             attrs: event name -> total count over the run
        summary            attrs: scalar results (t50_h, final_*, wall_s, compile_s, ...)
        snapshots/<t>/     (optional) attr time_h; 2-D datasets phase, kind, mass, p16, gero, sasp
                           (chunked, gzip)
    /summary               one row per complete run, stored as a group of equal-length column
                           datasets: run_key (UTF-8), replicate, seed, one column per swept
                           parameter named by its config path (e.g. `environment.rapamycin_nM`),
                           then one float64 column per scalar result (NaN where a run lacks it).
                           attrs: columns (JSON list, in order), swept_columns (JSON list)

The root attributes are the archive's creation; a run added later (``sweep --resume``)
records its own software.  Runs are written by :mod:`geroconvert.archive.writer` and read by
:mod:`geroconvert.archive.reader`, which checks every file against this layout first
(:mod:`geroconvert.archive.validate`: types, shapes, dtypes, lengths, UTF-8, the config
digest).  Also here: the small conversions both share (HDF5 attribute values as plain
Python values, run keys in natural order, the config digest).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

from geroconvert.errors import ArchiveError

SCHEMA_VERSION = 1
STATUS_COMPLETE = "complete"
STATUS_WRITING = "writing"
SNAPSHOT_FIELDS = ("phase", "kind", "mass", "p16", "gero", "sasp")
RPP_UNITS = {
    "time_h": "h",
    "rpp": "fraction of replated cells forming colonies",
    "n_replated": "cells",
    "n_colonies": "colonies",
}


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
