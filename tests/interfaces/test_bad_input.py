"""Bad input of every kind: one line ``geroconvert: error: ...`` naming the field, exit 2, nothing lost."""

from __future__ import annotations

import pytest

from tests.conftest import CONFIGS, run_geroconvert

HT = str(CONFIGS / "ht_p21.toml")
PRECIOUS = b"an earlier result that must survive\n"


def _archive_like(path):
    import h5py

    with h5py.File(path, "w") as f:
        f["data"] = [1, 2, 3]


def _truncated_archive(path):
    import numpy as np

    from geroconvert.archive.hdf5 import ArchiveWriter
    from geroconvert.core.recorder import Results

    full = path.with_name("full.h5")
    with ArchiveWriter(full, "x = 1\n") as archive:
        archive.add_run("run0", Results({"time_h": np.arange(100.0)}, {"time_h": "h"}, {}, {"t50_h": 1.0}), seed=0)
    path.write_bytes(full.read_bytes()[:2000])


# id, files to create ({name: text | bytes | callable(path)}), command, text the error must contain
CASES = [
    (
        "malformed-toml",
        {"c.toml": "[simulation\nwidth = 3\n"},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "invalid TOML",
    ),
    (
        "duplicate-table",
        {"c.toml": "[environment]\n[environment]\n"},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "invalid TOML",
    ),
    (
        "unknown-section",
        {"c.toml": "[simulaton]\nwidth = 3\n"},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "simulaton: unknown section; did you mean 'simulation'?",
    ),
    (
        "unknown-key",
        {"c.toml": "[simulation]\nwidht = 3\n"},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "simulation.widht: unknown key; did you mean 'width'?",
    ),
    (
        "unknown-key-set",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "environment.rapamycn_nM=5"],
        "environment.rapamycn_nM: unknown key; did you mean 'rapamycin_nM'?",
    ),
    (
        "unknown-section-set",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "widht=5"],
        "did you mean 'simulation.width'?",
    ),
    (
        "wrong-type-string",
        {"c.toml": '[simulation]\nwidth = "sixteen"\n'},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "simulation.width: must be a whole number",
    ),
    (
        "wrong-type-bool",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "environment.inducer=true"],
        "environment.inducer: must be a number",
    ),
    (
        "negative-dose",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "environment.rapamycin_nM=-5"],
        "environment.rapamycin_nM: must be >= 0 (got -5); set a dose of 0 or more",
    ),
    (
        "dt-zero",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "simulation.dt_h=0"],
        "simulation.dt_h: must be > 0",
    ),
    (
        "dt-negative",
        {"c.toml": "[simulation]\ndt_h = -1.0\n"},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "simulation.dt_h: must be > 0",
    ),
    (
        "dt-nan",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "simulation.dt_h=nan"],
        "simulation.dt_h: must be a finite number",
    ),
    (
        "oxygen-above-one",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "environment.oxygen=1.5"],
        "environment.oxygen: must be <= 1",
    ),
    (
        "lattice-too-large",
        {},
        [
            "run",
            HT,
            "-o",
            "{out}",
            "--overwrite",
            "--set",
            "simulation.width=100000",
            "--set",
            "simulation.height=100000",
        ],
        "simulation: width*depth*height",
    ),
    (
        "too-many-records",
        {},
        [
            "run",
            HT,
            "-o",
            "{out}",
            "--overwrite",
            "--set",
            "simulation.hours=2000000",
            "--set",
            "simulation.dt_h=0.01",
            "--set",
            "simulation.record_every_h=0.01",
        ],
        "simulation.record_every_h",
    ),
    (
        "snapshots-too-large",
        {},
        [
            "run",
            HT,
            "-o",
            "{out}",
            "--overwrite",
            "--set",
            "simulation.width=4000",
            "--set",
            "simulation.height=4000",
            "--set",
            "simulation.snapshot_every_h=1",
        ],
        "simulation.snapshot_every_h",
    ),
    (
        "thickness-vs-height",
        {"c.toml": '[simulation]\ngeometry = "epidermis"\nheight = 3\ninitial_thickness_rows = 3\n'},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "initial_thickness_rows",
    ),
    (
        "cells-out-of-range",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "cells.w_gero=1.5"],
        "cells.w_gero: must be <= 1",
    ),
    (
        "cells-inconsistent",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "cells.progenitor_divisions_min=9"],
        "progenitor_divisions_min",
    ),
    (
        "unknown-paramset",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "cells.paramset=ht_p22"],
        "cells.paramset: unknown parameter set 'ht_p22'; did you mean 'ht_p21'?",
    ),
    (
        "bad-geometry",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "simulation.geometry=petri"],
        "simulation.geometry: must be 'dish' or 'epidermis'",
    ),
    (
        "schedule-without-time",
        {"c.toml": "[[schedule]]\ninducer = 0\n"},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "schedule[0].time_h: is required",
    ),
    (
        "schedule-unknown-key",
        {"c.toml": "[[schedule]]\ntime_h = 1\ninducr = 0\n"},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "schedule[0].inducr: unknown key; did you mean 'inducer'?",
    ),
    (
        "schedule-out-of-range",
        {"c.toml": "[[schedule]]\ntime_h = 1\ninducer = 2\n"},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "schedule[0].inducer: must be <= 1",
    ),
    (
        "negative-rpp-time",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "assays.rpp_times_h=[0, -24]"],
        "assays.rpp_times_h[1]: must be >= 0",
    ),
    (
        "circular-extends",
        {"a.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "a.toml"\n'},
        ["run", "{a.toml}", "-o", "{out}", "--overwrite"],
        "extends: circular chain a.toml -> b.toml -> a.toml",
    ),
    (
        "missing-extends",
        {"c.toml": 'extends = "nowhere.toml"\n'},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "extends: file 'nowhere.toml' not found",
    ),
    (
        "missing-config",
        {},
        ["run", "{tmp}/nope.toml", "-o", "{out}", "--overwrite"],
        "nope.toml: config file not found",
    ),
    ("config-is-directory", {}, ["run", "{tmp}", "-o", "{out}", "--overwrite"], "is a directory"),
    (
        "config-not-utf8",
        {"c.toml": b"\xff\xfe\x00["},
        ["run", "{c.toml}", "-o", "{out}", "--overwrite"],
        "not a UTF-8 text file",
    ),
    (
        "bad-set-syntax",
        {},
        ["run", HT, "-o", "{out}", "--overwrite", "--set", "environment.rapamycin_nM"],
        "--set 'environment.rapamycin_nM': expected section.key=value",
    ),
    ("existing-output", {}, ["run", HT, "-o", "{out}"], "already exists; pass --overwrite"),
    ("output-is-directory", {}, ["run", HT, "-o", "{tmp}"], "is a directory"),
    ("threads-zero", {}, ["run", HT, "-o", "{out}", "--overwrite", "--threads", "0"], "--threads: must be 1 or more"),
    ("seed-negative", {}, ["run", HT, "-o", "{out}", "--overwrite", "--seed", "-1"], "--seed"),
    ("missing-output-option", {}, ["run", HT], "-o/--output"),
    ("unknown-command", {}, ["simulate", HT], "invalid choice: 'simulate'"),
    ("info-missing", {}, ["info", "{tmp}/nope.h5"], "nope.h5: no such file"),
    ("info-not-hdf5", {"fake.h5": "[simulation]\n"}, ["info", "{fake.h5}"], "not an HDF5 file"),
    ("info-other-hdf5", {"other.h5": _archive_like}, ["info", "{other.h5}"], "not a geroconvert archive"),
    ("info-truncated", {"cut.h5": _truncated_archive}, ["info", "{cut.h5}"], "corrupt or truncated"),
]


@pytest.mark.parametrize("files, command, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(tmp_path, files, command, expected):
    paths = {"tmp": str(tmp_path), "out": str(tmp_path / "out.h5")}
    for name, content in files.items():
        path = tmp_path / name
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths[name] = str(path)
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    (tmp_path / "out.h5").write_bytes(PRECIOUS)  # a pre-existing output
    before[tmp_path / "out.h5"] = PRECIOUS

    args = []
    for part in command:
        for name, value in paths.items():
            part = part.replace("{" + name + "}", value)
        args.append(part)
    done = run_geroconvert(*args)

    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("geroconvert: error: ")
    assert expected in lines[0], lines[0]
    after = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing lost, no .partial left behind


def test_there_are_many_distinct_cases():
    assert len({case[0] for case in CASES}) == len(CASES) >= 15
