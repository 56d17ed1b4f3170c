"""Ctrl-C and SIGTERM: every command stops within seconds, keeps what it committed, exits 130/143.

On the code before this test, a signal raised an exception wherever Python happened to
be: of 30 Ctrl-C sent to `run`, 7 were swallowed (the run finished, exited 0 and replaced
the output) and 2 gave exit 1 from inside numba; a SIGTERM during a sweep's commit
restarted the commit in a ``finally``; an interrupted sweep said "nothing was written"
after committing runs; a killed trial started again from zero.

Moments are defined by what is on disk (the writer's lock file, committed runs), not by
the clock, so the tests hold on a slow machine.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from geroconvert import interrupts
from tests.conftest import CONFIGS, committed_runs, run_geroconvert, scratch_files, start_geroconvert

STOP_WITHIN_S = 15.0  # generous for a loaded 2-core machine; a stop takes well under 1 s idle
LONG_RUN = ["--set", "simulation.hours=200000", "--set", "simulation.width=96", "--set", "simulation.height=96"]


start = start_geroconvert


def wait_for(condition, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"ended before the moment: {process.communicate()}"
        assert time.monotonic() < deadline, "the moment never came"
        time.sleep(0.05)


def stop(process: subprocess.Popen, signum: int, repeat_after_s: float | None = None) -> tuple[int, str, float]:
    """Send ``signum`` (and again after ``repeat_after_s``); returns (exit code, stderr, seconds to exit)."""
    process.send_signal(signum)
    sent = time.monotonic()
    if repeat_after_s is not None:
        time.sleep(repeat_after_s)
        if process.poll() is None:
            process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=STOP_WITHIN_S + 60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the command did not stop") from None
    return process.returncode, stderr, time.monotonic() - sent


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def complete_runs(path: Path) -> int:
    """Runs committed to the archive and its parts, read as every reader reads them."""
    return len(committed_runs(path) or [])


@pytest.mark.parametrize(
    ("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_stopped_run_exits_at_once_and_leaves_the_old_output(tmp_path, signum, code, word):
    out = tmp_path / "run.h5"
    out.write_bytes(b"the previous archive")
    process = start("run", CONFIGS / "ht_p21.toml", "-o", out, "--overwrite", "--quiet", *LONG_RUN)
    wait_for(lambda: Path(f"{out}.lock").exists(), process)  # the command holds OUT.h5: it is running
    time.sleep(1.0)
    returncode, stderr, seconds = stop(process, signum)
    assert returncode == code
    line = one_line(stderr)
    assert word in line and "nothing was written" in line
    assert seconds < STOP_WITHIN_S
    assert out.read_bytes() == b"the previous archive"
    assert not Path(f"{out}.partial").exists() and not Path(f"{out}.lock").exists()


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = task / "children"
        if children.exists():
            found += [int(p) for p in children.read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def assert_ended(workers: list[int]) -> None:
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers), "worker processes outlived the sweep"


@pytest.mark.parametrize("repeat", [None, 0.05])
def test_a_stopped_sweep_commits_what_finished_ends_its_workers_and_says_so(tmp_path, repeat):
    out = tmp_path / "sweep.h5"
    process = start(
        "sweep", CONFIGS / "rapamycin_dose_sweep.toml", "-o", out, "--workers", "2", "--quiet",
        "--set", "sweep.replicates=20",
    )  # fmt: skip
    wait_for(lambda: out.exists() and complete_runs(out) >= 1, process)
    workers = children_of(process.pid)
    returncode, stderr, seconds = stop(process, signal.SIGTERM, repeat_after_s=repeat)
    assert returncode == 143
    line = one_line(stderr)
    kept = complete_runs(out)
    assert "terminated" in line and f"keeps {kept} complete runs" in line and "--resume" in line
    assert 1 <= kept < 140
    assert seconds < STOP_WITHIN_S
    assert not scratch_files(out)  # neither OUT.h5.partial nor a part's scratch copy
    assert_ended(workers)


TRIAL = [
    "--set", "simulation.width=24",
    "--set", "trial.subjects=6",
    "--set", "trial.age_min_years=32",
    "--set", "trial.age_max_years=36",
    "--workers", "1",
]  # fmt: skip


def test_a_stopped_trial_resumes_to_the_same_result(tmp_path):
    config = CONFIGS / "split_hand_trial.toml"
    whole = tmp_path / "whole"
    done = run_geroconvert("trial", config, "-o", whole, *TRIAL)
    assert done.returncode == 0, done.stderr

    stopped = tmp_path / "stopped"
    process = start("trial", config, "-o", stopped, *TRIAL)
    store = stopped / "subjects.json"
    wait_for(lambda: store.exists() and json.loads(store.read_text())["subjects"], process)
    returncode, stderr, _ = stop(process, signal.SIGINT)
    assert returncode == 130
    n_kept = len(json.loads(store.read_text())["subjects"])
    assert 1 <= n_kept < 6 and f"keeps {n_kept} of 6 subjects" in one_line(stderr)
    resumed = run_geroconvert("trial", config, "-o", stopped, "--resume", *TRIAL)
    assert resumed.returncode == 0, resumed.stderr
    for name in ("subjects.json", "summary.txt", "subjects.csv"):
        assert (stopped / name).read_bytes() == (whole / name).read_bytes(), name


def test_a_trial_resume_refuses_another_config(tmp_path):
    folder = tmp_path / "trial"
    folder.mkdir()
    (folder / "subjects.json").write_text(
        json.dumps({"format": "geroconvert trial subjects", "version": 1, "config_sha256": "0" * 64, "subjects": []})
    )
    done = run_geroconvert("trial", CONFIGS / "split_hand_trial.toml", "-o", folder, "--resume", timeout=120)
    assert done.returncode == 2 and "different config" in one_line(done.stderr)


# ---- the flag itself (in this process) -------------------------------------------------------
@pytest.mark.unit
def test_the_engine_stops_between_steps_when_asked():
    from geroconvert.core.engine import Simulation
    from tests.helpers import ht_p21

    sim = Simulation(ht_p21(hours=50.0))
    interrupts.request(signal.SIGINT)
    try:
        with pytest.raises(interrupts.Interrupted) as stopped:
            sim.run()
    finally:
        interrupts.clear()
    assert stopped.value.exit_code == 130
    assert sim.step_index == 0  # not a single step after the request


@pytest.mark.unit
def test_one_signal_asks_two_insist_and_the_handler_never_raises():
    with interrupts.stop_on_signals():
        handler = signal.getsignal(signal.SIGTERM)
        handler(signal.SIGTERM, None)  # must not raise: it only records the request
        assert interrupts.requested() == signal.SIGTERM
        interrupts.check_insisted()  # nothing yet
        handler(signal.SIGTERM, None)
        with pytest.raises(interrupts.Interrupted):
            interrupts.check_insisted()
    assert interrupts.requested() is None and signal.getsignal(signal.SIGTERM) is not handler


def test_three_quick_ctrl_c_leave_no_worker_running(tmp_path):
    out = tmp_path / "sweep.h5"
    process = start(
        "sweep", CONFIGS / "rapamycin_dose_sweep.toml", "-o", out, "--workers", "2", "--quiet",
        "--set", "sweep.replicates=20",
    )  # fmt: skip
    wait_for(lambda: out.exists() and complete_runs(out) >= 1, process)
    workers = children_of(process.pid)
    assert workers
    for _ in range(3):  # the third signal kills the process at once: its workers must go too
        process.send_signal(signal.SIGINT)
        time.sleep(0.02)
    process.communicate(timeout=60)
    assert_ended(workers)
    assert complete_runs(out) >= 1  # the committed runs stay readable (OUT.h5 and its parts)


@pytest.mark.unit
def test_a_stop_before_the_first_write_keeps_the_archive_overwrite_would_replace(tmp_path):
    from geroconvert.config import load_config
    from geroconvert.studies.sweep import run_sweep

    out = tmp_path / "sweep.h5"
    out.write_bytes(b"the previous sweep")
    loaded = load_config(CONFIGS / "rapamycin_dose_sweep.toml", ["simulation.width=8", "simulation.height=8"])
    interrupts.request(signal.SIGINT)
    try:
        with pytest.raises(interrupts.Interrupted):
            run_sweep(loaded.mapping, out, workers=1, overwrite=True)
    finally:
        interrupts.clear()
    assert out.read_bytes() == b"the previous sweep"
