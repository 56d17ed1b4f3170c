"""The HDF5 run archive: layout (docs/design.md), round trips, appending, atomic writes."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest

from geroconvert.archive.hdf5 import (
    SCHEMA_VERSION,
    ArchiveError,
    ArchiveWriter,
    atomic_output,
    check_output,
    open_checked,
    read_archive,
    read_run,
)
from geroconvert.config import load_config
from geroconvert.core.recorder import Results

CONFIG_TEXT = "[simulation]\nwidth = 16\n"


def fake_results(scale: float = 1.0, n: int = 5, summary: dict | None = None, snapshots: bool = False) -> Results:
    time = np.arange(n, dtype=np.float64) * 2.0
    return Results(
        timeseries={
            "time_h": time,
            "n_cells": scale * np.arange(n, dtype=np.float64),
            "mean_mass": scale * np.linspace(1, 2, n),
        },
        units={"time_h": "h", "n_cells": "cells", "mean_mass": "newborn masses"},
        rpp={
            "time_h": np.array([0.0, 4.0]),
            "rpp": np.array([1.0, 0.25]),
            "n_replated": np.array([4, 4], np.int64),
            "n_colonies": np.array([4, 1], np.int64),
        },
        summary=summary if summary is not None else {"t50_h": 3.0 * scale, "rpp_final": 0.25, "wall_s": 0.1},
        events={"births": 7, "arrests": 2},
        snapshots={
            0.0: {"phase": np.ones((3, 4), np.uint8), "mass": np.full((3, 4), 1.5, np.float32)},
            24.0: {"phase": np.zeros((3, 4), np.uint8), "mass": np.ones((3, 4), np.float32)},
        }
        if snapshots
        else {},
    )


def test_layout_and_round_trip(tmp_path):
    path = tmp_path / "a.h5"
    results = fake_results(snapshots=True)
    with ArchiveWriter(path, CONFIG_TEXT, command="test") as archive:
        archive.add_run("run0", results, seed=7, overrides={"simulation.width": 16}, replicate=2, wall_s=1.5)
    with h5py.File(path, "r") as f:
        assert f.attrs["schema_version"] == SCHEMA_VERSION
        for name in (
            "package_version",
            "created_utc",
            "git_commit",
            "python_version",
            "numpy_version",
            "numba_version",
            "h5py_version",
            "host",
        ):
            assert name in f.attrs
        assert f.attrs["numpy_version"] == np.__version__ and f.attrs["h5py_version"] == h5py.__version__
        assert f["config/toml"].asstr()[()] == CONFIG_TEXT
        import hashlib

        assert f["config"].attrs["sha256"] == hashlib.sha256(CONFIG_TEXT.encode()).hexdigest()
        run = f["runs/run0"]
        assert run.attrs["status"] == "complete" and run.attrs["seed"] == 7 and run.attrs["wall_s"] == 1.5
        assert json.loads(run.attrs["overrides"]) == {"simulation.width": 16}
        series = run["timeseries"]
        assert list(series) == ["time_h", "n_cells", "mean_mass"]  # recorded order kept
        assert series["time_h"].is_scale
        for name in ("n_cells", "mean_mass"):
            assert series[name].dims[0][0] == series["time_h"]
            assert series[name].attrs["units"] == results.units[name]
        np.testing.assert_array_equal(run["assays/rpp/n_colonies"][()], [4, 1])
        snap = run["snapshots"]
        assert len(snap) == 2
        first = snap[sorted(snap)[0]]
        assert first.attrs["time_h"] == 0.0
        assert first["mass"].compression == "gzip" and first["mass"].chunks is not None
        summary = f["summary"]
        assert summary["run_key"].asstr()[()].tolist() == ["run0"]
        assert summary["replicate"][()].tolist() == [2] and summary["seed"][()].tolist() == [7]
        assert summary["t50_h"][()].tolist() == [3.0]
    back = read_run(path, "run0", snapshots=True)
    for name, values in results.timeseries.items():
        assert back["timeseries"][name].dtype == values.dtype
        np.testing.assert_array_equal(back["timeseries"][name], values)
    for name, values in results.rpp.items():
        np.testing.assert_array_equal(back["rpp"][name], values)
    assert back["summary"] == {**results.summary, "wall_s": 1.5}  # the writer's wall time wins
    assert back["events"] == results.events
    assert back["units"] == results.units
    np.testing.assert_array_equal(back["snapshots"][24.0]["mass"], results.snapshots[24.0]["mass"])
    assert back["attrs"]["overrides"] == {"simulation.width": 16}


def test_no_pickles_or_python_objects(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("r1", fake_results(snapshots=True), seed=1, swept={"environment.rapamycin_nM": 5.0})
    found = []

    def visit(name, obj):
        items = list(obj.attrs.items())
        if isinstance(obj, h5py.Dataset):
            items.append(("<data>", obj))
        for key, value in items:
            dtype = getattr(value, "dtype", None)
            if dtype is not None and dtype.kind == "O":
                vlen = h5py.check_vlen_dtype(dtype)
                allowed = (
                    h5py.check_string_dtype(dtype) is not None
                    or h5py.check_ref_dtype(dtype) is not None
                    or (vlen is not None and h5py.check_ref_dtype(vlen) is not None)
                )  # dimension scales
                assert allowed, (name, key)
            found.append((name, key))
            assert not (isinstance(value, bytes) and value.startswith(b"\x80")), (name, key)  # pickle header

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        string = f["summary/run_key"]
        assert h5py.check_string_dtype(string.dtype).encoding == "utf-8"
    assert found


def test_append_runs_one_at_a_time_keeps_summary_consistent(tmp_path):
    path = tmp_path / "sweep.h5"
    with ArchiveWriter(path, CONFIG_TEXT):
        pass
    assert read_archive(path)["summary"]["run_key"].tolist() == []
    doses = {"d10_r0": 10.0, "d2_r0": 2.0, "d2_r1": 2.0}
    for key, dose in doses.items():  # one process per run, as a resumed sweep would do
        with ArchiveWriter(path, CONFIG_TEXT, mode="a") as archive:
            archive.add_run(
                key,
                fake_results(scale=dose),
                seed=int(dose),
                replicate=int(key[-1]),
                swept={"environment.rapamycin_nM": dose, "cells.paramset": "ht_p21"},
            )
    archive = read_archive(path)
    summary = archive["summary"]
    assert summary["run_key"].tolist() == ["d2_r0", "d2_r1", "d10_r0"]  # natural key order
    assert summary["replicate"].tolist() == [0, 1, 0]
    assert summary["environment.rapamycin_nM"].tolist() == [2.0, 2.0, 10.0]
    assert summary["cells.paramset"].tolist() == ["ht_p21"] * 3
    assert summary["t50_h"].tolist() == [6.0, 6.0, 30.0]
    assert set(archive["runs"]) == set(doses)
    with h5py.File(path, "r") as f:
        assert json.loads(f["summary"].attrs["swept_columns"]) == ["cells.paramset", "environment.rapamycin_nM"]


def test_summary_fills_missing_values_with_nan(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(summary={"t50_h": 1.0}), seed=0)
        archive.add_run("b", fake_results(summary={"final_n_cells": 5.0}), seed=0)
    summary = read_archive(path)["summary"]
    assert summary["t50_h"][0] == 1.0 and math.isnan(summary["t50_h"][1])
    assert math.isnan(summary["final_n_cells"][0]) and summary["final_n_cells"][1] == 5.0


def test_half_written_runs_are_not_results_and_get_replaced(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0)
    with h5py.File(path, "a") as f:  # what a crash in the middle of writing run "b" leaves
        f["runs"].create_group("b").attrs["status"] = "writing"
    assert read_archive(path)["summary"]["run_key"].tolist() == ["a"]
    with ArchiveWriter(path, CONFIG_TEXT, mode="a") as archive:
        assert archive.run_keys() == ["a"] and archive.run_keys(status=None) == ["a", "b"]
        archive.add_run("b", fake_results(scale=2), seed=0)
        with pytest.raises(ArchiveError, match="already exists"):
            archive.add_run("b", fake_results(), seed=0)
        archive.add_run("b", fake_results(scale=3), seed=0, replace=True)
    assert read_archive(path)["summary"]["t50_h"].tolist() == [3.0, 9.0]


def test_append_refuses_a_different_config(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT):
        pass
    with pytest.raises(ArchiveError, match="differs"):
        ArchiveWriter(path, CONFIG_TEXT + "\n# changed\n", mode="a")


@pytest.mark.parametrize("key", ["", "a/b", ".", " x"])
def test_bad_run_keys(tmp_path, key):
    with ArchiveWriter(tmp_path / "a.h5", CONFIG_TEXT) as archive, pytest.raises(ArchiveError):
        archive.add_run(key, fake_results(), seed=0)


def test_atomic_output_never_loses_existing_files(tmp_path):
    target = tmp_path / "out.h5"
    target.write_bytes(b"precious")
    # without --overwrite an existing OUT.h5 (one that appeared during the run) is kept, and so is the result
    with pytest.raises(ArchiveError, match="appeared while running"), atomic_output(target) as buffer:
        buffer.write(b"result")
    assert target.read_bytes() == b"precious"
    (kept,) = [p for p in tmp_path.iterdir() if p != target]
    assert kept.read_bytes() == b"result"
    kept.unlink()
    with pytest.raises(RuntimeError), atomic_output(target, overwrite=True) as buffer:
        buffer.write(b"half")
        raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"precious"
    assert not (tmp_path / "out.h5.partial").exists()
    with atomic_output(target, overwrite=True) as buffer:
        assert not (tmp_path / "out.h5.partial").exists()  # built in memory: nothing on disk yet
        buffer.write(b"new")
    assert target.read_bytes() == b"new" and not (tmp_path / "out.h5.partial").exists()


def test_a_leftover_partial_is_not_clobbered(tmp_path):
    target = tmp_path / "out.h5"
    (tmp_path / "out.h5.partial").write_bytes(b"completed runs of an interrupted sweep")
    with pytest.raises(ArchiveError, match="interrupted"):
        check_output(target)  # the commands check this before any work
    target.write_bytes(b"appeared")
    with pytest.raises(ArchiveError, match="appeared"), atomic_output(target) as buffer:
        buffer.write(b"result")
    assert (tmp_path / "out.h5.partial").read_bytes() == b"completed runs of an interrupted sweep"


def test_open_checked_errors(tmp_path):
    with pytest.raises(ArchiveError, match="no such file"):
        open_checked(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ArchiveError, match="not an HDF5 file"):
        open_checked(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(ArchiveError, match="not a geroconvert archive"):
        open_checked(tmp_path / "other.h5")
    with ArchiveWriter(tmp_path / "future.h5", CONFIG_TEXT) as archive:
        archive.file.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ArchiveError, match="newer"):
        open_checked(tmp_path / "future.h5")
    with ArchiveWriter(tmp_path / "ok.h5", CONFIG_TEXT) as archive:
        archive.add_run("run0", fake_results(), seed=0)
    with pytest.raises(ArchiveError, match="no run 'nope'; runs: run0"):
        read_run(tmp_path / "ok.h5", "nope")


def test_real_run_round_trip_in_process(tmp_path):
    from geroconvert.core.engine import Simulation

    loaded = load_config(
        mapping={
            "simulation": {"width": 12, "height": 12, "hours": 24.0, "snapshot_every_h": 12.0},
            "environment": {"inducer": 1.0},
            "assays": {"rpp_times_h": [0, 24], "max_cells": 10},
        }
    )
    results = Simulation(loaded.params, seed=5).run()
    path = tmp_path / "real.h5"
    with ArchiveWriter(path, loaded.resolved_toml) as archive:
        archive.add_run("run0", results, seed=5)
    back = read_run(path, "run0", snapshots=True)
    assert list(back["timeseries"]) == list(results.timeseries)
    for name, values in results.timeseries.items():
        np.testing.assert_array_equal(back["timeseries"][name], values)
        assert back["units"][name] == results.units[name]
    for name, values in results.rpp.items():
        np.testing.assert_array_equal(back["rpp"][name], values)
    assert sorted(back["snapshots"]) == sorted(results.snapshots) == [0.0, 12.0, 24.0]
    for time_h, fields in results.snapshots.items():
        for name, values in fields.items():
            np.testing.assert_array_equal(back["snapshots"][time_h][name], values)
            assert back["snapshots"][time_h][name].dtype == values.dtype
    assert read_archive(path)["config_toml"] == loaded.resolved_toml


# ---------------------------------------------------------------------------------------
# provenance per run (issue 13, item 8) and the one schema check (item 10)

OLD = {
    "package_version": "0.0.9",
    "created_utc": "2020-01-01T00:00:00+00:00",
    "git_commit": "a" * 40,
    "git_dirty": False,
    "python_version": "3.10.0",
    "numpy_version": "1.26.0",
    "numba_version": "0.58.0",
    "h5py_version": "3.9.0",
    "host": "old-host",
    "platform": "Linux-old",
    "command": "geroconvert sweep",
}
NEW = {**OLD, "package_version": "0.2.0", "git_commit": "b" * 40, "git_dirty": True, "host": "new-host"}


def two_sessions(path):
    """An archive made by one version, with a run added later by another (a resumed sweep)."""
    with ArchiveWriter(path, CONFIG_TEXT, provenance=OLD) as archive:
        archive.add_run("r0", fake_results(), seed=0)
    with ArchiveWriter(path, CONFIG_TEXT, mode="a", provenance=NEW) as archive:
        archive.add_run("r1", fake_results(), seed=1)


def info_lines(path, capsys) -> list[str]:
    from geroconvert.interfaces.cli.main import main

    assert main(["info", str(path)]) == 0
    return capsys.readouterr().out.splitlines()


def test_each_run_records_the_software_that_wrote_it(tmp_path):
    from geroconvert.archive.provenance import RUN_FIELDS

    path = tmp_path / "a.h5"
    two_sessions(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["package_version"] == "0.0.9" and f.attrs["host"] == "old-host"  # the archive's creation
        for key, made in (("r0", OLD), ("r1", NEW)):
            attrs = f["runs"][key].attrs
            assert {name: attrs[name] for name in RUN_FIELDS} == {name: made[name] for name in RUN_FIELDS}
            assert attrs["created_utc"] != OLD["created_utc"]  # when the run was written
    runs = read_archive(path)["runs"]
    assert runs["r1"]["package_version"] == "0.2.0" and runs["r1"]["git_dirty"] is True
    assert read_run(path, "r0")["attrs"]["git_commit"] == "a" * 40


def test_a_run_records_what_is_running_by_default(tmp_path):
    from geroconvert import __version__

    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("r0", fake_results(), seed=0)
    with h5py.File(path, "r") as f:
        attrs = f["runs/r0"].attrs
        assert attrs["package_version"] == __version__ and attrs["numpy_version"] == np.__version__
        assert attrs["git_commit"] == f.attrs["git_commit"] and attrs["host"] == f.attrs["host"]


def test_info_shows_which_runs_came_from_which_software(tmp_path, capsys):
    path = tmp_path / "a.h5"
    two_sessions(path)
    lines = info_lines(path, capsys)
    header = next(line for line in lines if line.split()[:2] == ["key", "status"])
    assert "software" in header.split()
    runs = lines[lines.index(header) + 1 :][:2]  # the rows of the runs table
    rows = {line.split()[0]: line.split() for line in runs}
    column = header.split().index("software")
    assert rows["r0"][column] == "1" and rows["r1"][column] == "2"
    text = "\n".join(lines)
    assert "software 1: geroconvert 0.0.9, git aaaaaaaaaaaa, Python 3.10.0" in text
    assert "host old-host (made the archive)" in text
    assert "software 2: geroconvert 0.2.0, git bbbbbbbbbbbb (modified)" in text


def test_info_of_runs_of_one_software_has_no_software_column(tmp_path, capsys):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("r0", fake_results(), seed=0)
        archive.add_run("r1", fake_results(), seed=1)
    text = "\n".join(info_lines(path, capsys))
    assert "software " not in text.replace("software  Python", "") and "different software" not in text


def test_old_archives_without_provenance_per_run_still_read(tmp_path, capsys):
    """Runs written before runs recorded their provenance count as made by the archive's software."""
    from geroconvert.archive.provenance import RUN_FIELDS, of_run

    path = tmp_path / "old.h5"
    two_sessions(path)
    with h5py.File(path, "a") as f:
        for key in f["runs"]:
            for name in RUN_FIELDS:
                del f["runs"][key].attrs[name]
    archive = read_archive(path)
    assert of_run(archive["runs"]["r1"], archive["attrs"])["package_version"] == "0.0.9"
    assert read_run(path, "r1")["summary"]["t50_h"] == 3.0
    assert "different software" not in "\n".join(info_lines(path, capsys))


