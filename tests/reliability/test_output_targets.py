"""Outputs that must never be written: special files, and the run's own inputs.

On the code before this test, ``run -o FIFO --overwrite`` replaced the FIFO with an archive
(as root, ``-o /dev/null`` replaced the device), and ``-o CONFIG --overwrite`` replaced the
config with its own archive.  A FIFO stands in for /dev/null here: replacing it harms
nothing if the guard ever breaks.
"""

from __future__ import annotations

import os
import stat

import pytest

from geroconvert.archive.output import check_not_an_input, check_output
from geroconvert.errors import ArchiveError
from tests.conftest import CONFIGS, run_geroconvert
from tests.helpers import TINY_RUN


def assert_refused(done, *words):
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_special_files_are_refused_whatever_overwrite_says(tmp_path):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    for overwrite in (False, True):
        with pytest.raises(ArchiveError, match="not a regular file"):
            check_output(fifo, overwrite=overwrite)
    with pytest.raises(ArchiveError, match="not a regular file"):
        check_output("/dev/null", overwrite=True)  # checked, never written


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_the_command_line_keeps_a_fifo_a_fifo(tmp_path, command):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    config = CONFIGS / ("ht_p21.toml" if command == "run" else "ht_p21_rapamycin.toml")
    done = run_geroconvert(command, config, "-o", fifo, "--overwrite", *TINY_RUN, timeout=120)
    assert_refused(done, "not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_fifo_where_a_sweep_keeps_its_parts_stays_a_fifo(tmp_path):
    """A sweep commits its runs into OUT.h5.parts/: a FIFO of that name is never replaced,
    removed or written, whatever --overwrite says, and the sweep ends in one line."""
    out = tmp_path / "sweep.h5"
    fifo = tmp_path / "sweep.h5.parts"
    os.mkfifo(fifo)
    for overwrite in ([], ["--overwrite"]):
        done = run_geroconvert(
            "sweep", CONFIGS / "ht_p21_rapamycin.toml", "-o", out, *overwrite, "--workers", "1", *TINY_RUN, timeout=300
        )
        assert_refused(done, str(fifo))
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        assert sorted(p.name for p in tmp_path.iterdir() if p.name not in ("sweep.h5", "sweep.h5.lock")) == [
            "sweep.h5.parts"
        ]


def test_an_output_that_is_the_config_or_its_parent_is_refused(tmp_path):
    parent = tmp_path / "parent.toml"
    parent.write_text((CONFIGS / "ht_p21.toml").read_text())
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent.toml"\n[simulation]\nhours = 2.0\n')
    before = {path: path.read_bytes() for path in (parent, child)}
    for target in (child, parent):
        done = run_geroconvert("run", child, "-o", target, "--overwrite", *TINY_RUN, timeout=120)
        assert_refused(done, "an input of this run")
    assert {path: path.read_bytes() for path in (parent, child)} == before
    with pytest.raises(ArchiveError, match="input"):
        check_not_an_input(tmp_path / "." / "child.toml", [child])
    check_not_an_input(tmp_path / "out.h5", [child, parent])  # anything else is fine
