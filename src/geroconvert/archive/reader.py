"""Reading archives: open one with one-line errors for every way it can be wrong, read runs and /summary.

Every reader opens the file through :func:`checked`, which runs the one schema check of
:mod:`geroconvert.archive.validate` before anything is read, so ``info``, ``report`` and
``sweep --resume`` accept and refuse the same archives, with the same words.
Everything comes back as plain Python values and numpy arrays; damage found while
reading is an :class:`~geroconvert.errors.ArchiveError` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geroconvert.archive import provenance
from geroconvert.archive.schema import READ_ERRORS, STATUS_COMPLETE, import_h5py, sha256_text
from geroconvert.archive.validate import check_archive, check_snapshots, member
from geroconvert.archive.values import attr, text
from geroconvert.errors import ArchiveError


def _open(path: Path):
    """The file opened read-only, if it is an HDF5 file at all."""
    h5py = import_h5py()
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
        return h5py.File(path, "r")
    except OSError as error:
        raise ArchiveError(f"{path}: corrupt or truncated HDF5 file ({str(error).splitlines()[0]})") from None


@contextmanager
def checked(path: str | Path, parts: bool = True) -> Iterator[tuple]:
    """(the open file, the archive as :func:`read_archive` returns it, key -> checked datasets
    of each complete run, or {} without ``parts``), checked against the schema."""
    kept: dict | None = {} if parts else None  # holding datasets open costs time at close
    with _open(Path(path)) as f:
        yield f, check_archive(f, path, kept), kept or {}


def open_checked(path: str | Path):
    """Open an archive read-only, checked against the schema: one-line errors for every way it can be wrong."""
    f = _open(Path(path))
    try:
        check_archive(f, path)
    except BaseException:
        f.close()
        raise
    return f


def read_archive(path: str | Path) -> dict:
    """Provenance, config, run attributes and /summary as plain Python values and numpy arrays."""
    with checked(path, parts=False) as (_, archive, _):
        return archive


def complete_run_keys(path: str | Path, config_text: str | None = None) -> list[str]:
    """Keys of the complete runs, read without opening the file for writing.

    With ``config_text``, an archive whose /config differs is refused (``--resume``).
    """
    archive = read_archive(path)
    if config_text is not None and archive["config_sha256"] != sha256_text(config_text):
        raise ArchiveError(
            f"{path}: its /config differs from this config; runs of different configs do not belong in one archive"
        )
    return _complete(archive)


def _complete(archive: dict) -> list[str]:
    return [key for key, attrs in archive["runs"].items() if attrs["status"] == STATUS_COMPLETE]


def read_run(path: str | Path, key: str, snapshots: bool = False) -> dict:
    """One run: timeseries, units, rpp, summary, events, attrs (and snapshots) as numpy arrays."""
    with checked(path) as (f, archive, parts):
        if key not in archive["runs"]:
            raise ArchiveError(f"{path}: no run {key!r}; runs: {', '.join(archive['runs'])}")
        return _read_run(f, path, key, archive["runs"], parts, snapshots=snapshots, units=True)


def read_complete_runs(path: str | Path) -> tuple[dict, dict[str, dict]]:
    """The archive (as :func:`read_archive`) and key -> run (as :func:`read_run`, without units) of every
    complete run, from one open of the file."""
    with checked(path) as (f, archive, parts):
        return archive, {key: _read_run(f, path, key, archive["runs"], parts) for key in parts}


def _read_run(f, path, key: str, runs: dict, parts: dict, snapshots: bool = False, units: bool = False) -> dict:
    attrs = runs[key]
    if key not in parts:
        raise ArchiveError(f"{path}: run {key!r} is {attrs['status']!r}, not complete: it holds no result")
    group = f["runs"][key]
    series, rpp, events = parts[key]
    try:
        out = {
            "attrs": {name: value for name, value in attrs.items() if name != "summary"},
            "timeseries": {name: dataset[()] for name, dataset in series.items()},
            "units": {name: attr(dataset, "units", path, text, "") for name, dataset in series.items()}
            if units
            else {},
            "rpp": {name: dataset[()] for name, dataset in rpp.items()},
            "summary": attrs["summary"],
            "events": events,
            "snapshots": {},
        }
        if snapshots and "snapshots" in group:
            for time_h, fields in check_snapshots(member(group, "snapshots", path, "group"), path).items():
                out["snapshots"][time_h] = {name: dataset[()] for name, dataset in fields.items()}
    except READ_ERRORS as error:
        raise ArchiveError(f"{path}: corrupt run {key!r} ({error})") from None
    return out


def software_change(path: str | Path, current: dict | None = None) -> str | None:
    """A one-line note if the software now running is not the one that made the archive's runs, else None.

    For ``sweep --resume`` to warn with: the runs it adds record their own provenance, so
    the archive then holds runs of two versions (``geroconvert info`` shows which is which).
    Compared: the package version, and the git commit where both are known.
    """
    archive = read_archive(path)
    now = current or provenance.collect()
    made = [provenance.of_run(archive["runs"][key], archive["attrs"]) for key in _complete(archive)]
    others = {_version(p) for p in made or [archive["attrs"]] if _differs(p, now)}
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
