"""Killed sweeps, lost Dask workers and readers during writes: nothing lost, nothing corrupt.

A small rapamycin dose sweep (7 doses x 3 replicates = 21 runs on a 48 x 48 dish, a few
seconds with two local workers) commits each batch of runs as a part of its archive
(``OUT.h5.parts/part-NNNNNN.h5``, written to a scratch file and moved into place) and
at its end merges the parts into ``OUT.h5`` (written to ``OUT.h5.partial`` and moved
onto it), then removes the parts (:mod:`geroconvert.archive.parts`).  It is

* SIGKILLed, with its worker processes (the whole process group), at seven moments of
  its life: before its archive exists, when the archive holds no run yet, after the
  first commit of runs, while a part is being written, after more than half of the
  runs, while the final merge writes ``OUT.h5.partial``, and after the merge replaced
  ``OUT.h5`` but before it removed the parts.  After each kill the archive (when there
  is one) opens with plain h5py and with ``geroconvert info``, holds each committed run
  once, equal to the uninterrupted sweep's, and ``--resume`` (with leftover scratch
  files in the way) completes it into one file without parts; the finished archive
  equals an uninterrupted sweep dataset by dataset, bit for bit (timings, creation
  times and the writing session's provenance aside);
* SIGKILLed between commits, then read by the real ``geroconvert info`` and ``report``
  (OUT.h5 and its parts as one archive), then resumed;
* run on a real Dask scheduler with two workers, one of which is SIGKILLed while it
  holds runs: the sweep still finishes with every run exactly once, equal to the local
  sweep;
* read by ``geroconvert info`` again and again while it is being written: every read
  shows the runs committed so far (never fewer than an earlier read) or a one-line
  message, never a crash.

Moments are defined by what is on disk, not by the clock, so they hold on a slow machine.
Two stand-ins keep them on a fast one (``launcher``, which runs the same ``geroconvert``
with one thing changed): a sweep that must be caught between commits commits every
0.25 s instead of every 2 s (its 21 runs may take less than 2 s: one commit would hold
them all), and a part or the merged file, written in milliseconds, is caught inside its
write with the file I/O slowed down (a pause before each fsync and after each
os.replace).  A run's result depends only on its config and seed, so neither changes a
single bit of the archive, which the comparisons with the reference check.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
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

from geroconvert.archive.hdf5 import part_files, parts_dir, read_archive, read_complete_runs
from geroconvert.archive.reader import read_file
from geroconvert.core.readouts import TIMING_KEYS
from geroconvert.interfaces.cli import main
from tests.conftest import ROOT, committed_runs, scratch_files

N_RUNS = 21
SWEEP_TEXT = f"""# the rapamycin dose sweep, small: 21 runs of a fraction of a second
extends = "{(ROOT / "configs" / "rapamycin_dose_sweep.toml").as_posix()}"
[simulation]
width = 48
height = 48
"""
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
ENV.pop("PYTHONWARNINGS", None)
SLOW_IO_S = 0.5  # the pause before each fsync and after each os.replace with slow_io
COMMIT_EVERY_S = 0.25  # the commit interval with frequent_commits (geroconvert's: 2 s)


def launcher(slow_io: bool = False, frequent_commits: bool = False) -> list[str]:
    """The command that runs `geroconvert`, with its file I/O slowed down (each fsync delayed:
    the scratch file is written, not yet synced and moved into place; a pause after each
    os.replace: the file is in place, what follows has not run) or its commits more frequent."""
    if not (slow_io or frequent_commits):
        return [sys.executable, "-m", "geroconvert"]
    code = ["import os, sys, time"]
    if slow_io:
        code += [
            "_fsync, _replace = os.fsync, os.replace",
            "def fsync(fd):",
            f"    time.sleep({SLOW_IO_S})",
            "    _fsync(fd)",
            "def replace(src, dst, **kw):",
            "    _replace(src, dst, **kw)",
            f"    time.sleep({SLOW_IO_S})",
            "os.fsync, os.replace = fsync, replace",
        ]
    if frequent_commits:
        code += ["import geroconvert.studies.sweep as sweep", f"sweep.COMMIT_EVERY_S = {COMMIT_EVERY_S}"]
    code += ["from geroconvert.interfaces.cli import main", "sys.exit(main(sys.argv[1:]))"]
    return [sys.executable, "-c", "\n".join(code)]


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


def start_sweep(
    config: Path, out: Path, *extra, slow_io: bool = False, frequent_commits: bool = False
) -> subprocess.Popen:
    """`geroconvert sweep` in its own process group (so killpg reaches its worker processes too)."""
    command = launcher(slow_io, frequent_commits)
    with open(f"{out}.log", "a") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [*command, "sweep", str(config), "-o", str(out), "--quiet", *map(str, extra)],
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


def _canonical(value):
    """A value as comparable bits: arrays as (dtype, shape, bytes), floats by their bit pattern."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("text", value.shape, repr(value.tolist()))
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, float):
        return ("float", value.hex() if math.isfinite(value) else repr(value))
    return value


