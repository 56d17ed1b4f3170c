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


def run_geroconvert(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """``python -m geroconvert ARGS`` as a user would run it: no stdin, not a terminal."""
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [sys.executable, "-m", "geroconvert", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


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


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and `dask worker --nworkers 2` on loopback; yields the address."""
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("dask command not installed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    workers = subprocess.Popen(
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
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
        yield address
    finally:
        for process in (workers, scheduler):  # the nannies and their worker processes too
            kill_process_group(process)


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
