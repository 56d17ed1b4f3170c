"""Killed sweeps, lost Dask workers and readers during writes: nothing lost, nothing corrupt.

A small rapamycin dose sweep (7 doses x 3 replicates = 21 runs on a 48 x 48 dish, about
10 s with two local workers) is

* SIGKILLed, with its worker processes (the whole process group), at five moments of
  its life: before its archive exists, when the archive holds no run yet, after the
  first commit of runs, in the middle of a commit (while ``OUT.h5.partial`` is being
  written) and after more than half of the runs.  After each kill the archive (when
  there is one) opens with plain h5py and with ``geroconvert info``, holds only complete
  runs that equal the uninterrupted sweep's, and ``--resume`` (with a leftover
  ``OUT.h5.partial`` in the way) completes it; the finished archive equals an
  uninterrupted sweep dataset by dataset, bit for bit;
* run on a real Dask scheduler with two workers, one of which is SIGKILLed while it
  holds runs: the sweep still finishes with every run exactly once, equal to the local
  sweep;
* read by ``geroconvert info`` again and again while it is being written: every read
  shows the runs committed so far or a one-line message, never a crash.

Moments are defined by what is on disk, not by the clock, so they hold on a slow machine.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from geroconvert.core.readouts import TIMING_KEYS
from geroconvert.interfaces.cli import main
from tests.conftest import ROOT

N_RUNS = 21
SWEEP_TEXT = f"""# the rapamycin dose sweep, small: 21 runs of about 0.5 s
extends = "{(ROOT / "configs" / "rapamycin_dose_sweep.toml").as_posix()}"
[simulation]
width = 48
height = 48
"""
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
ENV.pop("PYTHONWARNINGS", None)


def geroconvert(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "geroconvert", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def start_sweep(config: Path, out: Path, *extra) -> subprocess.Popen:
    """`geroconvert sweep` in its own process group (so killpg reaches its worker processes too)."""
    with open(f"{out}.log", "a") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "geroconvert", "sweep", str(config), "-o", str(out), "--quiet", *map(str, extra)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=ENV,
            start_new_session=True,
        )


def _group_alive(pgid: int) -> list[int]:
    """PIDs of live (not zombie) processes in a process group."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the sweep and every process of its group; wait until none is left running."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    deadline = time.monotonic() + 60
    while _group_alive(process.pid):
        assert time.monotonic() < deadline, f"processes {_group_alive(process.pid)} survived SIGKILL"
        time.sleep(0.05)


def complete_runs(path: Path) -> list[str] | None:
    """Keys of the complete runs (None: no archive, or not readable right now)."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as f:
            runs = f["runs"]
            return sorted(k for k in runs if runs[k].attrs.get("status") == "complete")
    except (OSError, KeyError):
        return None


def run_contents(path: Path) -> dict:
    """Everything of each run that must not depend on how the sweep ran: datasets, attributes, summary."""
    out: dict = {}
    with h5py.File(path, "r") as f:
        for key in f["runs"]:
            run = f["runs"][key]
            out[f"{key}@attrs"] = {k: run.attrs[k] for k in ("seed", "replicate", "overrides", "swept", "status")}
            out[f"{key}@summary"] = {k: v for k, v in run["summary"].attrs.items() if k not in TIMING_KEYS}
            out[f"{key}@events"] = dict(run["events"].attrs)

            def visit(name, obj, key=key):
                if isinstance(obj, h5py.Dataset):
                    out[f"{key}/{name}"] = _bits(obj)

            run.visititems(visit)
        summary = f["summary"]
        out["/summary"] = {name: _bits(summary[name]) for name in summary if name not in TIMING_KEYS}
    return out


def _bits(dataset):
    """A dataset as comparable bits: (dtype, shape, raw bytes), strings as text."""
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return ("str", dataset.shape, repr(dataset.asstr()[()].tolist()))
    value = dataset[()]
    return (value.dtype.str, value.shape, value.tobytes())


def assert_runs_equal(path: Path, reference: dict, keys=None) -> None:
    """The runs of ``path`` (all, or ``keys``) equal the reference's, bit for bit."""
    got = run_contents(path)
    if keys is None:
        assert sorted(got) == sorted(reference), "different runs or datasets"
        items = got.items()
    else:
        items = [(name, value) for name, value in got.items() if name.split("/")[0].split("@")[0] in keys]
    for name, value in items:
        if name == "/summary":
            if keys is None:
                assert value == reference[name], "/summary differs"
            continue
        expected = reference[name]
        if isinstance(value, dict):
            assert value.keys() == expected.keys(), name
            for k in value:
                np.testing.assert_array_equal(value[k], expected[k], err_msg=f"{name}.{k}")
        else:
            assert value == expected, f"{name} differs"


