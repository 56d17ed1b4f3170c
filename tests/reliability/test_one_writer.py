"""One writer per archive: a second command aimed at an archive being written is refused.

Before the writer lock, two concurrent ``sweep --resume`` on one archive deleted each
other's ``OUT.h5.partial`` and could leave it corrupt, and two ``run --overwrite`` on one
``-o`` both failed.  Here the first writer is this test process holding the lock, so the
outcome does not depend on timing.  A writer's files are ``OUT.h5``, its scratch copy
``OUT.h5.partial`` and a sweep's parts (``OUT.h5.parts/``, with a part's scratch copy):
the refused command touches none of them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from geroconvert.archive.output import exclusive_writer, lock_path, partial_path
from geroconvert.archive.parts import parts_dir
from geroconvert.errors import ArchiveError
from tests.conftest import CONFIGS, run_geroconvert
from tests.helpers import TINY_RUN


def assert_busy(done):
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "another process is writing" in lines[0], done.stderr


def test_a_second_writer_in_any_process_is_refused_and_the_lock_goes_away(tmp_path):
    out = tmp_path / "out.h5"
    with exclusive_writer(out):
        assert lock_path(out).exists()
        with pytest.raises(ArchiveError, match="another process is writing"), exclusive_writer(out):
            pass
    assert not lock_path(out).exists()
    with exclusive_writer(out):  # free again
        pass


def writers_files(out) -> dict:
    """Every file of the archive's writer (OUT.h5, OUT.h5.partial, the parts folder) -> its bytes."""
    files = [path for path in (out, partial_path(out)) if path.exists()]
    if parts_dir(out).is_dir():
        files += sorted(parts_dir(out).iterdir())
    return {path: path.read_bytes() for path in files}


def test_run_over_an_archive_being_written_leaves_the_writers_files_alone(tmp_path):
    out = tmp_path / "out.h5"
    out.write_bytes(b"the first writer's finished archive")
    partial_path(out).write_bytes(b"the first writer's scratch copy")
    parts_dir(out).mkdir()
    (parts_dir(out) / "part-000001.h5").write_bytes(b"the first writer's committed part")
    (parts_dir(out) / "part-000002.h5.partial").write_bytes(b"the first writer's part being written")
    before = writers_files(out)
    with exclusive_writer(out):
        done = run_geroconvert("run", CONFIGS / "ht_p21.toml", "-o", out, "--overwrite", *TINY_RUN, timeout=120)
    assert_busy(done)
    assert writers_files(out) == before


def test_resume_of_a_sweep_being_written_is_refused(tmp_path):
    out = tmp_path / "sweep.h5"
    config = CONFIGS / "ht_p21_rapamycin.toml"
    first = run_geroconvert("sweep", config, "-o", out, *TINY_RUN, timeout=300)
    assert first.returncode == 0, first.stderr
    # the writer has committed a part (a copy of the archive: a valid part of its config) and
    # is writing the next: a resume would merge the one and remove the other
    parts_dir(out).mkdir()
    (parts_dir(out) / "part-000001.h5").write_bytes(out.read_bytes())
    (parts_dir(out) / "part-000002.h5.partial").write_bytes(b"the first writer's part being written")
    before = writers_files(out)
    with exclusive_writer(out):
        for extra in (["--resume"], ["--overwrite"]):
            done = run_geroconvert("sweep", config, "-o", out, *extra, *TINY_RUN, timeout=120)
            assert_busy(done)
            assert writers_files(out) == before, extra


def test_a_killed_writer_leaves_no_lock_that_blocks(tmp_path):
    out = tmp_path / "out.h5"
    code = (
        "import sys, time; from geroconvert.archive.output import exclusive_writer\n"
        f"with exclusive_writer({str(out)!r}):\n    print('locked', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ArchiveError), exclusive_writer(out):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        holder.kill()
    assert lock_path(out).exists()  # left by the killed process, but not held
    deadline = time.monotonic() + 5
    with exclusive_writer(out):
        assert time.monotonic() < deadline
