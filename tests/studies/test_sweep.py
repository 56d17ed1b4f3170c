"""Sweeps: grid expansion, common random numbers, executors, archive commits and resume."""

import h5py
import numpy as np
import pytest

from geroconvert.archive.hdf5 import ArchiveError, read_rows, write_archive
from geroconvert.config import ConfigError
from geroconvert.studies.sweep import load_sweep, parse_sweep, plan_runs, run_sweep

SMALL = {
    "simulation": {"width": 24, "height": 24, "initial_density": 0.25, "hours": 96.0, "record_every_h": 12.0},
    "environment": {"inducer": 1.0},
    "assays": {"rpp_times_h": [0.0, 48.0, 72.0, 96.0], "max_cells": 60},
}


def sweep_config(**sweep):
    return {**SMALL, "sweep": {"replicates": 2, "seed": 5, **sweep}}


def test_grid_is_a_product_and_zip_pairs_lists():
    points, reps, seed = parse_sweep(
        {
            "replicates": 3,
            "seed": 7,
            "grid": {"a.x": [1, 2], "a.y": [10, 20, 30]},
            "zip": {"b.p": [0, 1], "b.q": [5, 6]},
        },
        default_seed=0,
    )
    assert (reps, seed) == (3, 7)
    assert len(points) == 2 * 3 * 2
    assert {"a.x": 2, "a.y": 30, "b.p": 1, "b.q": 6} in points
    assert {"a.x": 2, "a.y": 30, "b.p": 1, "b.q": 5} not in points  # zipped, not crossed


def test_logspace_helper_adds_zero():
    points, _, _ = parse_sweep(
        {"grid": {"environment.rapamycin_nM": {"logspace": [0.01, 1000, 6], "zero": True}}}, default_seed=0
    )
    doses = [p["environment.rapamycin_nM"] for p in points]
    assert doses == [0.0, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]


def test_replicate_seed_is_shared_across_grid_points():
    specs = plan_runs(sweep_config(grid={"environment.rapamycin_nM": [0.0, 1.0, 500.0]}))
    assert len(specs) == 6
    for replicate in (0, 1):
        assert {s.seed for s in specs if s.replicate == replicate} == {5 + replicate}


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"grid": {"environment.rapamycin_nM": [-1.0]}}, "rapamycin_nM"),
        ({"grid": {"environment.no_such_key": [1.0]}}, "no_such_key"),
        ({"zip": {"environment.oxygen": [1.0, 0.5], "environment.mitogen": [1.0]}}, "sweep.zip"),
        ({"replicates": 0}, "sweep.replicates"),
        ({"grid": {"environment.rapamycin_nM": {"logspace": [0, 10, 3]}}}, "logspace"),
        ({"colour": 1}, "sweep.colour"),
    ],
)
def test_bad_sweeps_fail_before_any_run(bad, field):
    with pytest.raises(ConfigError) as error:
        plan_runs(sweep_config(**bad))
    assert field in str(error.value) and "\n" not in str(error.value)


def test_sweep_archives_every_run_and_resume_completes_only_missing(tmp_path):
    config = sweep_config(grid={"environment.rapamycin_nM": [0.0, 500.0]})
    full = tmp_path / "full.h5"
    outcome = run_sweep(config, full, workers=1)
    assert outcome.completed == 4 and not outcome.failed
    data = load_sweep(full)
    assert data.keys == ["g000_r00", "g000_r01", "g001_r00", "g001_r01"]
    # rapamycin keeps more RPP at 96 h than the control, replicate by replicate
    control, treated = data.runs_at((0.0,)), data.runs_at((500.0,))
    assert (data.rpp[treated, -1] > data.rpp[control, -1]).all()

    # drop two runs as if the sweep had been killed, then resume
    partial = tmp_path / "partial.h5"
    checked = read_rows(full)
    kept = [r for r, key in enumerate(checked.rows.keys) if key not in ("g001_r00", "g000_r01")]
    write_archive(partial, checked.config_toml, checked.attrs, checked.rows.take(kept))
    resumed = run_sweep(config, partial, workers=1, resume=True)
    assert resumed.skipped == 2 and resumed.completed == 2
    with h5py.File(full) as a, h5py.File(partial) as b:  # the same columns, row for row
        for group in ("timeseries", "rpp", "summary", "events"):
            names = [name for name in a[group] if name not in ("wall_s", "compile_s")]
            assert names == [name for name in b[group] if name not in ("wall_s", "compile_s")]
            for name in names:
                np.testing.assert_array_equal(a[group][name][()], b[group][name][()])


def test_resume_refuses_a_different_config(tmp_path):
    out = tmp_path / "s.h5"
    run_sweep(sweep_config(grid={"environment.rapamycin_nM": [0.0]}), out, workers=1)
    before = out.read_bytes()
    with pytest.raises(ArchiveError):
        run_sweep(sweep_config(grid={"environment.rapamycin_nM": [0.0, 1.0]}), out, workers=1, resume=True)
    assert out.read_bytes() == before


def test_existing_output_is_not_overwritten(tmp_path):
    out = tmp_path / "s.h5"
    out.write_bytes(b"precious")
    with pytest.raises(ArchiveError):
        run_sweep(sweep_config(), out, workers=1)
    assert out.read_bytes() == b"precious"


def test_process_pool_gives_the_same_runs_as_inline(tmp_path):
    config = sweep_config(grid={"environment.rapamycin_nM": [0.0, 1.0]})
    inline, pooled = tmp_path / "inline.h5", tmp_path / "pooled.h5"
    run_sweep(config, inline, workers=1)
    run_sweep(config, pooled, workers=2)
    a, b = load_sweep(inline), load_sweep(pooled)
    assert a.keys == b.keys
    np.testing.assert_array_equal(a.rpp, b.rpp)
    for name in a.series:
        np.testing.assert_array_equal(a.series[name], b.series[name])
