"""Where a result came from: package, git commit, library versions, host, time.

Everything here is cheap and never fails: an unknown value is an empty string.
"""

from __future__ import annotations

import datetime as _dt
import functools
import platform
import socket
import subprocess
import sys
from pathlib import Path

from geroconvert import __version__

SOURCE_DIR = Path(__file__).resolve().parent
# What can change between the sessions that add runs to one archive (a resumed sweep): each
# run records these itself, beside its created_utc; the root attributes stay the archive's.
RUN_FIELDS = (
    "package_version",
    "git_commit",
    "git_dirty",
    "python_version",
    "numpy_version",
    "numba_version",
    "h5py_version",
    "host",
    "platform",
)
# What `info` shows of them and compares to tell runs of different software apart.
SHOWN_FIELDS = RUN_FIELDS[:-1]


def _module_version(name: str) -> str:
    module = sys.modules.get(name)
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    try:
        from importlib.metadata import version as _version

        return _version(name)
    except Exception:
        return ""


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(SOURCE_DIR), *args], capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


@functools.cache  # once per process: its code is what was loaded, whatever the tree holds later
def git_commit() -> tuple[str, bool]:
    """(commit hash, working tree dirty) of the source tree this package runs from; ("", False) if unknown.

    Only a repository that contains this package counts (an installed wheel inside
    some other repository reports nothing).
    """
    # one git process for both (each costs a few ms of every run); it fails, and prints
    # nothing we use, outside a repository and in one without a commit
    top, _, commit = _git("rev-parse", "--show-toplevel", "HEAD").partition("\n")
    if not top or not commit:
        return "", False
    try:
        SOURCE_DIR.relative_to(Path(top).resolve())
    except ValueError:
        return "", False
    # the paths from the top of the repository: `git -C SOURCE_DIR` reads bare paths from SOURCE_DIR
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ":(top)src", ":(top)pyproject.toml"))
    return commit, dirty


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def collect(command: str | None = None) -> dict[str, object]:
    """The archive's root attributes (docs/design.md, "The run archive"), minus ``schema_version``.

    ``command`` is the command line that made the archive (default: ``sys.argv``).
    """
    commit, dirty = git_commit()
    return {
        "package_version": __version__,
        "created_utc": utc_now(),
        "git_commit": commit,
        "git_dirty": dirty,
        "python_version": platform.python_version(),
        "numpy_version": _module_version("numpy"),
        "numba_version": _module_version("numba"),
        "h5py_version": _module_version("h5py"),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "command": command if command is not None else " ".join(sys.argv),
    }


def of_run(run_attrs: dict, archive_attrs: dict) -> dict:
    """A run's provenance: its own, or the archive's for runs written before runs recorded their own."""
    if any(name in run_attrs for name in RUN_FIELDS):
        return {name: run_attrs.get(name, "") for name in RUN_FIELDS}
    return {name: archive_attrs.get(name, "") for name in RUN_FIELDS}


def describe(provenance: dict) -> str:
    """One line naming the software and host in ``provenance``."""
    commit = str(provenance.get("git_commit") or "")
    git = f"git {commit[:12]}{' (modified)' if provenance.get('git_dirty') else ''}" if commit else "git unknown"
    return (
        f"geroconvert {provenance.get('package_version') or '?'}, {git}, "
        f"Python {provenance.get('python_version') or '?'}, numpy {provenance.get('numpy_version') or '?'}, "
        f"numba {provenance.get('numba_version') or '?'}, h5py {provenance.get('h5py_version') or '?'}, "
        f"host {provenance.get('host') or '?'}"
    )
