"""Reading archives: open one with one-line errors for every way it can be wrong, read its runs.

Every reader goes through :func:`read_rows`, which opens the file, checks it against the
schema (:mod:`geroconvert.archive.validate`) and adds the runs of a sweep's parts
(:mod:`geroconvert.archive.parts`), so ``info``, ``report``, ``open_archive`` and
``sweep --resume`` accept and refuse the same archives, with the same words.  Everything
comes back as plain Python values and numpy arrays; damage found while reading is an
:class:`~geroconvert.errors.ArchiveError` naming the file.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np

from geroconvert.archive import provenance
from geroconvert.archive.schema import READ_ERRORS, RUN_DIM, STATUS_COMPLETE, import_h5py, sha256_text
from geroconvert.archive.table import RunRows, swept_columns
from geroconvert.archive.validate import Checked, check_snapshots, member, read_checked
from geroconvert.errors import ArchiveError


def _open(path: Path):
    """The file opened read-only, if it is an HDF5 file at all."""
    h5py = import_h5py()
    if not path.exists():
        raise ArchiveError(f"{path}: no such file")
    if path.is_dir():
        raise ArchiveError(f"{path}: is a directory, not an archive")
    if not path.is_file():
        raise ArchiveError(f"{path}: not a regular file (a device, FIFO or socket), not an archive")
    try:
        is_hdf5 = h5py.is_hdf5(str(path))
    except OSError as error:
        raise ArchiveError(f"{path}: cannot read ({error})") from None
    if not is_hdf5:
        raise ArchiveError(f"{path}: not an HDF5 file (a geroconvert archive is written by `geroconvert run`)")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise ArchiveError(f"{path}: corrupt or truncated HDF5 file ({str(error).splitlines()[0]})") from None


def open_file(target, label: Path | None = None):
    """``target`` (a path, or a buffer holding an archive's bytes) opened read-only."""
    if isinstance(target, io.BytesIO):
        try:
            return import_h5py().File(target, "r")
        except OSError as error:
            raise ArchiveError(f"{label}: corrupt or truncated HDF5 file ({str(error).splitlines()[0]})") from None
    return _open(Path(target))


def read_file(target, label: Path | str | None = None, snapshots: bool = False) -> Checked:
    """One file (without its parts) read and checked (its snapshots too if asked for)."""
    label = label or target
    with open_file(target, Path(str(label))) as f:
        return read_checked(f, label, snapshots)


def read_rows(path: str | Path, snapshots: bool = False) -> Checked:
    """The archive at ``path`` with the runs of its parts (a sweep in progress or stopped), checked.

    A run in both the archive and a part (a merge that was stopped before it removed the
    parts) counts once.
    """
    from geroconvert.archive.output import part_files

    for _attempt in range(3):  # a merge that finishes while we read removes the parts: read again
        # the parts first: a merge that ends after this has put their runs into OUT.h5
        listed = part_files(path)
        main = read_file(path, snapshots=snapshots)
        try:
            parts = [read_file(part, snapshots=snapshots) for part in listed]
        except ArchiveError:
            if not all(part.exists() for part in listed) and _attempt < 2:
                continue
            raise
        for part, checked in zip(listed, parts):
            if checked.config_sha256 != main.config_sha256:
                raise ArchiveError(f"{part}: holds runs of another config than {path}; move it away")
        if not parts:
            return main
        rows = RunRows.concat([main.rows, *(p.rows for p in parts)]).sorted()
        return replace(main, rows=rows)
    raise AssertionError("unreachable")


def summary_table(rows: RunRows) -> dict[str, np.ndarray]:
    """/summary as it is stored: run, replicate, seed, the swept columns, the results."""
    table: dict[str, np.ndarray] = {
        RUN_DIM: np.array(rows.keys, dtype=object),
        "replicate": rows.replicate,
        "seed": rows.seed,
        **swept_columns(rows),
    }
    for name, values in rows.summary.items():
        table.setdefault(name, values)
    return table


def _run_attrs(rows: RunRows, r: int) -> dict:
    session = rows.sessions[int(rows.session[r])] if rows.sessions else {}
    return {
        "status": STATUS_COMPLETE,
        "seed": int(rows.seed[r]),
        "replicate": int(rows.replicate[r]),
        "overrides": rows.overrides_of(r),
        "swept": rows.swept_of(r),
        "wall_s": float(rows.wall_s[r]),
        "created_utc": rows.created_utc[r],
        **session,
        "summary": rows.summary_of(r),
    }


def as_archive(path, checked: Checked) -> dict:
    """The archive as ``read_archive`` returns it."""
    rows = checked.rows
    return {
        "path": str(path),
        "attrs": checked.attrs,
        "config_toml": checked.config_toml,
        "config_sha256": checked.config_sha256,
        "runs": {key: _run_attrs(rows, r) for r, key in enumerate(rows.keys)},
        "summary": summary_table(rows),
    }


def read_archive(path: str | Path) -> dict:
    """Provenance, config, each run's attributes and results, and /summary, as plain Python values."""
    return as_archive(path, read_rows(path))


def complete_run_keys(path: str | Path, config_text: str | None = None) -> list[str]:
    """Keys of the runs the archive (and its parts) hold; with ``config_text``, an archive
    whose /config differs is refused (``--resume``)."""
    checked = read_rows(path)
    if config_text is not None and checked.config_sha256 != sha256_text(config_text):
        raise ArchiveError(
            f"{path}: its /config differs from this config; runs of different configs do not belong in one archive"
        )
    return checked.rows.keys


def run_dict(rows: RunRows, r: int, units: bool = False) -> dict:
    """Run r as ``read_run`` gives it (without snapshots)."""
    attrs = _run_attrs(rows, r)
    series = rows.timeseries.row(r)
    return {
        "attrs": {name: value for name, value in attrs.items() if name != "summary"},
        "timeseries": series,
        "units": {name: rows.units.get(name, "") for name in series} if units else {},
        "rpp": rows.rpp.row(r),
        "summary": attrs["summary"],
        "events": rows.events_of(r),
        "snapshots": {},
    }


def read_run(path: str | Path, key: str, snapshots: bool = False) -> dict:
    """One run: timeseries, units, rpp, summary, events, attrs (and snapshots) as numpy arrays."""
    checked = read_rows(path)
    rows = checked.rows
    if key not in rows.keys:
        shown = ", ".join(rows.keys[:10]) + (", ..." if rows.n_runs > 10 else "")
        raise ArchiveError(f"{path}: no run {key!r}; runs: {shown or 'none'}")
    out = run_dict(rows, rows.keys.index(key), units=True)
    if snapshots:
        out["snapshots"] = read_snapshots(path, key)
    return out


def read_snapshots(path: str | Path, key: str) -> dict[float, dict[str, np.ndarray]]:
    """time_h -> field -> array (rows x width; rows x depth x width on a basal sheet) of one run's
    snapshots (from the archive or the part holding it)."""
    from geroconvert.archive.output import part_files

    for source in (Path(path), *part_files(path)):
        with _open(source) as f:
            try:
                if "snapshots" not in f or key not in f["snapshots"]:
                    continue
                group = member(member(f, "snapshots", source, "group"), key, source, "group")
                return {
                    t: {name: d[()] for name, d in fields.items()}
                    for t, fields in check_snapshots(group, source).items()
                }
            except READ_ERRORS as error:
                raise ArchiveError(f"{source}: corrupt snapshots of run {key!r} ({error})") from None
    return {}


def read_complete_runs(path: str | Path) -> tuple[dict, dict[str, dict]]:
    """The archive (as :func:`read_archive`) and key -> run (as :func:`read_run`, without units)."""
    checked = read_rows(path)
    rows = checked.rows
    return as_archive(path, checked), {key: run_dict(rows, r) for r, key in enumerate(rows.keys)}


def software_change(path: str | Path, current: dict | None = None) -> str | None:
    """A one-line note if the software now running is not the one that made the archive's runs, else None.

    For ``sweep --resume`` to warn with: the runs it adds record their own session, so the
    archive then holds runs of two versions (``geroconvert info`` shows which is which).
    Compared: the package version, and the git commit where both are known.
    """
    checked = read_rows(path)
    now = current or provenance.collect()
    rows = checked.rows
    made = [rows.sessions[i] for i in sorted(set(rows.session.tolist()))] or [checked.attrs]
    others = {_version(p) for p in made if _differs(p, now)}
    if not others:
        return None
    return (
        f"{path}: its runs were made by geroconvert {', '.join(sorted(others))}, this is {_version(now)}; "
        "the runs added now record their own version (`geroconvert info` shows which runs came from which)"
    )


def _version(p: dict) -> str:
    commit = str(p.get("git_commit") or "")
    return f"{p.get('package_version') or '?'}" + (f" (git {commit[:12]})" if commit else "")


def _differs(made: dict, now: dict) -> bool:
    if made.get("package_version") != now.get("package_version"):
        return True
    return bool(made.get("git_commit") and now.get("git_commit") and made["git_commit"] != now["git_commit"])


__all__ = [
    "read_rows",
    "read_file",
    "read_archive",
    "read_run",
    "read_snapshots",
    "read_complete_runs",
    "complete_run_keys",
    "software_change",
    "summary_table",
]
