"""Shared fixtures: the real ``geroconvert`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
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
    return subprocess.run([sys.executable, "-m", "geroconvert", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, stdin=subprocess.DEVNULL, timeout=timeout)


@pytest.fixture
def geroconvert_cli():
    """Call the command: ``geroconvert_cli("run", config, "-o", out)`` -> CompletedProcess."""
    return run_geroconvert