RUN_ATTRS = ("seed", "replicate", "overrides", "swept", "status")


def run_values(path: Path) -> dict:
    """Everything of each run (OUT.h5 and its parts, as the reader joins them) that must not
    depend on how the sweep ran: its attributes, series, RPP, summary and events."""
    _, runs = read_complete_runs(path)
    return {
        key: _canonical(
            {
                "attrs": {name: run["attrs"][name] for name in RUN_ATTRS},
                "timeseries": run["timeseries"],
                "rpp": run["rpp"],
                "summary": {k: v for k, v in run["summary"].items() if k not in TIMING_KEYS},
                "events": run["events"],
                "snapshots": run["snapshots"],
            }
        )
        for key, run in runs.items()
    }


# datasets that say when, how long and by which software: they differ between two equal sweeps
NOT_RESULTS = {"/runs/wall_s", "/runs/created_utc", "/runs/session", *(f"/summary/{k}" for k in TIMING_KEYS)}
NOT_ATTRS = {"DIMENSION_LIST", "REFERENCE_LIST"}  # object references: addresses inside the file


def file_bits(path: Path) -> dict:
    """Every dataset of one archive file (and its attributes) as bits, except NOT_RESULTS and
    /sessions; the root's provenance attributes aside."""
    out: dict = {}
    with h5py.File(path, "r") as f:

        def visit(name, obj):
            where = f"/{name}"
            if where in NOT_RESULTS or where.startswith("/sessions"):
                return
            attrs = {k: _canonical(np.asarray(obj.attrs[k])) for k in obj.attrs if k not in NOT_ATTRS}
            if isinstance(obj, h5py.Dataset):
                value = obj.asstr()[()] if h5py.check_string_dtype(obj.dtype) is not None else obj[()]
                out[where] = (_canonical(np.asarray(value, dtype=object if isinstance(value, str) else None)), attrs)
            else:
                out[where] = ("group", attrs)

        f.visititems(visit)
        out["/@schema_version"] = int(f.attrs["schema_version"])
    return out


def assert_runs_equal(path: Path, reference: dict, keys=None) -> None:
    """The runs of ``path`` (all, or ``keys``) equal the reference's, bit for bit; all of them:
    the archive is one file, equal to the reference dataset by dataset."""
    got = run_values(path)
    if keys is None:
        assert sorted(got) == sorted(reference["runs"]), "different runs"
        assert not parts_dir(path).exists() and not scratch_files(path), "not merged into one file"
        bits = file_bits(path)
        assert sorted(bits) == sorted(reference["bits"]), "different datasets"
        for name, value in bits.items():
            assert value == reference["bits"][name], f"{name} differs"
        keys = list(got)
    for key in keys:
        assert got[key] == reference["runs"][key], f"run {key} differs"


def archive_state(out: Path) -> tuple[list[str], list[str] | None, list[Path]]:
    """(keys of OUT.h5 and its parts, keys of OUT.h5 alone, its parts), checking each file:
    OUT.h5 and every part open with plain h5py and pass the reader's schema check."""
    runs = committed_runs(out)
    assert runs is not None
    assert len(runs) == len(set(runs)), runs
    for path in (out, *part_files(out)):
        with h5py.File(path, "r") as f:
            assert int(f.attrs["schema_version"]) == 2
        read_file(path)
    return runs, read_file(out).rows.keys, part_files(out)


def info(path: Path, *options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["info", *options, str(path)])
    return code, out.getvalue(), err.getvalue()


def leftovers(folder: Path, out: Path) -> list[str]:
    """Files and folders beside the archive other than it and the sweep's log."""
    return sorted(p.name for p in folder.iterdir() if p.name not in (out.name, f"{out.name}.log"))


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
    assert len(committed_runs(out)) == N_RUNS
    assert not parts_dir(out).exists() and not scratch_files(out)
    return {"runs": run_values(out), "bits": file_bits(out)}


# ---------------------------------------------------------------------------------------
# SIGKILL at seven moments


def _main_keys(out: Path) -> list[str] | None:
    with contextlib.suppress(OSError, KeyError), h5py.File(out, "r") as f:
        return list(f["runs/run"].asstr()[()])
    return None


