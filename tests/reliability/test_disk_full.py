"""A full disk: one line, the scratch file removed, earlier archives intact.

On the code before this test, a 2 MB tmpfs made `sweep` segfault (exit 139) after 23 lines
of h5py tracebacks, leaving a 1.98 MB ``.partial`` that kept the disk full; a single
`run` segfaulted too.  HDF5 cannot take a failed write, so archives are now built in
memory and written with plain file I/O, whose errors become one line.

A full disk is simulated without root by a file-size limit (RLIMIT_FSIZE: writes past it
fail with EFBIG, as ENOSPC would); as root, a real 2 MB tmpfs is tried as well.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

import h5py
import pytest

from tests.conftest import CONFIGS, run_geroconvert
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


def test_a_sweep_that_fills_the_disk_keeps_its_committed_runs_and_says_resume(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(
        f'extends = "{(CONFIGS / "rapamycin_dose_sweep.toml").as_posix()}"\n'
        "[simulation]\nwidth = 8\nheight = 8\nhours = 4\n[assays]\nrpp_times_h = []\n"
    )
    out = tmp_path / "sweep.h5"
    # room for the empty archive (the config and provenance), not for its runs
    done = geroconvert("sweep", config, "-o", out, "--workers", "1", "--quiet", preexec=limited_to(60_000))
    assert_no_space(done, str(out), "--resume")
    assert not Path(f"{out}.partial").exists()
    with h5py.File(out, "r") as f:  # the last good commit, readable
        assert "runs" in f
    resumed = geroconvert("sweep", config, "-o", out, "--resume", "--workers", "1", "--quiet")
    assert resumed.returncode == 0, resumed.stderr


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a tmpfs needs root")
def test_a_real_full_tmpfs(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
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
    finally:
        subprocess.run(["umount", str(disk)], check=False)
