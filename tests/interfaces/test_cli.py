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
from geroconvert.core.readouts import TIMING_KEYS
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
    with h5py.File(out, "r") as f:  # plain h5py, no geroconvert reader: one row per run
        runs = f["runs"]
        assert runs["run"].asstr()[()].tolist() == ["run0"]
        assert runs["seed"][0] == SEED
        overrides = json.loads(runs["overrides"].asstr()[0])
        assert overrides["simulation.seed"] == SEED and overrides["simulation.width"] == 20
        series = f["timeseries"]
        stored_names = set(series) - {"run", "replicate", "seed"}
        assert stored_names == set(in_memory.timeseries)
        assert series["time_h"][()].tolist() == in_memory.timeseries["time_h"].tolist()
        for name, values in in_memory.timeseries.items():
            if name == "time_h":
                continue
            stored = series[name][0]
            assert stored.dtype == values.dtype, name
            assert np.array_equal(stored, values, equal_nan=True), name  # NaN: documented (half-life)
            assert series[name].attrs["units"] == in_memory.units[name]
            assert [dim[0].name for dim in series[name].dims] == ["/timeseries/run", "/timeseries/time_h"]
        rpp = f["rpp"]
        assert rpp["time_h"][()].tolist() == [0.0, 24.0, 48.0, 72.0]
        for name, values in in_memory.rpp.items():
            stored = rpp[name][()] if name == "time_h" else rpp[name][0]
            assert stored.dtype == values.dtype, name
            assert np.array_equal(stored, values, equal_nan=values.dtype.kind == "f"), name
        summary = f["summary"]
        assert summary["run"].asstr()[()].tolist() == ["run0"]
        for name, value in in_memory.summary.items():
            if name not in TIMING_KEYS:
                np.testing.assert_equal(summary[name][0], value)
        assert {name: int(f["events"][name][0]) for name in f["events"] if name != "run"} == in_memory.events
        snaps = f["snapshots/run0"]
        assert sorted(float(snaps[g].attrs["time_h"]) for g in snaps) == sorted(in_memory.snapshots)
        for group in snaps.values():
            for name, values in in_memory.snapshots[float(group.attrs["time_h"])].items():
                assert np.array_equal(group[name][()], values)
                assert group[name].compression == "gzip"


def test_archive_provenance_and_config(archive):
    out, _ = archive
    with h5py.File(out, "r") as f:
        attrs = dict(f.attrs)
        assert attrs["schema_version"] == 2
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
    assert "run0" in text and "schema 2" in text
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
        assert f["runs/run"].asstr()[()].tolist() == ["run0"]
        assert f["timeseries/time_h"][-1] == 48.0
        assert f["timeseries/n_cells"].shape == (1, f["timeseries/time_h"].size)
        assert len(f["summary/run"]) == 1


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


# ---- one rule for every output: what exists is replaced only with --overwrite (issue 13, item 3)
def test_report_refuses_a_folder_that_is_not_empty(archive, tmp_path):
    out, _ = archive
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    refused = run_geroconvert("report", out, "-o", folder)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert str(folder) in refused.stderr and "--overwrite" in refused.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    replaced = run_geroconvert("report", out, "-o", folder, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "summary.txt").exists()


def test_report_refuses_before_reading_the_archive(tmp_path, capsys):
    from geroconvert.interfaces.cli import main

    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "summary.txt").write_text("an earlier report")
    assert main(["report", str(tmp_path / "missing.h5"), "-o", str(folder)]) == 2
    err = capsys.readouterr().err
    assert str(folder) in err and "--overwrite" in err and "missing.h5" not in err


def _no_work(*args, **kwargs):
    raise AssertionError("work started before the output was checked")


@pytest.mark.parametrize("command", [["validate", "--quick", "--only", "in-vitro"], ["calibrate", "--replicates", "1"]])
def test_json_outputs_are_refused_before_any_work(command, tmp_path, capsys, monkeypatch):
    from geroconvert.interfaces.cli import main
    from geroconvert.studies import calibration, validation

    monkeypatch.setattr(validation, "run_experiments", _no_work)
    monkeypatch.setattr(calibration, "calibrate", _no_work)
    existing = tmp_path / "cases.json"
    existing.write_text('{"keep": true}')
    assert main([*command, "--json", str(existing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(existing) in err and "--overwrite" in err
    assert existing.read_text() == '{"keep": true}'


def test_validate_and_calibrate_replace_json_with_overwrite(tmp_path, monkeypatch):
    from geroconvert.interfaces.cli import main
    from geroconvert.studies import calibration, validation

    case = validation.Case("c", "p", "s", 1.0, (0.5, 1.5), 0.0, 2.0, True)
    monkeypatch.setattr(validation, "run_experiments", lambda *a, **k: {})
    monkeypatch.setattr(validation, "evaluate", lambda data: [case])
    fit = {"fitted": {"w_gero": 0.5}, "achieved": {}, "rounds": [], "seeds": [1], "targets": {}}
    monkeypatch.setattr(calibration, "calibrate", lambda *a, **k: fit)
    out = tmp_path / "out.json"
    for command, expected in ((["validate", "--only", "in-vitro"], [case.as_json()]), (["calibrate"], fit)):
        out.write_text("old")
        assert main([*command, "--json", str(out), "--overwrite"]) == 0
        assert json.loads(out.read_text()) == expected
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no scratch file left


def test_json_is_written_atomically(tmp_path):
    from geroconvert.archive.output import write_json_file as write_json_atomic
    from geroconvert.errors import ArchiveError

    out = tmp_path / "cases.json"
    out.write_text("old")
    with pytest.raises(TypeError):  # fails half-way through: the old file stays whole
        write_json_atomic(out, [1, object()], overwrite=True)
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["cases.json"]
    with pytest.raises(ArchiveError, match="appeared while running"):  # no --overwrite: both kept
        write_json_atomic(out, [1, 2], overwrite=False)
    assert out.read_text() == "old"
    (scratch,) = [p for p in tmp_path.iterdir() if p.name != "cases.json"]
    assert json.loads(scratch.read_text()) == [1, 2]


@pytest.mark.parametrize(
    ("make", "folder", "words"),
    [
        (lambda p: p.mkdir(), False, "is a folder"),
        (lambda p: p.write_text("x"), True, "is a file, not a folder"),
    ],
)
def test_refuse_existing_never_swaps_a_file_for_a_folder(make, folder, words, tmp_path):
    from geroconvert.errors import UsageError
    from geroconvert.interfaces.cli.common import refuse_existing

    target = tmp_path / "out"
    make(target)
    with pytest.raises(UsageError, match=words):
        refuse_existing(target, True, "output", folder=folder)
    assert refuse_existing(tmp_path / "new", False, "output", folder=folder) == tmp_path / "new"
