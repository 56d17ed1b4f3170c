"""Shared fixtures: the real ``geroconvert`` command in a subprocess."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The tests run numba kernels in this process while they start `geroconvert` subprocesses:
# idle OpenMP threads that spin (the default) then starve those processes, which made the
# suite several times slower on 2 cores.  Must be set before numba starts its threads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def _command_env() -> dict:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    env.pop("PYTHONWARNINGS", None)
    return env


def run_geroconvert(*args, cwd=None, timeout=600, preexec_fn=None) -> subprocess.CompletedProcess:
    """``python -m geroconvert ARGS`` as a user would run it: no stdin, not a terminal.
    ``preexec_fn`` runs in the child before the command (e.g. to set a resource limit)."""
    return subprocess.run(
        [sys.executable, "-m", "geroconvert", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=_command_env(),
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def start_geroconvert(*args, cwd=None) -> subprocess.Popen:
    """The same command, started in the background (stdout and stderr piped, as text)."""
    return subprocess.Popen(
        [sys.executable, "-m", "geroconvert", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd or ROOT,
        env=_command_env(),
        stdin=subprocess.DEVNULL,
    )


def committed_runs(path) -> list[str] | None:
    """Keys of the runs an archive holds, with those of its sweep parts (``OUT.h5.parts/``),
    as every reader sees them (``geroconvert.archive.reader.read_rows``); None while there
    is no archive.  A damaged archive is an ArchiveError, not None."""
    from geroconvert.archive.hdf5 import read_rows

    path = Path(path)
    if not path.exists():
        return None
    return read_rows(path).rows.keys


def scratch_files(path) -> list[Path]:
    """What a writer of ``path`` leaves only while it writes: ``PATH.partial``, and every file
    of ``PATH.parts/`` that is not a part (a part's scratch copy)."""
    from geroconvert.archive.hdf5 import part_files, parts_dir

    path = Path(path)
    found = [p for p in (path.with_name(path.name + ".partial"),) if p.exists()]
    folder = parts_dir(path)
    if folder.is_dir():
        found += sorted(set(folder.iterdir()) - set(part_files(path)))
    return found


@pytest.fixture
def geroconvert_cli():
    """Call the command: ``geroconvert_cli("run", config, "-o", out)`` -> CompletedProcess."""
    return run_geroconvert


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_process_group(process: subprocess.Popen) -> None:
    """SIGKILL a process started with start_new_session=True and everything in its group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


@contextlib.contextmanager
def running_dask_cluster(folder: Path):
    """A real `dask scheduler` and `dask worker --nworkers 2` on loopback; yields
    (address, scheduler process).  Both are killed, with their process groups, at the end."""
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("dask command not installed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    workers = subprocess.Popen(
        [
            dask,
            "worker",
            address,
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--host",
            "127.0.0.1",
            "--dashboard-address",
            "127.0.0.1:0",
        ],  # their HTTP servers on loopback too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=folder,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield address, scheduler
    finally:
        for process in (workers, scheduler):  # the nannies and their worker processes too
            kill_process_group(process)


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and `dask worker --nworkers 2` on loopback; yields the address."""
    with running_dask_cluster(tmp_path) as (address, _scheduler):
        yield address


# The fast unit tests: one module or function at a time, in this process, no long runs.
# `make test-unit` (pytest -m unit) runs them alone in well under a minute; `make test`
# runs everything.  By folder (the folders mirror the package's layers) or by file.
UNIT_TESTS = (
    "parameters/",
    "config/",
    "core/",
    "oracle/",
    "archive/",
    "analysis/",
    "studies/test_sweep.py",
    "interfaces/test_mesa_model.py",
    "test_architecture.py",
    "test_public_api.py",
    "test_docs.py",
    "test_smoke.py",
)


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).resolve().parent
    for item in items:
        where = Path(str(item.path)).resolve().relative_to(tests).as_posix()
        if where.startswith(UNIT_TESTS):
            item.add_marker(pytest.mark.unit)