def _moment(name: str, out: Path, started: float) -> bool:
    if name == "at-start":
        return time.monotonic() - started > 0.05
    if name == "part-write":  # a part's scratch copy is written, not yet moved into place
        return any(child.parent == parts_dir(out) for child in scratch_files(out))
    if name == "merge":  # the end: OUT.h5.partial, every run in the parts
        return Path(f"{out}.partial").exists() and bool(part_files(out))
    if name == "merged":  # OUT.h5 replaced by the merge (it holds runs), its parts not yet removed
        return bool(part_files(out)) and bool(_main_keys(out))
    runs = committed_runs(out)
    if name == "empty-archive":
        return runs is not None
    if name == "first-runs":
        return runs is not None and 0 < len(runs) < N_RUNS
    if name == "most-runs":
        return runs is not None and N_RUNS // 2 < len(runs) < N_RUNS
    raise ValueError(name)


MOMENTS = ["at-start", "empty-archive", "first-runs", "part-write", "most-runs", "merge", "merged"]
SLOW_MOMENTS = {"part-write", "merge", "merged"}  # inside a write: slow_io
BETWEEN_COMMITS = {"first-runs", "most-runs"}  # some runs committed, not all: frequent_commits


@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_at_any_moment_loses_nothing_and_resume_completes(tmp_path, sweep_config, reference, moment):
    out = tmp_path / "sweep.h5"
    partial = Path(f"{out}.partial")
    for _attempt in range(3):  # a moment is missed only if the whole sweep ends between two looks
        for leftover in (out, partial):
            leftover.unlink(missing_ok=True)
        if parts_dir(out).exists():
            for child in parts_dir(out).iterdir():
                child.unlink()
            parts_dir(out).rmdir()
        process = start_sweep(
            sweep_config,
            out,
            "--workers",
            "2",
            slow_io=moment in SLOW_MOMENTS,
            frequent_commits=moment in BETWEEN_COMMITS,
        )
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

    # what the kill left: a readable archive (OUT.h5 and its parts), each run once and
    # equal to the reference's
    if out.exists():
        runs, in_main, parts = archive_state(out)
        if moment == "part-write":
            assert any(p.parent == parts_dir(out) for p in scratch_files(out))  # the killed part's copy
        if moment == "merge":
            assert partial.exists() and not in_main and parts  # the merged copy was not yet in place
        if moment == "merged":  # the merge's runs and the parts' runs count once
            assert sorted(in_main) == sorted(runs) and len(runs) == N_RUNS and parts
        assert_runs_equal(out, reference, keys=runs)
        assert read_archive(out)["summary"]["run"].tolist() == runs  # /summary of OUT.h5 and its parts
        code, stdout, stderr = info(out)
        assert code == 0, stderr
        assert f"runs ({len(runs)})" in stdout and f"summary ({len(runs)} run" in stdout and "writing" not in stdout
        assert ("\nparts     " in stdout) == bool(parts), stdout
        # leftover scratch copies of a killed merge and of a killed part write must not stop --resume
        if not partial.exists():
            partial.write_bytes(b"garbage left by an earlier crash")
        parts_dir(out).mkdir(exist_ok=True)
        (parts_dir(out) / "part-999999.h5.partial").write_bytes(b"half a part left by an earlier crash")
        done = geroconvert("sweep", sweep_config, "-o", out, "--resume", "--workers", "2")
        assert done.returncode == 0, done.stderr
        assert f"{N_RUNS - len(runs)} run(s) completed, {len(runs)} already there, 0 failed" in done.stdout
    else:
        # nothing to resume: one line saying so, then a fresh start works
        assert not parts_dir(out).exists()
        done = geroconvert("sweep", sweep_config, "-o", out, "--resume", "--workers", "2")
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "nothing to resume" in done.stderr
        fresh = ["--overwrite"] if partial.exists() else []  # a killed first commit leaves only the copy
        done = geroconvert("sweep", sweep_config, "-o", out, "--workers", "2", *fresh)
        assert done.returncode == 0, done.stderr
    assert leftovers(tmp_path, out) == []  # one file: no OUT.h5.partial, no parts, no lock
    assert len(committed_runs(out)) == N_RUNS
    assert_runs_equal(out, reference)


