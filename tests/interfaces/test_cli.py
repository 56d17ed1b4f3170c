"""End to end through the real command: ``python -m geroconvert run | info | validate``."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from geroconvert.config import config_from_mapping, load_config
from geroconvert.core.engine import Simulation
from tests.conftest import CONFIGS, run_geroconvert

# A small HT-p21 run (~1 s): 20x20 dish, 3 days, RPP daily on 40 replated cells, two snapshots.
SMALL = [
    "simulation.width=20",
    "simulation.height=20",
    "simulation.hours=72",
    "assays.max_cells=40",
    "assays.replate_hours=96",
    "simulation.snapshot_every_h=36",
]
SEED = 11


def set_args(overrides):
    return [arg for item in overrides for arg in ("--set", item)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ht_p21.h5"
    done = run_geroconvert("run", CONFIGS / "ht_p21.toml", "-o", out, "--seed", SEED, "--threads", 1, *set_args(SMALL))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return out, done


@pytest.fixture(scope="module")
def in_memory():
    """The same run in this process (default thread count)."""
    params = load_config(CONFIGS / "ht_p21.toml", [*SMALL, f"simulation.seed={SEED}"]).params
    return Simulation(params).run()


def test_run_prints_a_summary(archive):
    out, done = archive
    assert f"wrote {out}" in done.stdout
    assert "t50_h" in done.stdout and "rpp_final" in done.stdout
    assert not out.with_name(out.name + ".partial").exists()


def test_archive_matches_an_in_memory_run_bit_for_bit(archive, in_memory):
    out, _ = archive
    with h5py.File(out, "r") as f:  # plain h5py, no geroconvert reader
        run = f["runs/run0"]
        assert run.attrs["status"] == "complete"
        assert run.attrs["seed"] == SEED
        overrides = json.loads(run.attrs["overrides"])
        assert overrides["simulation.seed"] == SEED and overrides["simulation.width"] == 20
        series = run["timeseries"]
        assert set(series) == set(in_memory.timeseries)
        for name, values in in_memory.timeseries.items():
            stored = series[name][()]
            assert stored.dtype == values.dtype, name
            assert np.array_equal(stored, values, equal_nan=True), name  # NaN: documented (half-life)
            assert series[name].attrs["units"] == in_memory.units[name]
            if name != "time_h":
                assert series[name].dims[0][0].name.endswith("/time_h")
        rpp = run["assays/rpp"]
        for name, values in in_memory.rpp.items():
            assert np.array_equal(rpp[name][()], values, equal_nan=values.dtype.kind == "f"), name
        assert rpp["time_h"][()].tolist() == [0.0, 24.0, 48.0, 72.0]
        for name, value in in_memory.summary.items():
            if name != "wall_s":
                np.testing.assert_equal(run["summary"].attrs[name], value)
        assert {k: int(v) for k, v in run["events"].attrs.items()} == in_memory.events
        snaps = run["snapshots"]
        assert sorted(float(snaps[g].attrs["time_h"]) for g in snaps) == sorted(in_memory.snapshots)
        for group in snaps.values():
            for name, values in in_memory.snapshots[float(group.attrs["time_h"])].items():
                assert np.array_equal(group[name][()], values)
                assert group[name].compression == "gzip"
        summary = f["summary"]
        assert summary["run_key"].asstr()[()].tolist() == ["run0"]
        np.testing.assert_equal(summary["t50_h"][0], in_memory.summary["t50_h"])


def test_archive_provenance_and_config(archive):
    out, _ = archive
    with h5py.File(out, "r") as f:
        attrs = dict(f.attrs)
        assert attrs["schema_version"] == 1
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
            assert name in attrs, name
        assert attrs["package_version"] == __import__("geroconvert").__version__
        assert attrs["created_utc"].endswith("+00:00")
        assert attrs["command"].startswith("geroconvert run ")
        text = f["config/toml"].asstr()[()]
        import hashlib
        import tomllib

        assert f["config"].attrs["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    # the stored config alone reproduces the run's parameters
    expected = load_config(CONFIGS / "ht_p21.toml", [*SMALL, f"simulation.seed={SEED}"]).params
    assert config_from_mapping(tomllib.loads(text)) == expected


def test_info_shows_runs_and_summary(archive, in_memory):
    out, _ = archive
    done = run_geroconvert("info", out)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "run0" in text and "complete" in text and "schema 1" in text
    assert f"{in_memory.summary['t50_h']:.4g}" in text
    assert "t50_h" in text and "final_n_cells" in text
    assert f"{in_memory.summary['final_n_cells']:.0f}" in text
    config = run_geroconvert("info", out, "--config")
    assert "[simulation]" in config.stdout and "width = 20" in config.stdout


def test_existing_output_needs_overwrite(archive, tmp_path):
    out = tmp_path / "o.h5"
    out.write_bytes(b"keep me")
    small = set_args(SMALL + ["simulation.hours=2", "assays.rpp_times_h=[]"])
    refused = run_geroconvert("run", CONFIGS / "ht_p21.toml", "-o", out, *small)
    assert refused.returncode == 2 and out.read_bytes() == b"keep me"
    replaced = run_geroconvert("run", CONFIGS / "ht_p21.toml", "-o", out, "--overwrite", "-q", *small)
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout == ""  # --quiet
    assert h5py.is_hdf5(out) and not out.with_name("o.h5.partial").exists()


@pytest.mark.parametrize("config", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_runs_small(config, tmp_path):
    out = tmp_path / "sub" / "run.h5"  # the directory is created
    small = [
        "simulation.width=16",
        "simulation.height=16",
        "simulation.hours=48",
        "assays.max_cells=16",
        "assays.replate_hours=72",
    ]
    done = run_geroconvert("run", config, "-o", out, "-q", *set_args(small))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with h5py.File(out, "r") as f:
        assert f["runs/run0"].attrs["status"] == "complete"
        assert f["runs/run0/timeseries/time_h"][-1] == 48.0
        assert len(f["summary/run_key"]) == 1


def test_validate_and_reference():
    done = run_geroconvert("check", CONFIGS / "ht_p21.toml", "--set", "environment.rapamycin_nM=500")
    assert done.returncode == 0 and "valid" in done.stdout
    printed = run_geroconvert("check", CONFIGS / "ht_p21.toml", "--print")
    assert "rpp_times_h = [0.0, 24.0" in printed.stdout
    reference = run_geroconvert("reference")
    assert reference.returncode == 0 and "`rapamycin_nM`" in reference.stdout


def test_help_and_version():
    assert run_geroconvert("--help").returncode == 0
    version = run_geroconvert("--version")
    assert version.returncode == 0 and version.stdout.startswith("geroconvert ")


def test_main_returns_exit_codes(tmp_path, capsys):
    from geroconvert.interfaces.cli import main

    assert main(["check", str(CONFIGS / "ht_p21.toml")]) == 0
    assert main(["check", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err.startswith("geroconvert: error:")


def test_cli_imports_lazily():
    """Start-up: the command module pulls in no engine, archive or plotting libraries."""
    code = (
        "import sys, geroconvert.interfaces.cli; "
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'numba', 'h5py', 'pydantic', 'numpy', 'matplotlib', 'scipy', 'dask', 'mesa', 'tqdm'})))"
    )
    heavy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert heavy == ""
    code = (
        "import sys; from geroconvert.interfaces.cli import main; "
        f"main(['check', {str(CONFIGS / 'ht_p21.toml')!r}]); "
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'numba', 'h5py', 'matplotlib', 'scipy', 'dask', 'mesa'})), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == ""  # validating a config needs no engine


def test_run_imports_no_plotting_or_cluster_libraries(tmp_path):
    # (numba itself imports scipy when it is installed, so scipy is not checked here)
    code = (
        "import sys; from geroconvert.interfaces.cli import main; "
        f"rc = main(['run', {str(CONFIGS / 'ht_p21.toml')!r}, '-o', {str(tmp_path / 'x.h5')!r}, '-q', "
        "'--set', 'simulation.width=8', '--set', 'simulation.hours=2', '--set', 'assays.rpp_times_h=[]']); "
        "print(rc, ','.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'matplotlib', 'dask', 'distributed', 'mesa', 'pandas', 'solara'})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "0", done.stdout + done.stderr


def test_reference_update_rewrites_between_markers(tmp_path):
    from geroconvert.interfaces.cli.commands_run import REFERENCE_END, REFERENCE_START

    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{REFERENCE_START}\nstale\n{REFERENCE_END}\noutro\n")
    done = run_geroconvert("reference", "--update", doc)
    assert done.returncode == 0, done.stderr
    text = doc.read_text()
    assert "stale" not in text and "`dt_h`" in text and text.startswith("intro\n") and text.endswith("outro\n")
    bad = tmp_path / "nomarkers.md"
    bad.write_text("nothing\n")
    assert run_geroconvert("reference", "--update", bad).returncode == 2 and bad.read_text() == "nothing\n"
