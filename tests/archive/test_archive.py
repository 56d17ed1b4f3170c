"""The HDF5 run archive (schema 2): columnar layout, round trips, appending, parts, atomic writes."""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from geroconvert.archive.hdf5 import (
    SCHEMA_VERSION,
    ArchiveError,
    ArchiveWriter,
    atomic_output,
    check_output,
    merge_parts,
    part_files,
    parts_dir,
    read_archive,
    read_rows,
    read_run,
    write_part,
)
from geroconvert.archive.schema import GROUPS
from geroconvert.config import load_config
from geroconvert.core.recorder import DISH_ONLY, EPIDERMIS_ONLY, Results

CONFIG_TEXT = "[simulation]\nwidth = 16\n"
DATA = Path(__file__).resolve().parents[1] / "data"
SCHEMA1_SWEEP = DATA / "schema1_sweep.h5"


def fake_results(
    scale: float = 1.0,
    n: int = 5,
    summary: dict | None = None,
    snapshots: bool = False,
    step_h: float = 2.0,
    rpp_times: tuple = (0.0, 4.0),
) -> Results:
    time = np.arange(n, dtype=np.float64) * step_h
    k = len(rpp_times)
    return Results(
        timeseries={
            "time_h": time,
            "n_cells": scale * np.arange(n, dtype=np.float64),
            "mean_mass": scale * np.linspace(1, 2, n),
        },
        units={"time_h": "h", "n_cells": "cells", "mean_mass": "newborn masses"},
        rpp={
            "time_h": np.array(rpp_times, np.float64),
            "rpp": np.linspace(1.0, 0.25, k),
            "n_replated": np.full(k, 4, np.int64),
            "n_colonies": np.arange(k, 0, -1, dtype=np.int64),
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


def same_bits(a, b) -> bool:
    """Equal dtype, shape and bytes (NaN included): what "bit-identical" means here."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


# ---------------------------------------------------------------------------------------
# layout and round trips


def test_layout_and_round_trip(tmp_path):
    path = tmp_path / "a.h5"
    results = fake_results(snapshots=True)
    with ArchiveWriter(path, CONFIG_TEXT, command="test") as archive:
        archive.add_run("run0", results, seed=7, overrides={"simulation.width": 16}, replicate=2, wall_s=1.5)
    with h5py.File(path, "r") as f:
        assert f.attrs["schema_version"] == SCHEMA_VERSION == 2
        for name in (
            "package_version",
            "created_utc",
            "git_commit",
            "git_dirty",
            "python_version",
            "numpy_version",
            "numba_version",
            "h5py_version",
            "host",
            "platform",
        ):
            assert name in f.attrs, name
        assert f.attrs["command"] == "test"
        assert f.attrs["numpy_version"] == np.__version__ and f.attrs["h5py_version"] == h5py.__version__
        assert f["config/toml"].asstr()[()] == CONFIG_TEXT
        assert f["config"].attrs["sha256"] == hashlib.sha256(CONFIG_TEXT.encode()).hexdigest()
        assert set(GROUPS) <= set(f)
        runs = f["runs"]
        assert runs["run"].asstr()[()].tolist() == ["run0"]
        assert runs["seed"][()].tolist() == [7] and runs["replicate"][()].tolist() == [2]
        assert runs["wall_s"][()].tolist() == [1.5] and runs["session"][()].tolist() == [0]
        assert json.loads(runs["overrides"].asstr()[0]) == {"simulation.width": 16}
        assert json.loads(runs["swept"].asstr()[0]) == {}
        series = f["timeseries"]
        assert series["n_cells"].shape == (1, 5) and series["time_h"][()].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
        for name in ("n_cells", "mean_mass"):
            assert series[name].attrs["units"] == results.units[name]
        assert "recorded" not in series  # one run: nothing is ragged
        assert f["rpp/n_colonies"].dtype == np.int64 and f["rpp/n_colonies"][()].tolist() == [[2, 1]]
        assert f["events/births"][()].tolist() == [7]
        summary = f["summary"]
        assert summary["run"].asstr()[()].tolist() == ["run0"]
        assert summary["replicate"][()].tolist() == [2] and summary["seed"][()].tolist() == [7]
        assert summary["t50_h"][()].tolist() == [3.0] and summary["wall_s"][()].tolist() == [1.5]
        snap = f["snapshots/run0"]
        assert len(snap) == 2
        first = snap[sorted(snap)[0]]
        assert first.attrs["time_h"] == 0.0
        assert first["mass"].compression == "gzip" and first["mass"].chunks is not None
    back = read_run(path, "run0", snapshots=True)
    assert list(back["timeseries"]) == list(results.timeseries)  # recorded order kept
    for name, values in results.timeseries.items():
        assert same_bits(back["timeseries"][name], values), name
    for name, values in results.rpp.items():
        assert same_bits(back["rpp"][name], values), name  # n_replated and n_colonies stay int64
    assert back["summary"] == {**results.summary, "wall_s": 1.5}  # the writer's wall time wins
    assert back["events"] == results.events
    assert back["units"] == results.units
    assert sorted(back["snapshots"]) == [0.0, 24.0]
    for time_h, fields in results.snapshots.items():
        for name, values in fields.items():
            assert same_bits(back["snapshots"][time_h][name], values)
    attrs = back["attrs"]
    assert attrs["overrides"] == {"simulation.width": 16} and attrs["seed"] == 7 and attrs["replicate"] == 2
    assert attrs["wall_s"] == 1.5 and attrs["status"] == "complete"


def test_the_layout_is_columnar_with_dimension_scales_and_cf_attributes(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        for r, dose in enumerate((0.0, 10.0, 100.0)):
            archive.add_run(
                f"g{r:03d}_r00", fake_results(scale=r + 1), seed=r, swept={"environment.rapamycin_nM": dose}
            )
    with h5py.File(path, "r") as f:
        for name in GROUPS:
            assert isinstance(f[name], h5py.Group), name
        for name in ("runs", "summary", "timeseries", "rpp", "events"):
            group = f[name]
            scale = group["run"]
            assert scale.is_scale and scale.asstr()[()].tolist() == ["g000_r00", "g001_r00", "g002_r00"]
            for column, dataset in group.items():
                if column == "run" or (name in ("timeseries", "rpp") and column == "time_h"):
                    continue
                assert dataset.shape[0] == 3, (name, column)
                assert dataset.dims[0][0] == scale, (name, column)
                assert "long_name" in dataset.attrs, (name, column)
                if h5py.check_string_dtype(dataset.dtype) is None:
                    assert "units" in dataset.attrs, (name, column)
        for name in ("timeseries", "rpp"):
            group = f[name]
            assert group["time_h"].is_scale and group["time_h"].attrs["units"] == "h"
            for column in ("n_cells", "mean_mass") if name == "timeseries" else ("rpp", "n_replated", "n_colonies"):
                dataset = group[column]
                assert dataset.ndim == 2 and dataset.dims[1][0] == group["time_h"], column
                assert dataset.attrs["coordinates"] == "replicate seed environment.rapamycin_nM"
            assert group["environment.rapamycin_nM"][()].tolist() == [0.0, 10.0, 100.0]
        sessions = f["sessions"]
        assert sessions["session"].is_scale and sessions["session"][()].tolist() == [0]
        assert sessions["host"].dims[0][0] == sessions["session"]
        units = {
            "/timeseries/time_h": "h",
            "/rpp/time_h": "h",
            "/rpp/rpp": "1",
            "/rpp/n_replated": "1",
            "/rpp/n_colonies": "1",
            "/runs/wall_s": "s",
            "/runs/seed": "1",
            "/summary/wall_s": "s",
            "/summary/t50_h": "h",
            "/summary/rpp_final": "1",
            "/summary/environment.rapamycin_nM": "nM",
            "/timeseries/environment.rapamycin_nM": "nM",
            "/events/births": "1",
            "/sessions/git_dirty": "1",
        }
        assert {name: f[name].attrs["units"] for name in units} == units
        assert f["rpp/rpp"].attrs["long_name"].startswith("re-proliferative potential")
        assert f["timeseries/n_cells"].attrs["long_name"] == "live cells"
        assert f["summary/t50_h"].attrs["long_name"].startswith("time at which RPP first falls to 0.5")
        assert json.loads(f["summary"].attrs["swept_columns"]) == ["environment.rapamycin_nM"]
        assert f["timeseries/n_cells"][()].tolist() == [[0, 1, 2, 3, 4], [0, 2, 4, 6, 8], [0, 3, 6, 9, 12]]


def test_xarray_opens_every_group_with_real_dimensions(tmp_path):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    even, ragged = tmp_path / "even.h5", tmp_path / "ragged.h5"
    with ArchiveWriter(even, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0, swept={"environment.rapamycin_nM": 0.0})
        archive.add_run("b", fake_results(scale=2), seed=1, swept={"environment.rapamycin_nM": 5.0})
    with ArchiveWriter(ragged, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0, swept={"simulation.hours": 8.0})
        archive.add_run(
            "b", fake_results(n=3, step_h=3.0, rpp_times=(0.0, 6.0)), seed=1, swept={"simulation.hours": 6.0}
        )
    expected_dims = {
        "runs": {"run": 2},
        "sessions": {"session": 1},
        "summary": {"run": 2},
        "timeseries": {"run": 2, "time_h": 5},
        "rpp": {"run": 2, "time_h": 2},
        "events": {"run": 2},
    }
    for path in (even, ragged):
        for group in GROUPS:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with xr.open_dataset(path, engine="h5netcdf", group=group) as ds:
                    ds.load()
                    dims = dict(ds.sizes)
                    assert not [d for d in dims if str(d).startswith("phony_dim")], (path.name, group, dims)
                    if path == even:
                        assert dims == expected_dims[group], group
                    if group in ("timeseries", "rpp"):
                        assert ds["time_h"].dtype == np.float64  # hours stay numbers, not timedeltas
                        assert ds["time_h"].attrs["units"] == "h"
                        assert ds[group if group == "rpp" else "n_cells"].dims == ("run", "time_h")
                    if group != "sessions":
                        assert ds["run"].values.tolist() == ["a", "b"]
            problems = [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]
            assert not problems, (path.name, group, problems)
    with xr.open_dataset(even, engine="h5netcdf", group="timeseries") as ds:
        np.testing.assert_array_equal(ds["n_cells"].values, [[0, 1, 2, 3, 4], [0, 2, 4, 6, 8]])
        assert ds["environment.rapamycin_nM"].values.tolist() == [0.0, 5.0]
        assert ds["n_cells"].attrs["units"] == "cells"
    with xr.open_dataset(ragged, engine="h5netcdf", group="timeseries") as ds:
        assert ds.sizes["time_h"] == 6 and ds["time_h"].values.tolist() == [0.0, 2.0, 3.0, 4.0, 6.0, 8.0]
        assert ds["recorded"].values.tolist() == [[1, 1, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]]
        assert math.isnan(ds["n_cells"].values[1, 1]) and ds["n_cells"].values[1, 2] == 1.0


def test_no_pickles_or_python_objects(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("r1", fake_results(snapshots=True), seed=1, swept={"environment.rapamycin_nM": 5.0})
        archive.add_run("r2", fake_results(n=3), seed=2, swept={"cells.paramset": "ht_p21"})  # ragged, text column
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
            if dtype is not None and dtype.names:  # compound: only the dimension scales' REFERENCE_LIST
                assert key == "REFERENCE_LIST", (name, key)
            found.append((name, key))
            assert not (isinstance(value, bytes) and value.startswith(b"\x80")), (name, key)  # pickle header

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        for name in ("summary/run", "runs/overrides", "summary/cells.paramset", "config/toml"):
            assert h5py.check_string_dtype(f[name].dtype).encoding == "utf-8", name
    assert len(found) > 50


def test_append_runs_one_at_a_time_keeps_summary_consistent(tmp_path):
    path = tmp_path / "sweep.h5"
    with ArchiveWriter(path, CONFIG_TEXT):
        pass
    assert read_archive(path)["summary"]["run"].tolist() == []
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
    assert summary["run"].tolist() == ["d2_r0", "d2_r1", "d10_r0"]  # natural key order
    assert summary["replicate"].tolist() == [0, 1, 0]
    assert summary["environment.rapamycin_nM"].tolist() == [2.0, 2.0, 10.0]
    assert summary["cells.paramset"].tolist() == ["ht_p21"] * 3
    assert summary["t50_h"].tolist() == [6.0, 6.0, 30.0]
    assert list(archive["runs"]) == ["d2_r0", "d2_r1", "d10_r0"]
    with h5py.File(path, "r") as f:
        assert json.loads(f["summary"].attrs["swept_columns"]) == ["cells.paramset", "environment.rapamycin_nM"]
        assert f["summary/run"].asstr()[()].tolist() == f["runs/run"].asstr()[()].tolist() == summary["run"].tolist()
        assert f["summary/t50_h"][()].tolist() == [6.0, 6.0, 30.0]
        assert f["timeseries/n_cells"][()][:, -1].tolist() == [8.0, 8.0, 40.0]


def test_summary_fills_missing_values_with_nan(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(summary={"t50_h": 1.0}), seed=0)
        archive.add_run("b", fake_results(summary={"final_n_cells": 5.0}), seed=0)
    summary = read_archive(path)["summary"]
    assert summary["t50_h"][0] == 1.0 and math.isnan(summary["t50_h"][1])
    assert math.isnan(summary["final_n_cells"][0]) and summary["final_n_cells"][1] == 5.0
    a, b = read_run(path, "a")["summary"], read_run(path, "b")["summary"]  # a result a run lacks is NaN
    assert a["t50_h"] == 1.0 and math.isnan(a["final_n_cells"]) and set(a) == {"t50_h", "final_n_cells"}
    assert b["final_n_cells"] == 5.0 and math.isnan(b["t50_h"]) and set(b) == {"t50_h", "final_n_cells"}


def test_read_run_keeps_a_result_that_is_nan(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(summary={"t50_h": math.nan, "rpp_final": 0.75}), seed=0)
    assert math.isnan(read_archive(path)["summary"]["t50_h"][0])
    summary = read_run(path, "a")["summary"]
    assert set(summary) == {"t50_h", "rpp_final"} and math.isnan(summary["t50_h"])


def test_a_run_key_is_added_once_unless_replaced(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0)
    with ArchiveWriter(path, CONFIG_TEXT, mode="a") as archive:
        assert archive.run_keys() == ["a"] and archive.has_run("a") and not archive.has_run("b")
        archive.add_run("b", fake_results(scale=2), seed=0)
        with pytest.raises(ArchiveError, match="run 'b' already exists"):
            archive.add_run("b", fake_results(), seed=0)
        with pytest.raises(ArchiveError, match="run 'a' already exists"):
            archive.add_run("a", fake_results(), seed=0)
        archive.add_run("b", fake_results(scale=3), seed=0, replace=True)
        assert archive.run_keys() == ["a", "b"]
    assert read_archive(path)["summary"]["t50_h"].tolist() == [3.0, 9.0]


def test_replacing_a_run_leaves_no_time_that_no_run_recorded(tmp_path):
    from geroconvert.archive.sweepdata import load_sweep

    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0)
        archive.add_run("b", fake_results(n=3, step_h=3.0), seed=1)  # the only run that recorded 3 h
    with ArchiveWriter(path, CONFIG_TEXT, mode="a") as archive:
        archive.add_run("b", fake_results(scale=2), seed=1, replace=True)  # now on the schedule of "a"
    assert read_run(path, "b")["timeseries"]["time_h"].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert load_sweep(path).series_time_h.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    with h5py.File(path, "r") as f:
        assert f["timeseries/time_h"][()].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0] and "recorded" not in f["timeseries"]


def test_an_error_inside_the_writer_writes_nothing(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0)
    before = path.read_bytes()
    with pytest.raises(RuntimeError), ArchiveWriter(path, CONFIG_TEXT, mode="a") as archive:
        archive.add_run("b", fake_results(), seed=1)
        raise RuntimeError("stopped")
    assert path.read_bytes() == before
    buffer = io.BytesIO()
    with ArchiveWriter(buffer, CONFIG_TEXT) as archive:  # an in-memory archive reads like a file
        archive.add_run("m", fake_results(scale=4), seed=4)
    (tmp_path / "m.h5").write_bytes(buffer.getvalue())
    assert read_run(tmp_path / "m.h5", "m")["summary"]["t50_h"] == 12.0


def test_append_refuses_a_different_config(tmp_path):
    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT):
        pass
    before = path.read_bytes()
    with pytest.raises(ArchiveError, match="differs") as error:
        ArchiveWriter(path, CONFIG_TEXT + "\n# changed\n", mode="a")
    one_line(error)
    assert path.read_bytes() == before


@pytest.mark.parametrize("key", ["", "a/b", ".", "..", " x", "x "])
def test_bad_run_keys(tmp_path, key):
    with ArchiveWriter(tmp_path / "a.h5", CONFIG_TEXT) as archive, pytest.raises(ArchiveError, match="run key"):
        archive.add_run(key, fake_results(), seed=0)
    assert read_archive(tmp_path / "a.h5")["runs"] == {}


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


def test_reader_errors_are_one_line(tmp_path):
    def refused(path, match: str, read=read_archive) -> str:
        with pytest.raises(ArchiveError, match=match) as error:
            read(path)
        message = one_line(error)
        assert str(path) in message
        return message

    refused(tmp_path / "missing.h5", "no such file")
    (tmp_path / "folder.h5").mkdir()
    refused(tmp_path / "folder.h5", "is a directory")
    (tmp_path / "text.h5").write_text("hello")
    refused(tmp_path / "text.h5", "not an HDF5 file")
    (tmp_path / "empty.h5").write_bytes(b"")
    refused(tmp_path / "empty.h5", "not an HDF5 file")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    refused(tmp_path / "other.h5", "not a geroconvert archive")
    with ArchiveWriter(tmp_path / "ok.h5", CONFIG_TEXT) as archive:
        for r in range(3):
            archive.add_run(f"run{r}", fake_results(snapshots=True), seed=r)
    data = (tmp_path / "ok.h5").read_bytes()
    (tmp_path / "truncated.h5").write_bytes(data[: len(data) // 2])
    assert "corrupt" in refused(tmp_path / "truncated.h5", "corrupt|truncated")
    shutil.copyfile(tmp_path / "ok.h5", tmp_path / "future.h5")
    with h5py.File(tmp_path / "future.h5", "a") as f:
        f.attrs["schema_version"] = np.int64(SCHEMA_VERSION + 1)
    refused(tmp_path / "future.h5", "archive schema 3 is newer than this geroconvert reads")
    message = refused(SCHEMA1_SWEEP, "archive schema 1")
    assert "convert it with `geroconvert upgrade OLD.h5 NEW.h5`" in message
    refused(tmp_path / "ok.h5", "no run 'nope'; runs: run0, run1, run2", lambda p: read_run(p, "nope"))


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
        assert same_bits(back["timeseries"][name], values), name
        assert back["units"][name] == results.units[name]
    for name, values in results.rpp.items():
        assert same_bits(back["rpp"][name], values), name
    assert back["events"] == results.events
    table = read_archive(path)["summary"]  # every result, NaN ones included (t50_h: RPP never fell to 0.5)
    assert set(results.summary) <= set(table)
    for name, value in results.summary.items():
        assert same_bits(table[name][0], np.float64(value)), name
    assert set(back["summary"]) == set(results.summary)
    for name, value in results.summary.items():
        np.testing.assert_equal(back["summary"][name], value)  # NaN ones too (t50_h: RPP never fell to 0.5)
    assert sorted(back["snapshots"]) == sorted(results.snapshots) == [0.0, 12.0, 24.0]
    for time_h, fields in results.snapshots.items():
        assert sorted(back["snapshots"][time_h]) == sorted(fields)
        for name, values in fields.items():
            assert same_bits(back["snapshots"][time_h][name], values), (time_h, name)
    assert read_archive(path)["config_toml"] == loaded.resolved_toml
    # a sweep's view of the same run gives it back as the run gave it
    from geroconvert.archive.sweepdata import load_sweep

    one = load_sweep(path).run_timeseries(0)
    assert sorted(one) == sorted(results.timeseries)
    for name, values in results.timeseries.items():
        assert same_bits(one[name], values), name


def test_dish_runs_do_not_write_epidermis_only_series(tmp_path):
    """A run records only the series its geometry has (core/recorder.py, series_for); the archive holds just those."""
    from geroconvert.core.engine import Simulation
    from tests.helpers import epidermis, ht_p21

    dish = Simulation(ht_p21(hours=12.0, simulation={"width": 10, "height": 10}), seed=1).run()
    skin = Simulation(epidermis(hours=48.0), seed=1).run()
    for geometry, results, absent in (("dish", dish, EPIDERMIS_ONLY), ("epidermis", skin, DISH_ONLY)):
        path = tmp_path / f"{geometry}.h5"
        with ArchiveWriter(path, CONFIG_TEXT) as archive:
            archive.add_run("run0", results, seed=1)
        with h5py.File(path, "r") as f:
            written = set(f["timeseries"]) - {"run", "time_h", "replicate", "seed"}
        assert written == set(results.timeseries) - {"time_h"}, geometry
        assert not written & set(absent), (geometry, sorted(written & set(absent)))
        assert set(read_run(path, "run0")["timeseries"]) == set(results.timeseries)
    assert {"thickness_rows", "n_stem", "p16_positive_fraction_epidermis", "basal_in_cycle_fraction"} <= set(
        EPIDERMIS_ONLY
    )
    assert "n_line_senescent" in set(dish.timeseries) and "thickness_rows" in set(skin.timeseries)


# ---------------------------------------------------------------------------------------
# runs that recorded at different times (a sweep over simulation.hours)


def two_schedules(path: Path) -> tuple[Results, Results]:
    a = fake_results(n=5, step_h=2.0, rpp_times=(0.0, 4.0))  # records 0, 2, 4, 6, 8
    b = fake_results(scale=3, n=3, step_h=3.0, rpp_times=(0.0, 3.0, 6.0))  # records 0, 3, 6
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", a, seed=0, swept={"simulation.hours": 8.0})
        archive.add_run("b", b, seed=1, swept={"simulation.hours": 6.0})
    return a, b


def test_ragged_runs_share_a_union_time_axis_and_read_back_exactly(tmp_path):
    path = tmp_path / "ragged.h5"
    a, b = two_schedules(path)
    with h5py.File(path, "r") as f:
        series, rpp = f["timeseries"], f["rpp"]
        assert series["time_h"][()].tolist() == [0.0, 2.0, 3.0, 4.0, 6.0, 8.0]
        assert series["recorded"].dtype == np.uint8
        assert series["recorded"][()].tolist() == [[1, 1, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]]
        cells = series["n_cells"][()]
        assert cells[0, [0, 1, 3, 4, 5]].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and math.isnan(cells[0, 2])
        assert cells[1, [0, 2, 4]].tolist() == [0.0, 3.0, 6.0] and np.isnan(cells[1, [1, 3, 5]]).all()
        assert math.isnan(series["n_cells"].fillvalue)
        assert rpp["time_h"][()].tolist() == [0.0, 3.0, 4.0, 6.0]
        assert rpp["recorded"][()].tolist() == [[1, 0, 1, 0], [1, 1, 0, 1]]
        assert rpp["n_replated"].dtype == np.int64 and rpp["n_replated"].fillvalue == -1
        assert rpp["n_replated"][()].tolist() == [[4, -1, 4, -1], [4, 4, -1, 4]]
        assert rpp["n_colonies"][()].tolist() == [[2, -1, 1, -1], [3, 2, -1, 1]]
        assert np.isnan(rpp["rpp"][()][[0, 0, 1], [1, 3, 2]]).all()
    for key, results in (("a", a), ("b", b)):
        back = read_run(path, key)
        for table in ("timeseries", "rpp"):
            original = getattr(results, table)
            assert list(back[table]) == list(original), (key, table)
            for name, values in original.items():
                assert same_bits(back[table][name], values), (key, table, name)
    assert read_archive(path)["runs"]["b"]["swept"] == {"simulation.hours": 6.0}


def test_runs_of_one_schedule_write_no_recorded_mask(tmp_path):
    path = tmp_path / "even.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0)
        archive.add_run("b", fake_results(scale=2), seed=1)
    with h5py.File(path, "r") as f:
        assert "recorded" not in f["timeseries"] and "recorded" not in f["rpp"]
        assert f["timeseries/time_h"][()].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_load_sweep_refuses_ragged_archives_in_one_line(tmp_path):
    from geroconvert.archive.sweepdata import load_sweep

    path = tmp_path / "ragged.h5"
    two_schedules(path)
    with pytest.raises(ArchiveError, match="runs a and b have different record times") as error:
        load_sweep(path)
    assert "simulation.hours" in one_line(error)
    same_records = tmp_path / "rpp_only.h5"  # same record times, other assay times
    with ArchiveWriter(same_records, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(), seed=0)
        archive.add_run("b", fake_results(rpp_times=(0.0, 2.0, 4.0)), seed=1)
    with pytest.raises(ArchiveError, match="runs a and b have different RPP assay times") as error:
        load_sweep(same_records)
    one_line(error)


# ---------------------------------------------------------------------------------------
# open_archive: pandas and xarray


def test_open_archive_gives_frames_and_datasets_indexed_by_run(tmp_path):
    pytest.importorskip("xarray")
    pytest.importorskip("pandas")
    from geroconvert.archive.frames import open_archive

    path = tmp_path / "sweep.h5"
    doses = {"g000_r00": 0.0, "g000_r01": 0.0, "g001_r00": 50.0, "g001_r01": 50.0}
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        for r, (key, dose) in enumerate(doses.items()):
            archive.add_run(
                key, fake_results(scale=r + 1), seed=r % 2, replicate=r % 2, swept={"environment.rapamycin_nM": dose}
            )
    opened = open_archive(path)
    summary = opened.summary
    assert summary.index.name == "run" and summary.index.tolist() == list(doses)
    assert list(summary.columns[:3]) == ["replicate", "seed", "environment.rapamycin_nM"]
    assert summary["environment.rapamycin_nM"].tolist() == list(doses.values())
    assert summary["t50_h"].tolist() == [3.0, 6.0, 9.0, 12.0]
    assert summary.loc["g001_r00", "rpp_final"] == 0.25
    assert opened.swept == ["environment.rapamycin_nM"]
    for ds, names in ((opened.timeseries, ("n_cells", "mean_mass")), (opened.rpp, ("rpp", "n_replated", "n_colonies"))):
        assert ds[names[0]].dims == ("run", "time_h")
        assert ds["run"].values.tolist() == list(doses)
        assert ds["environment.rapamycin_nM"].dims == ("run",)
        assert ds["environment.rapamycin_nM"].values.tolist() == list(doses.values())
        assert ds["replicate"].values.tolist() == [0, 1, 0, 1]
        assert set(names) <= set(ds.data_vars)
    assert opened.timeseries.sizes["time_h"] == 5 and opened.rpp.sizes["time_h"] == 2
    np.testing.assert_array_equal(opened.timeseries["n_cells"].sel(run="g001_r01").values, 4 * np.arange(5.0))
    assert opened.rpp["n_replated"].dtype == np.int64  # not ragged: the counts stay whole numbers
    assert opened.rpp["rpp"].attrs["units"] == "1" and opened.rpp["time_h"].attrs["units"] == "h"
    frame = opened.rpp["rpp"].to_dataframe()
    assert "environment.rapamycin_nM" in frame.columns and "rpp" in frame.columns
    assert frame.loc[("g001_r00", 4.0), "environment.rapamycin_nM"] == 50.0
    assert frame.loc[("g001_r00", 4.0), "rpp"] == 0.25 and len(frame) == 8
    assert opened.events["births"].tolist() == [7, 7, 7, 7]
    assert opened.runs.loc["g001_r01", "seed"] == 1
    assert "[simulation]" in opened.config_toml and opened.config == {"simulation": {"width": 16}}
    assert opened.run("g000_r01")["summary"]["t50_h"] == 6.0
    assert "4 runs" in repr(opened)


def test_open_archive_of_ragged_runs_makes_missing_times_nan(tmp_path):
    pytest.importorskip("xarray")
    from geroconvert.archive.frames import open_archive

    path = tmp_path / "ragged.h5"
    two_schedules(path)
    opened = open_archive(path)
    assert opened.timeseries["time_h"].values.tolist() == [0.0, 2.0, 3.0, 4.0, 6.0, 8.0]
    counts = opened.rpp["n_replated"]
    assert counts.dtype == np.float64  # a time a run did not assay is NaN, so the counts become floats
    values = counts.values
    assert values[0, [0, 2]].tolist() == [4.0, 4.0] and np.isnan(values[0, [1, 3]]).all()
    assert values[1, [0, 1, 3]].tolist() == [4.0, 4.0, 4.0] and math.isnan(values[1, 2])
    assert not (values == -1).any()
    cells = opened.timeseries["n_cells"].sel(run="b").values
    assert cells[[0, 2, 4]].tolist() == [0.0, 3.0, 6.0] and np.isnan(cells[[1, 3, 5]]).all()
    assert opened.summary["simulation.hours"].tolist() == [8.0, 6.0]


# ---------------------------------------------------------------------------------------
# a sweep's parts (OUT.h5.parts/)


def batch(*runs, provenance: dict | None = None):
    """(the session's provenance, the rows of ``runs``: (key, Results, seed) each), as a sweep's commit makes them."""
    writer = ArchiveWriter(io.BytesIO(), CONFIG_TEXT, provenance=provenance)
    for key, results, seed in runs:
        writer.add_run(key, results, seed=seed, swept={"environment.rapamycin_nM": float(seed)})
    return writer.session_provenance(), writer.new_rows()


def sweep_with_parts(path: Path) -> list[Path]:
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("g000", fake_results(), seed=0, swept={"environment.rapamycin_nM": 0.0})
    written = []
    for runs in (
        [("g001", fake_results(scale=2), 1), ("g002", fake_results(scale=3, snapshots=True), 2)],
        [("g003", fake_results(scale=4), 3)],
    ):
        root, rows = batch(*runs)
        written.append(write_part(path, CONFIG_TEXT, root, rows, "then run again"))
    return written


def test_parts_are_read_as_one_archive_with_the_main_file(tmp_path):
    from geroconvert.archive.reader import complete_run_keys, read_snapshots

    path = tmp_path / "sweep.h5"
    written = sweep_with_parts(path)
    folder = parts_dir(path)
    assert folder == tmp_path / "sweep.h5.parts"
    assert written == [folder / "part-000001.h5", folder / "part-000002.h5"] == part_files(path)
    with h5py.File(path, "r") as f:
        assert f["runs/run"].asstr()[()].tolist() == ["g000"]  # the main file is untouched
    assert read_rows(path).rows.keys == ["g000", "g001", "g002", "g003"]
    assert complete_run_keys(path, CONFIG_TEXT) == ["g000", "g001", "g002", "g003"]
    archive = read_archive(path)
    assert archive["summary"]["t50_h"].tolist() == [3.0, 6.0, 9.0, 12.0]
    assert archive["summary"]["environment.rapamycin_nM"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert read_run(path, "g003")["timeseries"]["n_cells"].tolist() == [0.0, 4.0, 8.0, 12.0, 16.0]
    snapshots = read_snapshots(path, "g002")  # from the part that holds them
    assert sorted(snapshots) == [0.0, 24.0] and snapshots[0.0]["mass"].dtype == np.float32
    assert read_run(path, "g000", snapshots=True)["snapshots"] == {}


def test_a_part_of_another_config_is_refused(tmp_path):
    from geroconvert.archive.writer import write_archive

    path = tmp_path / "sweep.h5"
    sweep_with_parts(path)
    root, rows = batch(("x001", fake_results(), 9))
    stray = parts_dir(path) / "part-000003.h5"
    write_archive(stray, CONFIG_TEXT + "# another\n", root, rows)
    for read in (read_rows, read_archive, lambda p: read_run(p, "g000")):
        with pytest.raises(ArchiveError, match="holds runs of another config") as error:
            read(path)
        message = one_line(error)
        assert message.startswith(f"{stray}:") and "move it away" in message


def test_a_damaged_part_is_refused_in_one_line(tmp_path):
    path = tmp_path / "sweep.h5"
    written = sweep_with_parts(path)
    with h5py.File(written[1], "a") as f:
        f["runs"].attrs["note"] = "harmless"
        del f["runs/seed"]
        f["runs/seed"] = np.array([-3])
    with pytest.raises(ArchiveError, match="/runs/seed has negative values") as error:
        read_archive(path)
    assert one_line(error).startswith(f"{written[1]}:")


def test_a_run_in_both_the_archive_and_a_part_counts_once(tmp_path):
    """What a merge stopped after it replaced OUT.h5 (before it removed the parts) leaves."""
    path = tmp_path / "sweep.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("g000", fake_results(), seed=0)
        archive.add_run("g001", fake_results(scale=2), seed=1)
    root, rows = batch(("g001", fake_results(scale=2), 1), ("g002", fake_results(scale=3), 2))
    write_part(path, CONFIG_TEXT, root, rows, "then run again")
    checked = read_rows(path)
    assert checked.rows.keys == ["g000", "g001", "g002"]
    assert checked.rows.summary["t50_h"].tolist() == [3.0, 6.0, 9.0]
    assert len(read_archive(path)["summary"]["run"]) == 3
    assert merge_parts(path, "then run again") == 3
    assert read_rows(path).rows.keys == ["g000", "g001", "g002"]


def test_merge_parts_leaves_one_file_with_every_run(tmp_path):
    from geroconvert.archive.reader import read_file

    path = tmp_path / "sweep.h5"
    sweep_with_parts(path)
    before = read_archive(path)
    assert merge_parts(path, "then run again") == 4
    assert not parts_dir(path).exists() and part_files(path) == []
    assert not (tmp_path / "sweep.h5.partial").exists()
    alone = read_file(path)  # the main file by itself now holds every run
    assert alone.rows.keys == ["g000", "g001", "g002", "g003"]
    after = read_archive(path)
    assert after["attrs"] == before["attrs"] and after["config_sha256"] == before["config_sha256"]
    for name, values in before["summary"].items():
        assert np.array_equal(after["summary"][name], values), name
    assert read_run(path, "g003")["rpp"]["n_colonies"].tolist() == [2, 1]
    merged = path.read_bytes()
    assert merge_parts(path, "then run again") == 4  # nothing left to merge: the file stays as it is
    assert path.read_bytes() == merged


@pytest.mark.parametrize("how", ["merge_parts", "append"])
def test_merging_and_appending_keep_snapshots(tmp_path, how):
    from geroconvert.archive.reader import read_snapshots

    path = tmp_path / "sweep.h5"
    sweep_with_parts(path)  # g002, in a part, has snapshots
    if how == "merge_parts":
        merge_parts(path, "then run again")
    else:
        with ArchiveWriter(path, CONFIG_TEXT, mode="a") as archive:
            archive.add_run("g010", fake_results(), seed=10)
        merge_parts(path, "then run again")
        with ArchiveWriter(path, CONFIG_TEXT, mode="a") as archive:  # g002 now in the main file
            archive.add_run("g011", fake_results(), seed=11)
    assert sorted(read_snapshots(path, "g002")) == [0.0, 24.0]


def test_scratch_files_are_not_parts(tmp_path):
    from geroconvert.archive.parts import remove_scratch

    path = tmp_path / "sweep.h5"
    sweep_with_parts(path)
    folder = parts_dir(path)
    (folder / "part-000003.h5.partial").write_bytes(b"what a killed commit left")
    (folder / "part-1.h5").write_bytes(b"not a part name")
    (folder / "notes.txt").write_text("x")
    assert [p.name for p in part_files(path)] == ["part-000001.h5", "part-000002.h5"]
    assert read_rows(path).rows.keys == ["g000", "g001", "g002", "g003"]
    root, rows = batch(("g004", fake_results(), 4))
    assert write_part(path, CONFIG_TEXT, root, rows, "again").name == "part-000003.h5"  # numbered after the parts
    remove_scratch(path)
    assert sorted(p.name for p in folder.iterdir()) == ["part-000001.h5", "part-000002.h5", "part-000003.h5"]
    assert read_rows(path).rows.keys == ["g000", "g001", "g002", "g003", "g004"]


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
        sessions = f["sessions"]
        assert sessions["session"][()].tolist() == [0, 1]
        for row, made in enumerate((OLD, NEW)):
            for name in RUN_FIELDS:
                value = sessions[name][row]
                stored = value.decode() if isinstance(value, bytes) else value
                assert stored == (int(made[name]) if name == "git_dirty" else made[name]), (row, name)
        assert f["runs/run"].asstr()[()].tolist() == ["r0", "r1"]
        assert f["runs/session"][()].tolist() == [0, 1]
        assert all(t != OLD["created_utc"] for t in f["runs/created_utc"].asstr()[()])  # when the run was written
    runs = read_archive(path)["runs"]
    assert runs["r1"]["package_version"] == "0.2.0" and runs["r1"]["git_dirty"] is True
    assert runs["r0"]["host"] == "old-host" and runs["r0"]["git_dirty"] is False
    assert read_run(path, "r0")["attrs"]["git_commit"] == "a" * 40
    assert read_run(path, "r1")["attrs"]["git_commit"] == "b" * 40
    with ArchiveWriter(path, CONFIG_TEXT, mode="a", provenance=NEW) as archive:  # the same software again
        archive.add_run("r2", fake_results(), seed=2)
    with h5py.File(path, "r") as f:
        assert f["sessions/session"][()].tolist() == [0, 1]  # no new session row for software already there
        assert f["runs/session"][()].tolist() == [0, 1, 1]


def test_a_run_records_what_is_running_by_default(tmp_path):
    from geroconvert import __version__

    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("r0", fake_results(), seed=0)
    with h5py.File(path, "r") as f:
        sessions = f["sessions"]
        assert sessions["package_version"].asstr()[0] == __version__ == f.attrs["package_version"]
        assert sessions["numpy_version"].asstr()[0] == np.__version__
        assert sessions["git_commit"].asstr()[0] == f.attrs["git_commit"]
        assert sessions["host"].asstr()[0] == f.attrs["host"]
        assert sessions["git_dirty"][0] == int(f.attrs["git_dirty"])


def test_info_shows_which_runs_came_from_which_software(tmp_path, capsys):
    path = tmp_path / "a.h5"
    two_sessions(path)
    lines = info_lines(path, capsys)
    header = next(line for line in lines if line.split()[:2] == ["key", "seed"])
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
    lines = info_lines(path, capsys)
    header = next(line for line in lines if line.split()[:2] == ["key", "seed"])
    assert "software" not in header.split()
    assert "different software" not in "\n".join(lines)


def test_converted_runs_without_their_own_provenance_count_as_the_archives(tmp_path, capsys):
    """Runs of schema 1 written before runs recorded their provenance count as made by the archive's software."""
    from geroconvert.archive.provenance import RUN_FIELDS
    from geroconvert.archive.upgrade import upgrade

    old = tmp_path / "old.h5"
    shutil.copyfile(SCHEMA1_SWEEP, old)
    with h5py.File(old, "a") as f:
        f.attrs["host"] = "archive-host"
        for key in f["runs"]:
            for name in RUN_FIELDS:
                del f["runs"][key].attrs[name]
    new = tmp_path / "new.h5"
    assert upgrade(old, new) == 4
    with h5py.File(new, "r") as f:
        assert f["sessions/session"][()].tolist() == [0] and f["runs/session"][()].tolist() == [0, 0, 0, 0]
        assert f["sessions/host"].asstr()[0] == "archive-host"
        assert f.attrs["converted_from_schema"] == 1
    run = read_run(new, "g001_r01")
    assert run["attrs"]["host"] == "archive-host" and run["attrs"]["package_version"] == "0.1.0"
    assert "different software" not in "\n".join(info_lines(new, capsys))


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
    two = tmp_path / "two.h5"
    two_sessions(two)  # runs of 0.0.9 and 0.2.0: resumed under 0.2.0, the runs of 0.0.9 are named
    note = software_change(two, current=NEW)
    assert note is not None and "0.0.9 (git aaaaaaaaaaaa)" in note and "0.2.0 (git bbbbbbbbbbbb), this" not in note
    assert software_change(two, current={**NEW, "package_version": "0.0.9", "git_commit": "a" * 40}) is not None


def test_git_dirty_sees_a_modified_source_tree(tmp_path, monkeypatch):
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


def every_reader():
    from geroconvert.archive.frames import open_archive
    from geroconvert.archive.hdf5 import complete_run_keys, read_complete_runs, software_change
    from geroconvert.archive.sweepdata import load_sweep

    return {
        "read_archive": read_archive,
        "read_rows": read_rows,
        "read_run": lambda p: read_run(p, "r0"),
        "read_complete_runs": read_complete_runs,
        "load_sweep": load_sweep,
        "complete_run_keys": lambda p: complete_run_keys(p, CONFIG_TEXT),
        "software_change": lambda p: software_change(p, current=OLD),
        "open_archive": open_archive,
        "merge_parts": lambda p: merge_parts(p, "then run again"),
        "ArchiveWriter(mode='a')": lambda p: ArchiveWriter(p, CONFIG_TEXT, mode="a"),
    }


def test_every_reader_and_the_appending_writer_refuse_what_info_refuses(tmp_path, capsys):
    from geroconvert.interfaces.cli.main import main

    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("r0", fake_results(), seed=0)
    with h5py.File(path, "a") as f:
        del f["runs/wall_s"]
        f.create_dataset("runs/wall_s", data=np.array(["fast"], dtype=object), dtype=h5py.string_dtype())
    before = path.read_bytes()
    expected = "/runs/wall_s has shape (1,) and a string dtype, expected 1-D numbers"
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err
    for name, read in every_reader().items():
        with pytest.raises(ArchiveError) as error:
            read(path)
        assert one_line(error) == err.removeprefix("geroconvert: error: ").rstrip("\n"), name
    assert path.read_bytes() == before
    schema1 = tmp_path / "schema1.h5"
    shutil.copyfile(SCHEMA1_SWEEP, schema1)
    for name, read in every_reader().items():
        with pytest.raises(ArchiveError, match="archive schema 1.*geroconvert upgrade") as error:
            read(schema1)
        assert one_line(error).startswith(f"{schema1}: archive schema 1"), name
    assert schema1.read_bytes() == SCHEMA1_SWEEP.read_bytes()


def test_snapshots_are_checked_when_read(tmp_path):
    from geroconvert.archive.reader import read_snapshots

    path = tmp_path / "a.h5"
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", fake_results(snapshots=True), seed=0)
    with h5py.File(path, "a") as f:
        snap = f["snapshots/a"]
        first = snap[sorted(snap)[0]]
        del first["mass"]
        first["mass"] = np.ones(5, np.float32)  # 1-D, beside a 2-D phase
    assert read_run(path, "a")["summary"]["t50_h"] == 3.0  # not read, not in the way
    for read in (lambda: read_run(path, "a", snapshots=True), lambda: read_snapshots(path, "a")):
        with pytest.raises(ArchiveError, match="/snapshots/a/.* holds fields of shapes") as error:
            read()
        one_line(error)
    with h5py.File(path, "a") as f:
        del f["snapshots/a"]
        f["snapshots/a"] = np.arange(3)  # a dataset where the run's group belongs
    with pytest.raises(ArchiveError, match="/snapshots/a is a dataset, expected a group") as error:
        read_snapshots(path, "a")
    one_line(error)


def test_units_are_stored_read_back_and_checked(tmp_path):
    path = tmp_path / "a.h5"
    results = fake_results()
    with ArchiveWriter(path, CONFIG_TEXT) as archive:
        archive.add_run("a", results, seed=0)
    assert read_run(path, "a")["units"] == {"time_h": "h", "n_cells": "cells", "mean_mass": "newborn masses"}
    with h5py.File(path, "a") as f:
        assert f["timeseries/mean_mass"].attrs["units"] == "newborn masses"
        f["timeseries/n_cells"].attrs["units"] = np.int64(5)
    for read in (read_archive, lambda p: read_run(p, "a")):
        with pytest.raises(ArchiveError, match="/timeseries/n_cells attribute units is 5, expected text") as error:
            read(path)
        one_line(error)


def test_a_basal_sheet_s_snapshots_are_stored_and_read_back_in_3_d(tmp_path):
    """A stratified epidermis on a sheet snapshots rows x depth x width; the archive keeps the
    shape and the reader accepts it (a 4-D field is still refused)."""
    from geroconvert.archive.reader import read_snapshots
    from geroconvert.core.engine import Simulation

    sets = ["simulation.width=6", "simulation.depth=4", "simulation.hours=48", "simulation.snapshot_every_h=24"]
    loaded = load_config("configs/epidermis_small.toml", sets)
    results = Simulation(loaded.params, seed=1).run()
    path = tmp_path / "sheet.h5"
    with ArchiveWriter(path, loaded.resolved_toml) as archive:
        archive.add_run("a", results, seed=1)
    snapshots = read_snapshots(path, "a")
    rows = loaded.params.simulation.height + loaded.params.simulation.dermis_rows
    assert sorted(snapshots) == [0.0, 24.0, 48.0]
    assert all(field.shape == (rows, 4, 6) for snap in snapshots.values() for field in snap.values())
    with h5py.File(path, "a") as f:
        snap = f["snapshots/a"]
        first = snap[sorted(snap)[0]]
        for name in list(first):
            data = first[name][()]
            del first[name]
            first[name] = data[None]  # 4-D
    with pytest.raises(ArchiveError, match="expected 2-D or 3-D numbers"):
        read_snapshots(path, "a")