def test_a_killed_sweep_is_read_by_info_and_report_and_resume_merges_it(tmp_path, sweep_config, reference):
    """Killed between commits: `info` and `report` read OUT.h5 and its parts as one archive
    (and change nothing); `--resume` runs the rest and merges everything into one file."""
    out = tmp_path / "sweep.h5"
    for _attempt in range(3):  # missed only if the sweep's first commit holds every run
        process = start_sweep(
            sweep_config, out, "--workers", "2", *(["--overwrite"] if _attempt else []), frequent_commits=True
        )
        while process.poll() is None:
            if part_files(out):  # a commit of runs
                break
            time.sleep(0.003)
        kill_group(process)
        runs, in_main, parts = archive_state(out)
        if parts and len(runs) < N_RUNS:
            break
    else:
        pytest.fail("the sweep always committed every run at once, before it could be killed")
    assert parts and in_main == [] and 0 < len(runs) < N_RUNS, (parts, in_main, runs)
    before = {path: path.read_bytes() for path in (out, *parts)}

    done = geroconvert("info", out)
    assert done.returncode == 0, done.stderr
    assert f"runs ({len(runs)})" in done.stdout and f"parts     {len(parts)} in {parts_dir(out)}" in done.stdout
    listed = re.findall(r"^  (g\d{3}_r\d{2})\s+\d+\s", done.stdout.split("summary (")[0], re.MULTILINE)
    assert listed == runs[:20], done.stdout  # the first 20 (a larger archive says `--all`)
    done = geroconvert("info", "--all", out)
    assert done.returncode == 0, done.stderr
    assert re.findall(r"^  (g\d{3}_r\d{2})\s+\d+\s", done.stdout.split("summary (")[0], re.MULTILINE) == runs

    report = tmp_path / "report"
    done = geroconvert("report", out, "-o", report)
    assert done.returncode == 0, done.stderr
    with open(report / "runs.csv", newline="") as handle:
        assert [row["run"] for row in csv.DictReader(handle)] == runs
    assert f"runs: {len(runs)} " in (report / "summary.txt").read_text()
    assert {path: path.read_bytes() for path in before} == before and part_files(out) == parts  # read-only

    done = geroconvert("sweep", sweep_config, "-o", out, "--resume", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert f"{N_RUNS - len(runs)} run(s) completed, {len(runs)} already there, 0 failed" in done.stdout
    assert leftovers(tmp_path, out) == ["report"]  # OUT.h5 alone: its parts merged and removed
    assert committed_runs(out) == sorted(reference["runs"])
    assert_runs_equal(out, reference)


def test_a_killed_resume_resumes_too(tmp_path, sweep_config, reference):
    """Kill the sweep, then kill its --resume mid-way, then resume again."""
    out = tmp_path / "sweep.h5"
    for extra in ([], ["--resume"]):
        process = start_sweep(sweep_config, out, "--workers", "2", *extra, frequent_commits=True)
        before = len(committed_runs(out) or [])
        while process.poll() is None:
            runs = committed_runs(out)
            if runs is not None and len(runs) > before:
                break
            time.sleep(0.005)
        kill_group(process)
    runs, _, _ = archive_state(out)
    assert_runs_equal(out, reference, keys=runs)
    done = geroconvert("sweep", sweep_config, "-o", out, "--resume", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert f"{N_RUNS - len(runs)} run(s) completed, {len(runs)} already there, 0 failed" in done.stdout
    assert leftovers(tmp_path, out) == []
    assert_runs_equal(out, reference)


# ---------------------------------------------------------------------------------------
# readers during writes


def test_info_while_the_sweep_writes(tmp_path, sweep_config, reference):
    out = tmp_path / "sweep.h5"
    process = start_sweep(sweep_config, out, "--workers", "2", frequent_commits=True)
    seen: list[int] = []
    reads = 0
    try:
        while process.poll() is None:
            code, stdout, stderr = info(out, "--all")
            reads += 1
            assert "Traceback" not in stderr
            if code == 2:  # before the archive exists
                assert not seen, f"the archive was readable, then not: {stderr}"
                assert stderr.count("\n") == 1 and stderr.startswith("geroconvert: error: "), stderr
                continue
            assert code == 0, stderr
            match = re.search(r"^runs \((\d+)\)$", stdout, re.MULTILINE)
            n = int(match.group(1))
            listed = re.findall(r"^  (g\d{3}_r\d{2})\s+\d+\s", stdout.split("summary (")[0], re.MULTILINE)
            assert len(listed) == len(set(listed)) == n, stdout
            assert f"summary ({n} run" in stdout
            assert not seen or n >= seen[-1], f"a read showed {n} runs after one showed {seen[-1]}"
            seen.append(n)
            if reads % 25 == 0:  # now and then through the real command
                done = geroconvert("info", out)
                assert done.returncode in (0, 2) and "Traceback" not in done.stderr, done.stderr
    finally:
        if process.poll() is None:
            kill_group(process)
    assert process.returncode == 0, Path(f"{out}.log").read_text()
    assert any(0 < n < N_RUNS for n in seen), f"never read a half-done archive ({sorted(set(seen))} in {reads} reads)"
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
        keys = list(f["runs/run"].asstr()[()])
        assert len(keys) == len(set(keys)) == N_RUNS
        assert list(f["summary/run"].asstr()[()]) == keys
    assert_runs_equal(out, reference)
