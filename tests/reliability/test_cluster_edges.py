"""A bad --scheduler address and a scheduler that dies: one line, nothing left half-made.

On the code before this test, `--scheduler foo` gave exit 1 and left an empty OUT.h5 (so
the next try said "already exists"), and after the scheduler died, its 127 never-started
runs were reported as failed with a 35-line traceback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import (
    CONFIGS,
    committed_runs,
    run_geroconvert,
    running_dask_cluster,
    scratch_files,
    start_geroconvert,
)

TINY_SWEEP = ["--set", "simulation.width=8", "--set", "simulation.height=8", "--set", "simulation.hours=4",
              "--set", "assays.rpp_times_h=[]"]  # fmt: skip


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


def test_a_bad_scheduler_address_writes_nothing(tmp_path):
    out = tmp_path / "sweep.h5"
    for address in ("foo", "tcp://127.0.0.1:99999"):
        done = run_geroconvert("sweep", CONFIGS / "rapamycin_dose_sweep.toml", "-o", out, "--scheduler", address,
                               "--quiet", *TINY_SWEEP)  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "--scheduler" in one_line(done.stderr) and "cannot connect" in done.stderr
        assert not out.exists() and not Path(f"{out}.partial").exists() and not Path(f"{out}.parts").exists()
    done = run_geroconvert("sweep", CONFIGS / "rapamycin_dose_sweep.toml", "-o", out, "--quiet", "--workers", "1",
                           *TINY_SWEEP)  # fmt: skip
    assert done.returncode == 0, done.stderr  # the next try is not told "already exists"


def complete_runs(path: Path) -> int:
    """Runs committed to the archive and its parts (0 before the archive exists)."""
    return len(committed_runs(path) or [])


def test_a_dead_scheduler_ends_the_sweep_in_one_line_keeping_its_runs(tmp_path):
    out = tmp_path / "sweep.h5"
    with running_dask_cluster(tmp_path) as (address, scheduler):
        sweep = start_geroconvert(
            "sweep", CONFIGS / "rapamycin_dose_sweep.toml", "-o", out, "--scheduler", address, "--quiet",
            "--set", "sweep.replicates=40", "--set", "simulation.width=24", "--set", "simulation.height=24",
            "--set", "assays.rpp_times_h=[0]",
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while complete_runs(out) < 1:
            assert sweep.poll() is None, sweep.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.killpg(scheduler.pid, signal.SIGKILL)
        try:
            _, stderr = sweep.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            sweep.kill()
            raise AssertionError("the sweep did not stop after its scheduler died") from None
    assert sweep.returncode == 2, stderr[-3000:]
    line = one_line(stderr)
    kept = complete_runs(out)
    assert "lost the connection" in line and f"keeps {kept} complete runs" in line and "--resume" in line
    assert 1 <= kept < 280
    assert not scratch_files(out)  # every commit whole: OUT.h5 and its parts, no scratch copy


def test_a_stop_is_heard_while_connecting_to_a_listener_that_never_answers(tmp_path):
    """A port that accepts but never speaks Dask kept the client waiting past its timeout,
    deaf to Ctrl-C; the connection is now made in a helper thread while the flag is watched."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        out = tmp_path / "sweep.h5"
        sweep = start_geroconvert(
            "sweep", CONFIGS / "rapamycin_dose_sweep.toml", "-o", out, "--scheduler", address, "--quiet", *TINY_SWEEP
        )
        deadline = time.monotonic() + 120
        while not Path(f"{out}.lock").exists():  # the sweep holds OUT.h5: it is connecting
            assert sweep.poll() is None, sweep.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)
        sweep.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, stderr
    assert time.monotonic() - sent < 10
    assert "interrupted" in one_line(stderr)
    assert not out.exists() and not Path(f"{out}.parts").exists()