def info(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["info", str(path)])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def sweep_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "small_sweep.toml"
    path.write_text(SWEEP_TEXT)
    return path


@pytest.fixture(scope="module")
def reference(sweep_config, tmp_path_factory) -> dict:
    """The uninterrupted sweep (two local workers)."""
    out = tmp_path_factory.mktemp("reference") / "reference.h5"
    done = geroconvert("sweep", sweep_config, "-o", out, "--workers", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    assert len(complete_runs(out)) == N_RUNS
    return run_contents(out)


# ---------------------------------------------------------------------------------------
# SIGKILL at five moments


def _moment(name: str, out: Path, started: float) -> bool:
    partial = Path(f"{out}.partial")
    if name == "at-start":
        return time.monotonic() - started > 0.05
    runs = complete_runs(out)
    if name == "empty-archive":
        return runs is not None
    if name == "first-runs":
        return bool(runs)
    if name == "mid-commit":  # a later commit: the archive is being copied and extended
        return runs is not None and len(runs) >= 1 and partial.exists()
    if name == "most-runs":
        return runs is not None and len(runs) > N_RUNS // 2
    raise ValueError(name)


MOMENTS = ["at-start", "empty-archive", "first-runs", "mid-commit", "most-runs"]


@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_at_any_moment_loses_nothing_and_resume_completes(tmp_path, sweep_config, reference, moment):
    out = tmp_path / "sweep.h5"
    partial = Path(f"{out}.partial")
    for _attempt in range(3):  # a moment is missed only if the whole sweep ends between two looks
        for leftover in (out, partial):
            leftover.unlink(missing_ok=True)
        process = start_sweep(sweep_config, out, "--workers", "2")
        started = time.monotonic()
        hit = False
        while process.poll() is None:
            if _moment(moment, out, started):
                hit = True
                break
            time.sleep(0.003)
        kill_group(process)
        if hit:
            break
    else:
        pytest.fail(f"the sweep always finished before the moment {moment!r}")

    # what the kill left: a readable archive of complete runs, equal to the reference's
    runs = complete_runs(out)
    if out.exists():
        with h5py.File(out, "r") as f:
            statuses = {key: f["runs"][key].attrs["status"] for key in f["runs"]}
            assert set(statuses.values()) <= {"complete"}, statuses
            assert [k.decode() if isinstance(k, bytes) else k for k in f["summary/run_key"][()]] == runs
        assert_runs_equal(out, reference, keys=set(runs))
        code, stdout, stderr = info(out)
        assert code == 0, stderr
        assert f"runs ({len(runs)})" in stdout and "writing" not in stdout
        if not partial.exists():  # a leftover copy of a killed commit must not stop --resume
            partial.write_bytes(b"garbage left by an earlier crash")
        done = geroconvert("sweep", sweep_config, "-o", out, "--resume", "--workers", "2")
        assert done.returncode == 0, done.stderr
        assert f"{N_RUNS - len(runs)} run(s) completed, {len(runs)} already there, 0 failed" in done.stdout
    else:
        # nothing to resume: one line saying so, then a fresh start works
        done = geroconvert("sweep", sweep_config, "-o", out, "--resume", "--workers", "2")
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "nothing to resume" in done.stderr
        fresh = ["--overwrite"] if partial.exists() else []  # a killed first commit leaves only the copy
        done = geroconvert("sweep", sweep_config, "-o", out, "--workers", "2", *fresh)
        assert done.returncode == 0, done.stderr
    assert not partial.exists()
    assert len(complete_runs(out)) == N_RUNS
    assert_runs_equal(out, reference)


def test_a_killed_resume_resumes_too(tmp_path, sweep_config, reference):
    """Kill the sweep, then kill its --resume mid-way, then resume again."""
    out = tmp_path / "sweep.h5"
    for extra in ([], ["--resume"]):
        process = start_sweep(sweep_config, out, "--workers", "2", *extra)
        before = len(complete_runs(out) or [])
        while process.poll() is None:
            runs = complete_runs(out)
            if runs is not None and len(runs) > before:
                break
            time.sleep(0.005)
        kill_group(process)
    done = geroconvert("sweep", sweep_config, "-o", out, "--resume", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert_runs_equal(out, reference)


# ---------------------------------------------------------------------------------------
# readers during writes


def test_info_while_the_sweep_writes(tmp_path, sweep_config, reference):
    out = tmp_path / "sweep.h5"
    process = start_sweep(sweep_config, out, "--workers", "2")
    seen: set[int] = set()
    reads = 0
    try:
        while process.poll() is None:
            code, stdout, stderr = info(out)
            reads += 1
            assert "Traceback" not in stderr
            if code == 2:  # before the archive exists
                assert stderr.count("\n") == 1 and stderr.startswith("geroconvert: error: "), stderr
                continue
            assert code == 0, stderr
            match = re.search(r"^runs \((\d+)\)$", stdout, re.MULTILINE)
            n = int(match.group(1))
            listed = re.findall(r"^  (g\d{3}_r\d{2})\s+(\S+)\s", stdout.split("summary (")[0], re.MULTILINE)
            assert len(listed) == n and {status for _, status in listed} <= {"complete"}, stdout
            assert f"summary ({n} complete run" in stdout
            seen.add(n)
            if reads % 25 == 0:  # now and then through the real command
                done = geroconvert("info", out)
                assert done.returncode in (0, 2) and "Traceback" not in done.stderr, done.stderr
    finally:
        if process.poll() is None:
            kill_group(process)
    assert process.returncode == 0, Path(f"{out}.log").read_text()
    assert any(0 < n < N_RUNS for n in seen), f"never read a half-done archive ({sorted(seen)} in {reads} reads)"
    assert_runs_equal(out, reference)


# ---------------------------------------------------------------------------------------
# a Dask worker lost mid-sweep


# the dask_cluster fixture (a real scheduler and two workers on loopback) is in conftest.py


def test_a_lost_dask_worker_loses_no_run(tmp_path, sweep_config, reference, dask_cluster):
    from dask.distributed import Client

    with Client(dask_cluster, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        out = tmp_path / "dask.h5"
        process = start_sweep(sweep_config, out, "--scheduler", dask_cluster)
        try:
            victim = None
            deadline = time.monotonic() + 300
            while victim is None:
                assert process.poll() is None, Path(f"{out}.log").read_text()
                assert time.monotonic() < deadline, "the sweep never started its runs"
                busy = [address for address, tasks in client.processing().items() if tasks]
                if busy:
                    victim = busy[0]
                else:
                    time.sleep(0.05)
            pids = client.run(os.getpid)
            os.kill(pids[victim], signal.SIGKILL)
            while victim in client.scheduler_info()["workers"]:  # the scheduler notices the loss
                assert time.monotonic() < deadline, f"worker {victim} still listed after SIGKILL"
                time.sleep(0.05)
            process.wait(timeout=600)
        finally:
            if process.poll() is None:
                kill_group(process)
    log = Path(f"{out}.log").read_text()
    assert process.returncode == 0, log
    with h5py.File(out, "r") as f:
        keys = list(f["runs"])
        assert len(keys) == len(set(keys)) == N_RUNS
        assert len(f["summary/run_key"]) == N_RUNS
    assert_runs_equal(out, reference)