def test_software_change_says_when_a_resume_mixes_versions(tmp_path):
    from geroconvert.archive.hdf5 import software_change

    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT, provenance=OLD) as archive:
        archive.add_run("r0", fake_results(), seed=0)
    assert software_change(path, current=OLD) is None
    assert software_change(path, current={**OLD, "host": "elsewhere", "git_dirty": True}) is None
    note = software_change(path, current=NEW)
    assert note is not None and "\n" not in note
    assert "0.0.9 (git aaaaaaaaaaaa)" in note and "0.2.0 (git bbbbbbbbbbbb)" in note and "geroconvert info" in note
    assert software_change(path, current={**OLD, "git_commit": ""}) is None  # an unknown commit is no change


def test_git_dirty_sees_a_modified_source_tree(tmp_path, monkeypatch):
    import shutil
    import subprocess

    from geroconvert.archive import provenance

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    source = tmp_path / "src" / "pkg" / "archive"
    source.mkdir(parents=True)
    (source / "x.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    monkeypatch.setattr(provenance, "SOURCE_DIR", source)
    provenance.git_commit.cache_clear()  # asked once per process
    try:
        commit, dirty = provenance.git_commit()
        assert len(commit) == 40 and dirty is False
        (source / "x.py").write_text("x = 2\n")
        assert provenance.git_commit() == (commit, False)  # what this process loaded
        provenance.git_commit.cache_clear()
        assert provenance.git_commit() == (commit, True)
    finally:
        provenance.git_commit.cache_clear()


def test_every_reader_and_the_appending_writer_refuse_what_info_refuses(tmp_path):
    from geroconvert.archive.hdf5 import complete_run_keys, read_complete_runs
    from geroconvert.archive.sweepdata import load_sweep

    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("r0", fake_results(), seed=0)
    with h5py.File(path, "a") as f:
        f["runs/r0"].attrs["wall_s"] = "fast"
    before = path.read_bytes()
    expected = "/runs/r0 attribute wall_s is a string, expected a number"
    for read in (
        read_archive,
        lambda p: read_run(p, "r0"),
        read_complete_runs,
        load_sweep,
        lambda p: complete_run_keys(p, CONFIG_TEXT),
        open_checked,
        lambda p: ArchiveWriter(p, CONFIG_TEXT, mode="a"),
    ):
        with pytest.raises(ArchiveError, match=expected):
            read(path)
    assert path.read_bytes() == before


def test_read_run_of_a_half_written_run_says_it_holds_no_result(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0)
    with h5py.File(path, "a") as f:
        f["runs"].create_group("b").attrs["status"] = "writing"
    with pytest.raises(ArchiveError, match="'b' is 'writing', not complete"):
        read_run(path, "b")


def test_snapshots_are_checked_when_read(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(snapshots=True), seed=0)
    with h5py.File(path, "a") as f:
        snap = f["runs/a/snapshots"]
        first = snap[sorted(snap)[0]]
        del first["mass"]
        first["mass"] = np.ones(5, np.float32)  # 1-D, beside a 2-D phase
    assert read_run(path, "a")["summary"]["t50_h"] == 3.0  # not read, not in the way
    with pytest.raises(ArchiveError, match="snapshots/.* holds fields of shapes"):
        read_run(path, "a", snapshots=True)


def test_a_stale_summary_is_read_and_noted_by_info(tmp_path, capsys):
    """/summary is derived from the runs: a stale one is no reason to refuse, but info says so."""
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("r0", fake_results(), seed=0)
        archive.add_run("r1", fake_results(), seed=1)
    with h5py.File(path, "a") as f:  # a run deleted by hand, /summary left as it was
        del f["runs/r1"]
    assert read_archive(path)["summary"]["run_key"].tolist() == ["r0", "r1"]
    note = [line for line in info_lines(path, capsys) if "note:" in line]
    assert note == [
        "  note: out of date: the complete runs are 1 (r0); the next write (e.g. `sweep --resume`) rebuilds this table"
    ]
    with ArchiveWriter(path, CONFIG_TEXT, mode="a") as archive:
        archive.add_run("r2", fake_results(), seed=2)
    assert read_archive(path)["summary"]["run_key"].tolist() == ["r0", "r2"]
    assert not [line for line in info_lines(path, capsys) if "note:" in line]


def test_units_are_checked_where_they_are_read(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0)
    with h5py.File(path, "a") as f:
        f["runs/a/timeseries/n_cells"].attrs["units"] = np.int64(5)
    assert read_archive(path)["runs"]["a"]["status"] == "complete"  # info and report do not read units
    with pytest.raises(ArchiveError, match="n_cells attribute units is 5, expected text"):
        read_run(path, "a")
