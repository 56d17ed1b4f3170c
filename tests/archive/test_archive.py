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
    with pytest.raises(ArchiveError, match="already exists"), atomic_output(target):
        pass
    with pytest.raises(RuntimeError), atomic_output(target, overwrite=True) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"precious"
    assert not (tmp_path / "out.h5.partial").exists()
    with atomic_output(target, overwrite=True) as partial:
        assert partial.name == "out.h5.partial" and partial.parent == target.parent
        partial.write_bytes(b"new")
    assert target.read_bytes() == b"new" and not partial.exists()


def test_a_leftover_partial_is_not_clobbered(tmp_path):
    target = tmp_path / "out.h5"
    (tmp_path / "out.h5.partial").write_bytes(b"completed runs of an interrupted sweep")
    with pytest.raises(ArchiveError, match="interrupted"), atomic_output(target):
        pass
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
