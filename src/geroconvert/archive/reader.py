"""Reading archives: open one with one-line errors for every way it can be wrong, read runs and /summary.

Everything comes back as plain Python values and numpy arrays; damage found while
reading is an :class:`~geroconvert.errors.ArchiveError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from geroconvert.archive.schema import (
    READ_ERRORS,
    SCHEMA_VERSION,
    STATUS_COMPLETE,
    import_h5py,
    natural_key,
    plain,
    sha256_text,
)
from geroconvert.errors import ArchiveError


def open_checked(path: str | Path):
    """Open an archive read-only, with one-line errors for every way it can be wrong."""
    h5py = import_h5py()
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
            raise ArchiveError(
                f"{path}: archive schema {int(version)} is newer than this geroconvert reads "
                f"({SCHEMA_VERSION}); upgrade geroconvert"
            )
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
            config = f["config"] if "config" in f else None  # noqa: SIM401 - the check h5py answers for damaged files
            toml = plain(config["toml"][()]) if config is not None and "toml" in config else ""
            runs: dict[str, dict] = {}
            summary: dict[str, Any] = {}
            out = {
                "path": str(path),
                "attrs": {name: plain(value) for name, value in f.attrs.items()},
                "config_toml": toml,
                "config_sha256": plain(config.attrs.get("sha256", "")) if config is not None else "",
                "runs": runs,
                "summary": summary,
            }
            for key in sorted(f["runs"], key=natural_key):
                group = f["runs"][key]
                attrs = {name: plain(value) for name, value in group.attrs.items()}
                for name in ("overrides", "swept"):
                    if isinstance(attrs.get(name), str):
                        attrs[name] = json.loads(attrs[name])
                attrs["summary"] = (
                    {n: float(plain(v)) for n, v in group["summary"].attrs.items()} if "summary" in group else {}
                )
                runs[key] = attrs
            if "summary" in f:
                order = json.loads(plain(f["summary"].attrs.get("columns", "[]"))) or list(f["summary"])
                for name in order:
                    data = f["summary"][name]
                    summary[name] = data.asstr()[()] if data.dtype.kind == "O" else data[()]
        except READ_ERRORS as error:
            raise ArchiveError(f"{path}: corrupt archive ({error})") from None
    return out


def complete_run_keys(path: str | Path, config_text: str | None = None) -> list[str]:
    """Keys of the complete runs, read without opening the file for writing.

    With ``config_text``, an archive whose /config differs is refused (``--resume``).
    """
    with open_checked(path) as f:
        try:
            stored = plain(f["config"].attrs.get("sha256", "")) if "config" in f else ""
            runs = f["runs"]
            keys = [k for k in runs if plain(runs[k].attrs.get("status")) == STATUS_COMPLETE]
        except READ_ERRORS as error:
            raise ArchiveError(f"{path}: corrupt archive ({error})") from None
    if config_text is not None and stored != sha256_text(config_text):
        raise ArchiveError(
            f"{path}: its /config differs from this config; runs of different configs do not belong in one archive"
        )
    return sorted(keys, key=natural_key)


def _read_group_series(group) -> tuple[dict, dict]:
    series, units = {}, {}
    for name in group:
        series[name] = group[name][()]
        units[name] = plain(group[name].attrs.get("units", ""))
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
        "attrs": {name: plain(value) for name, value in group.attrs.items()},
        "timeseries": series,
        "units": units,
        "rpp": rpp,
        "summary": {n: float(plain(v)) for n, v in group["summary"].attrs.items()},
        "events": {n: int(plain(v)) for n, v in group["events"].attrs.items()},
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
