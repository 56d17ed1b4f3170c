"""Output files: one writer at a time, never clobber an existing one, write atomically.

A process that writes ``PATH`` first takes an exclusive lock (:func:`exclusive_writer`, on
``PATH.lock``), so two commands aimed at one archive cannot interleave: the second refuses
in one line.  Only the lock holder touches ``PATH.partial``, its scratch copy.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from geroconvert.errors import ArchiveError


def lock_path(path: str | Path) -> Path:
    """The lock file of ``path`` while a process writes it: ``PATH.lock``."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def exclusive_writer(path: str | Path) -> Iterator[None]:
    """Hold the exclusive right to write ``path`` (refuse in one line if another process has it).

    ``flock`` on ``PATH.lock``: the kernel releases it when the process ends, however it
    ends, so a killed writer never leaves a stale lock.  The lock file is removed on
    release; a process that opened it just before is caught by the inode check and retries.
    """
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ArchiveError(
                f"{path}: another process is writing it; wait until it ends, or choose another output"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # we locked a file its last holder had already removed: try again
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)


def partial_path(path: str | Path) -> Path:
    """Where ``path`` is written before it is moved into place: ``PATH.partial``."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


def check_output(path: str | Path, overwrite: bool = False) -> Path:
    """Refuse an output path that exists (unless ``overwrite``) or cannot be a file; returns the Path."""
    path = Path(path)
    if path.is_dir():
        raise ArchiveError(f"{path}: is a directory; give a file name such as {path / 'run.h5'}")
    for target in (path, partial_path(path)):
        # os.replace would swap a device, FIFO or socket for our file (as root, /dev/null)
        if target.exists() and not target.is_file():
            raise ArchiveError(
                f"{target}: not a regular file (a device, FIFO or socket); give a file name such as run.h5"
            )
    if path.exists() and not overwrite:
        raise ArchiveError(f"{path}: already exists; pass --overwrite to replace it or choose another name")
    partial = partial_path(path)
    if partial.exists() and not overwrite:
        raise ArchiveError(f"{partial}: left by an interrupted run; remove it or pass --overwrite")
    parts = parts_dir(path)
    if parts.exists() and not parts.is_dir():  # a sweep would need it as its folder of parts
        raise ArchiveError(f"{parts}: is not a folder, and {path} would need it for a sweep's parts; move it away")
    if parts.exists() and not overwrite:
        raise ArchiveError(
            f"{parts}: the runs of a stopped sweep; finish it with `geroconvert sweep CONFIG -o {path} --resume`, "
            "or pass --overwrite to replace them"
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise ArchiveError(f"{path.parent}: is not a directory")
    return path


def check_not_an_input(path: str | Path, inputs) -> None:
    """Refuse an output that is one of the run's inputs (its config, or a file the config extends)."""
    target = Path(path).resolve()
    for source in inputs:
        if Path(source).resolve() == target:
            raise ArchiveError(f"{path}: is {source}, an input of this run; choose another output name")


# errors that mean "the disk (or the user's quota or file-size limit) is full"
NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def write_synced(target: Path, data: bytes, final: Path, retry_hint: str) -> None:
    """Write ``data`` to ``target`` and sync it; on failure remove ``target`` and say, in one
    line naming ``final`` (the file the user asked for), why and how to go on."""
    try:
        with open(target, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as error:
        with contextlib.suppress(OSError):
            target.unlink()
        if isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS:
            raise ArchiveError(
                f"{final}: no space left on the device for its {len(data) / 1e6:.2f} MB; "
                f"free space, {retry_hint} ({final} is as it was)"
            ) from None
        if isinstance(error, OSError):
            raise ArchiveError(f"{final}: cannot write {target} ({error.strerror or error}); {retry_hint}") from None
        raise


def replace_with_bytes(path: str | Path, data: bytes, retry_hint: str) -> None:
    """Write ``data`` to ``PATH.partial``, sync it, and move it onto ``path`` in one step.

    Plain file writes report a full disk as an OSError that becomes one line; HDF5 meeting a
    full disk prints pages of errors and can crash the process, so archives are built in
    memory and written here.  On any failure the scratch file is removed and ``path`` is as
    it was.  ``retry_hint`` says how to go on (e.g. "then run again").
    """
    path = Path(path)
    write_synced(partial_path(path), data, path, retry_hint)
    os.replace(partial_path(path), path)


@contextlib.contextmanager
def atomic_output(
    path: str | Path, overwrite: bool = False, retry_hint: str = "then run again"
) -> Iterator[io.BytesIO]:
    """Yield an in-memory buffer to write the archive into; on success it replaces ``path``.

    An existing ``path`` is never touched unless ``overwrite`` and the write succeeded; if
    the block raises (an error, a stop signal), nothing is written at all.
    """
    # what may not be written at all (a device, a folder) is refused here; an OUT.h5 that
    # appeared since the command's own check is kept, with the result beside it, below
    path = check_output(path, overwrite=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    yield buffer
    if path.exists() and not overwrite:  # another program wrote it while we ran: keep both
        kept = path.with_name(f"{path.name}.{os.getpid()}.partial")  # clobbers no other leftover
        write_synced(kept, buffer.getvalue(), path, retry_hint)
        raise ArchiveError(f"{path}: appeared while running; the result is kept in {kept}")
    replace_with_bytes(path, buffer.getvalue(), retry_hint)
    remove_parts(path)  # what a stopped sweep left for the archive just replaced


def write_json_file(path: str | Path, data, overwrite: bool = False, retry_hint: str = "then run again") -> None:
    """Write ``data`` as indented JSON: to a scratch file of this process, synced, then moved
    onto ``path`` in one step, so an interrupted write or a full disk never leaves half a
    file.  A ``path`` that appeared while the command ran (without ``overwrite``) is kept,
    and so is the result, in the scratch file, which the error names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = (json.dumps(data, indent=2) + "\n").encode("utf-8")
    scratch = path.with_name(f".{path.name}.{os.getpid()}.partial")  # never another process's file
    write_synced(scratch, payload, path, retry_hint)
    if path.exists() and not overwrite:
        raise ArchiveError(f"{path}: appeared while running; the result is kept in {scratch}")
    os.replace(scratch, path)


# -- a sweep's parts (archive.parts writes and merges them): the files of OUT.h5.parts/

PART_NAME = re.compile(r"^part-(\d{6,})\.h5$")


def parts_dir(path: str | Path) -> Path:
    """The folder of an archive's parts: ``OUT.h5.parts``."""
    path = Path(path)
    return path.with_name(path.name + ".parts")


def part_files(path: str | Path) -> list[Path]:
    """The parts of ``path`` in the order they were written (scratch files are not parts)."""
    folder = parts_dir(path)
    if not folder.is_dir():
        return []
    try:
        found = [(int(m.group(1)), child) for child in folder.iterdir() if (m := PART_NAME.match(child.name))]
    except (FileNotFoundError, NotADirectoryError):  # a merge removed the folder just now
        return []
    return [child for _, child in sorted(found)]


def remove_parts(path: str | Path) -> None:
    """Remove the parts folder of ``path`` (its parts and any scratch files in it)."""
    folder = parts_dir(path)
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        with contextlib.suppress(OSError):
            child.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def remove_scratch(path: str | Path) -> None:
    """Remove what a killed commit left in the parts folder (its scratch files, never a part)."""
    folder = parts_dir(path)
    if folder.is_dir():
        for child in folder.iterdir():
            if not PART_NAME.match(child.name):
                with contextlib.suppress(OSError):
                    child.unlink()
