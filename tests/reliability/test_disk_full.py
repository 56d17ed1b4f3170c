"""A full disk: one line, the scratch file removed, earlier archives and committed runs intact.

On the code before this test, a 2 MB tmpfs made `sweep` segfault (exit 139) after 23 lines
of h5py tracebacks, leaving a 1.98 MB ``.partial`` that kept the disk full; a single
`run` segfaulted too.  HDF5 cannot take a failed write, so archives are now built in
memory and written with plain file I/O, whose errors become one line.

A sweep writes each commit as a part (``OUT.h5.parts/``) and merges the parts into
``OUT.h5`` at its end: a full disk can stop either write, and both must keep every run
committed so far, readable, for ``--resume`` to finish (and merge) once there is room.

A full disk is simulated without root by a file-size limit (RLIMIT_FSIZE: writes past it
fail with EFBIG, as ENOSPC would); as root, a real 2 MB tmpfs is tried as well.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from geroconvert.archive.reader import read_file
from tests.conftest import CONFIGS, committed_runs, run_geroconvert, scratch_files
from tests.helpers import TINY_RUN


def limited_to(n_bytes: int):
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG) instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))

    return limit


def geroconvert(*args, preexec=None) -> subprocess.CompletedProcess:
    return run_geroconvert(*args, preexec_fn=preexec)


def assert_no_space(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "no space left" in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module", autouse=True)
def compiled_kernels(tmp_path_factory):
    """Compile (and cache) the kernels first: a limited process must not have to write numba's cache."""
    warm = geroconvert("run", CONFIGS / "ht_p21.toml", "-o", tmp_path_factory.mktemp("warm") / "w.h5", *TINY_RUN)
    assert warm.returncode == 0, warm.stderr


def test_a_run_that_does_not_fit_says_so_in_one_line_and_keeps_the_old_archive(tmp_path):
    out = tmp_path / "run.h5"
    first = geroconvert("run", CONFIGS / "ht_p21.toml", "-o", out, *TINY_RUN)
    assert first.returncode == 0, first.stderr
    before = out.read_bytes()
    done = geroconvert(
        "run", CONFIGS / "ht_p21.toml", "-o", out, "--overwrite", "--set", "simulation.hours=200",
        *TINY_RUN, preexec=limited_to(8_000),
    )  # fmt: skip
    assert_no_space(done, str(out), "run again")
    assert out.read_bytes() == before
    assert not Path(f"{out}.partial").exists()


def sweep_config(folder: Path, size: int, hours: float | None = None, replicates: int = 3) -> tuple[Path, int]:
    """The rapamycin dose sweep (7 doses) on a small dish: (its config, its number of runs)."""
    config = folder / "sweep.toml"
    config.write_text(
        f'extends = "{(CONFIGS / "rapamycin_dose_sweep.toml").as_posix()}"\n'
        f"[simulation]\nwidth = {size}\nheight = {size}\n"
        + (f"hours = {hours}\n[assays]\nrpp_times_h = []\n" if hours is not None else "")
        + f"[sweep]\nreplicates = {replicates}\n"
    )
    return config, 7 * replicates


def assert_resumed(config: Path, out: Path, kept: int, n_runs: int) -> None:
    """--resume (with room again) runs what is missing and merges everything into OUT.h5 alone."""
    resumed = geroconvert("sweep", config, "-o", out, "--resume", "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{n_runs - kept} run(s) completed, {kept} already there, 0 failed" in resumed.stdout
    assert len(committed_runs(out)) == n_runs
    assert not Path(f"{out}.parts").exists() and not scratch_files(out)


def test_a_sweep_that_fills_the_disk_keeps_its_committed_runs_and_says_resume(tmp_path):
    config, n_runs = sweep_config(tmp_path, 8, hours=4)
    out = tmp_path / "sweep.h5"
    # room for the empty archive (the config and provenance), not for a part with runs
    done = geroconvert("sweep", config, "-o", out, "--workers", "1", "--quiet", preexec=limited_to(60_000))
    assert_no_space(done, str(out), "--resume")
    assert not scratch_files(out)  # neither OUT.h5.partial nor the part's scratch copy
    kept = committed_runs(out)  # the last good commit, readable
    assert kept is not None and len(kept) < n_runs
    assert_resumed(config, out, len(kept), n_runs)


def test_a_sweep_whose_merge_does_not_fit_keeps_every_run_in_its_parts(tmp_path):
    """Each part fits, the merged archive does not: the sweep ends in one line, OUT.h5 is as
    it was and its parts hold every run; --resume only merges.

    140 runs of about 0.1 s, one worker: a commit (every 2 s) holds a few dozen runs, a part
    of them about 0.3 MB, the merged archive about 1.2 MB."""
    config, n_runs = sweep_config(tmp_path, 48, replicates=20)
    out = tmp_path / "sweep.h5"
    done = geroconvert("sweep", config, "-o", out, "--workers", "1", "--quiet", preexec=limited_to(600_000))
    assert_no_space(done, str(out), "--resume")
    assert f"{out}:" in done.stderr and "merge" in done.stderr  # the merged OUT.h5 did not fit
    assert not scratch_files(out)
    assert read_file(out).rows.keys == []  # OUT.h5 as it was: the empty archive of the sweep's start
    assert len(list(Path(f"{out}.parts").iterdir())) >= 2
    assert len(committed_runs(out)) == n_runs
    assert_resumed(config, out, n_runs, n_runs)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    """A real tmpfs of ``size`` mounted on ``folder`` (root only; skipped where it cannot be)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_real_full_tmpfs(tmp_path):
    with tmpfs(tmp_path / "disk", "2m") as disk:
        first = geroconvert("run", CONFIGS / "ht_p21.toml", "-o", disk / "a.h5", *TINY_RUN)
        assert first.returncode == 0, first.stderr
        before = (disk / "a.h5").read_bytes()
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * max(0, free - 4096))
        done = geroconvert(
            "run", CONFIGS / "ht_p21.toml", "-o", disk / "b.h5", "--set", "simulation.hours=200", *TINY_RUN
        )
        assert_no_space(done, "b.h5")
        assert sorted(p.name for p in disk.iterdir()) == ["a.h5", "filler"]  # no scratch file left
        assert (disk / "a.h5").read_bytes() == before


def test_a_real_full_tmpfs_during_a_sweep(tmp_path):
    """A sweep fills a real disk mid-way (ENOSPC in a part's write, or in the merge): one
    line, its committed runs readable, and --resume finishes once there is room again."""
    config, n_runs = sweep_config(tmp_path, 48, replicates=20)  # about 1.2 MB merged
    with tmpfs(tmp_path / "disk", "8m") as disk:
        out = disk / "sweep.h5"
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * max(0, free - 600_000))  # room for the empty archive, some parts
        done = geroconvert("sweep", config, "-o", out, "--workers", "1", "--quiet")
        assert_no_space(done, str(out), "--resume")
        assert not scratch_files(out)
        kept = committed_runs(out)
        assert kept is not None and len(kept) == len(set(kept)) < n_runs
        (disk / "filler").unlink()  # room again
        assert_resumed(config, out, len(kept), n_runs)
