"""A stopped sweep (OUT.h5 plus OUT.h5.parts/) against commands that must refuse early.

Found in review: `sweep --overwrite` removed the parts before its own early refusals (a
bad scheduler address, a stop before the first write), so a refused command lost
committed runs; `--resume` with a regular file named OUT.h5.parts ran every run before
failing to commit; `upgrade` of a file whose schema_version is text ended in a traceback.
"""

from __future__ import annotations

import h5py

from geroconvert.archive.hdf5 import read_rows, write_archive, write_part
from geroconvert.archive.output import parts_dir
from tests.conftest import CONFIGS, ROOT, run_geroconvert
from tests.helpers import TINY_RUN

SWEEP = CONFIGS / "ht_p21_rapamycin.toml"  # 2 doses x 4 replicates


def stopped_sweep(tmp_path):
    """OUT.h5 with 3 of a real sweep's runs and one part holding 3 more."""
    full = tmp_path / "full.h5"
    done = run_geroconvert("sweep", SWEEP, "-o", full, "--workers", "1", *TINY_RUN)
    assert done.returncode == 0, done.stderr
    checked = read_rows(full)
    out = tmp_path / "out.h5"
    write_archive(out, checked.config_toml, checked.attrs, checked.rows.take([0, 1, 2]))
    write_part(out, checked.config_toml, checked.attrs, checked.rows.take([3, 4, 5]), "then retry")
    assert read_rows(out).rows.n_runs == 6
    return out


def test_a_refused_overwrite_keeps_the_runs_of_a_stopped_sweep(tmp_path):
    out = stopped_sweep(tmp_path)
    before = {p.name: p.read_bytes() for p in parts_dir(out).iterdir()}
    done = run_geroconvert(
        "sweep", SWEEP, "-o", out, "--overwrite", "--scheduler", "tcp://127.0.0.1:1", *TINY_RUN, timeout=120
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert {p.name: p.read_bytes() for p in parts_dir(out).iterdir()} == before
    assert read_rows(out).rows.n_runs == 6


def test_resume_refuses_a_file_in_the_place_of_the_parts_before_running(tmp_path):
    out = stopped_sweep(tmp_path)
    for part in parts_dir(out).iterdir():
        part.unlink()
    parts_dir(out).rmdir()
    parts_dir(out).write_text("not a folder")
    done = run_geroconvert("sweep", SWEEP, "-o", out, "--resume", *TINY_RUN)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "is not a folder" in done.stderr and "Traceback" not in done.stderr
    assert parts_dir(out).read_text() == "not a folder"


def test_upgrade_of_a_text_schema_version_is_one_line(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes((ROOT / "tests" / "data" / "schema1_sweep.h5").read_bytes())
    with h5py.File(bad, "a") as f:
        f.attrs["schema_version"] = "abc"
    done = run_geroconvert("upgrade", bad, tmp_path / "new.h5")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "schema_version" in done.stderr and not (tmp_path / "new.h5").exists()
