"""Corrupt archives and safety: one-line errors, files never modified, no code run, no pickles.

* Truncated, damaged, wrong-schema (schema 1 included) and non-HDF5 files, archives of
  schema 2 whose objects were damaged, and damaged or foreign parts of a stopped sweep
  (``OUT.h5.parts/``) given to ``info``, ``report`` and ``sweep --resume`` end with exit
  code 2 and one line, and every file keeps its bytes.
* Configs are data: Python code in a config value is refused or stored as text, never run.
* Archives hold no pickles: every dataset and attribute is numeric or a string.
* The web view binds 127.0.0.1 unless told otherwise.
* Outputs are never overwritten silently.
"""

from __future__ import annotations

import inspect
import os
import random
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.conftest import CONFIGS, ROOT, run_geroconvert, scratch_files
from tests.reliability.test_reliability_fuzz import call

HT = CONFIGS / "ht_p21.toml"
TINY = [
    "--set",
    "simulation.width=8",
    "--set",
    "simulation.height=8",
    "--set",
    "simulation.hours=24",
    "--set",
    "assays.rpp_times_h=[0, 24]",
    "--set",
    "assays.max_cells=10",
    "--set",
    "simulation.snapshot_every_h=12",
]
PICKLE_HEADERS = (b"\x80\x04\x95", b"\x80\x05\x95")  # protocol 4 and 5 frames
SWEEP_TEXT = f"""extends = "{(CONFIGS / "rapamycin_dose_sweep.toml").as_posix()}"
[simulation]
width = 8
height = 8
hours = 24.0
[assays]
rpp_times_h = [0.0, 24.0]
max_cells = 10
[sweep]
replicates = 1
[sweep.grid]
"environment.rapamycin_nM" = [0.0, 10.0]
"""


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """A valid single-run archive and a valid sweep archive, made once."""
    folder = tmp_path_factory.mktemp("archives")
    run = folder / "run.h5"
    assert call("run", HT, "-o", run, "-q", *TINY)[0] == 0
    config = folder / "sweep.toml"
    config.write_text(SWEEP_TEXT)
    sweep = folder / "sweep.h5"
    code, out, err = call("sweep", config, "-o", sweep, "--workers", "1", "-q")
    assert code == 0, err
    return {"run": run, "sweep": sweep, "sweep_config": config}


# ---------------------------------------------------------------------------------------
# corrupt files


def _flip_object_headers(data: bytes) -> bytes:
    """Break the checksum of every version-2 object header (the archive's groups)."""
    out = bytearray(data)
    headers = list(re.finditer(rb"OHDR", data))
    assert headers, "no version-2 object header to break"
    for match in headers:
        out[match.start() + 6] ^= 0xFF
    return bytes(out)


def _edited(path: Path, good: Path, edit) -> None:
    """A copy of a good archive with one schema-2 object changed by ``edit(f)``."""
    path.write_bytes(good.read_bytes())
    with h5py.File(path, "a") as f:
        edit(f)


def _replace(f, name: str, data, **options) -> None:
    group, _, leaf = name.rpartition("/")
    del f[name]
    f[group].create_dataset(leaf, data=data, **options)


TEXT = h5py.string_dtype("utf-8")
SCHEMA1_SWEEP = ROOT / "tests" / "data" / "schema1_sweep.h5"  # written by geroconvert 0.1
# schema-2 objects damaged one at a time: kind -> (edit, words of the one-line error)
DAMAGED_OBJECTS = {
    "runs-column-missing": (lambda f: f.__delitem__("runs/seed"), "/runs/seed is missing"),
    "runs-key-twice": (
        lambda f: _replace(f, "runs/run", np.array(["g000_r00"] * len(f["runs/run"]), dtype=object), dtype=TEXT),
        "twice",
    ),
    "runs-key-not-utf8": (
        lambda f: _replace(f, "runs/run", np.array([b"g\xff\xfe", *f["runs/run"][1:]], dtype=object), dtype=TEXT),
        "not UTF-8",
    ),
    "summary-other-runs": (
        lambda f: _replace(f, "summary/run", np.array(["x", "y"][: len(f["summary/run"])], dtype=object), dtype=TEXT),
        "/summary/run",
    ),
    "timeseries-wrong-shape": (
        lambda f: _replace(f, "timeseries/n_cells", np.zeros(3)),
        "/timeseries/n_cells",
    ),
    "rpp-not-a-fraction": (
        lambda f: _replace(f, "rpp/rpp", np.full(f["rpp/rpp"].shape, 7.0)),
        "outside 0..1",
    ),
    "config-edited": (
        lambda f: _replace(f, "config/toml", "[simulation]\nwidth = 9\n", dtype=TEXT),
        "does not match",
    ),
    "sessions-missing": (lambda f: f.__delitem__("sessions"), "/sessions is missing"),
}


def _h5(path: Path, build) -> None:
    with h5py.File(path, "w") as f:
        build(f)


def make_corrupt(kind: str, folder: Path, archives: dict) -> Path:
    path = folder / f"{kind}.h5"
    good = archives["sweep"].read_bytes()
    rng = random.Random(kind)
    if kind == "truncated-half":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "truncated-2000":
        path.write_bytes(good[:2000])
    elif kind == "truncated-last-byte":
        path.write_bytes(good[:-1])
    elif kind == "truncated-superblock":
        path.write_bytes(good[:40])
    elif kind == "checksums-broken":
        path.write_bytes(_flip_object_headers(good))
    elif kind == "no-schema-version":
        _h5(path, lambda f: (f.create_group("runs"), f.create_group("config")))
    elif kind == "schema-99":

        def build(f):
            f.attrs["schema_version"] = np.int64(99)
            f.create_group("runs")

        _h5(path, build)
    elif kind == "schema-but-no-runs":
        _h5(path, lambda f: f.attrs.__setitem__("schema_version", np.int64(1)))
    elif kind == "other-hdf5":
        _h5(path, lambda f: f.create_dataset("data", data=np.arange(10)))
    elif kind == "random-bytes":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    elif kind == "hdf5-signature-then-garbage":
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(4096)))
    elif kind == "text":
        path.write_text("this is not an archive\n[simulation]\nwidth = 3\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "schema-1":
        path.write_bytes(SCHEMA1_SWEEP.read_bytes())
    elif kind in DAMAGED_OBJECTS:
        _edited(path, archives["sweep"], DAMAGED_OBJECTS[kind][0])
    else:  # pragma: no cover
        raise ValueError(kind)
    return path


KINDS = [
    "truncated-half",
    "truncated-2000",
    "truncated-last-byte",
    "truncated-superblock",
    "checksums-broken",
    "no-schema-version",
    "schema-99",
    "schema-but-no-runs",
    "other-hdf5",
    "random-bytes",
    "hdf5-signature-then-garbage",
    "text",
    "empty",
    "schema-1",
    *DAMAGED_OBJECTS,
]


def _commands(path: Path, folder: Path, archives: dict) -> dict[str, list]:
    return {
        "info": ["info", path],
        "info --config": ["info", "--config", path],
        "report": ["report", path, "-o", folder / "report"],
        "sweep --resume": ["sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q"],
    }


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_archives_give_one_line_and_stay_untouched(tmp_path, archives, kind):
    path = make_corrupt(kind, tmp_path, archives)
    before = path.read_bytes()
    for name, argv in _commands(path, tmp_path, archives).items():
        code, out, err = call(*argv)
        assert code == 2, f"{kind} / {name}: exit {code}\n{err}"
        assert err.count("\n") == 1 and err.startswith("geroconvert: error: "), f"{kind} / {name}: {err!r}"
        assert "Traceback" not in err
        assert path.read_bytes() == before, f"{kind} / {name} modified the file"
        assert not Path(f"{path}.partial").exists() and not Path(f"{path}.parts").exists()
    assert not (tmp_path / "report").exists() or not any((tmp_path / "report").iterdir())


@pytest.mark.parametrize(
    "kind", ["truncated-half", "schema-99", "random-bytes", "empty", "checksums-broken", "schema-1", "runs-key-twice"]
)
def test_corrupt_archives_through_the_real_command(tmp_path, archives, kind):
    path = make_corrupt(kind, tmp_path, archives)
    before = path.read_bytes()
    for name, argv in _commands(path, tmp_path, archives).items():
        done = run_geroconvert(*argv)
        assert done.returncode == 2, f"{kind} / {name}: {done.stderr}"
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("geroconvert: error: "), done.stderr
        assert path.read_bytes() == before


def test_error_messages_say_what_is_wrong(tmp_path, archives):
    expected = {
        "truncated-half": "truncated",
        "schema-99": "newer",
        "no-schema-version": "not a geroconvert archive",
        "random-bytes": "not an HDF5 file",
        "empty": "not an HDF5 file",
        "text": "not an HDF5 file",
        "checksums-broken": "corrupt",
        "schema-1": "convert it with `geroconvert upgrade OLD.h5 NEW.h5`",
        **{kind: words for kind, (_, words) in DAMAGED_OBJECTS.items()},
    }
    for kind, words in expected.items():
        path = make_corrupt(kind, tmp_path, archives)
        code, out, err = call("info", path)
        assert code == 2 and words in err and str(path) in err, (kind, err)


def _stopped_sweep(folder: Path, archives: dict) -> Path:
    """A stopped sweep: OUT.h5 and one part holding its runs (a valid part of the same config)."""
    out = folder / "stopped.h5"
    out.write_bytes(archives["sweep"].read_bytes())
    (folder / "stopped.h5.parts").mkdir()
    (folder / "stopped.h5.parts" / "part-000001.h5").write_bytes(archives["sweep"].read_bytes())
    return out


# a part of a stopped sweep, damaged or foreign: kind -> (its bytes, words of the one-line error)
BAD_PARTS = {
    "truncated": (lambda a: a["sweep"].read_bytes()[:3000], "truncated"),
    "garbage": (lambda a: b"not a part at all\n" * 100, "not an HDF5 file"),
    "another-config": (lambda a: a["run"].read_bytes(), "another config"),
    "schema-1": (lambda a: SCHEMA1_SWEEP.read_bytes(), "geroconvert upgrade"),
}


@pytest.mark.parametrize("kind", list(BAD_PARTS))
def test_a_damaged_or_foreign_part_gives_one_line_and_stays_untouched(tmp_path, archives, kind):
    """OUT.h5 is good, one of its parts is not: every reader refuses the archive in one line
    naming the part, and nothing is changed (not even by --resume, which would merge)."""
    out = _stopped_sweep(tmp_path, archives)
    content, words = BAD_PARTS[kind]
    bad = tmp_path / "stopped.h5.parts" / "part-000002.h5"
    bad.write_bytes(content(archives))
    before = {path: path.read_bytes() for path in (out, *(tmp_path / "stopped.h5.parts").iterdir())}
    for name, argv in _commands(out, tmp_path, archives).items():
        code, stdout, err = call(*argv)
        assert code == 2, f"{kind} / {name}: exit {code}\n{err}"
        assert err.count("\n") == 1 and err.startswith("geroconvert: error: "), f"{kind} / {name}: {err!r}"
        assert str(bad) in err and words in err, f"{kind} / {name}: {err!r}"
        assert {path: path.read_bytes() for path in before} == before, f"{kind} / {name} changed a file"
        assert sorted((tmp_path / "stopped.h5.parts").iterdir()) == sorted(p for p in before if p != out)
        assert not scratch_files(out)
    assert not (tmp_path / "report").exists() or not any((tmp_path / "report").iterdir())


def test_a_good_stopped_sweep_reads_as_one_archive(tmp_path, archives):
    """The counterpart: OUT.h5 and a part holding the same runs (a merge stopped before it
    removed its parts) read as one archive, each run once; --resume merges them into one file."""
    out = _stopped_sweep(tmp_path, archives)
    code, stdout, err = call("info", out)
    assert code == 0, err
    assert "runs (2)" in stdout and "parts     1 in" in stdout
    code, stdout, err = call("sweep", archives["sweep_config"], "-o", out, "--resume", "--workers", "1", "-q")
    assert code == 0, err
    assert not Path(f"{out}.parts").exists() and not scratch_files(out)
    code, stdout, err = call("info", out)
    assert code == 0 and "runs (2)" in stdout and "parts " not in stdout, stdout + err


def test_resume_refuses_an_archive_of_another_config_without_touching_it(tmp_path, archives):
    """A valid archive, but of another config (the single run): refused read-only."""
    path = tmp_path / "other.h5"
    path.write_bytes(archives["run"].read_bytes())
    before = path.read_bytes()
    code, out, err = call("sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q")
    assert code == 2 and "differs" in err and err.count("\n") == 1
    assert path.read_bytes() == before


def test_resume_while_the_archive_is_open_for_reading(tmp_path, archives):
    """--resume only reads the archive before its first commit, so a reader holding it open is no obstacle."""
    path = tmp_path / "sweep.h5"
    path.write_bytes(archives["sweep"].read_bytes())
    with h5py.File(path, "r"):
        code, out, err = call("sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q")
    assert code == 0, err


def test_a_missing_or_directory_archive_is_one_line(tmp_path, archives):
    for argv in (
        ["info", tmp_path / "missing.h5"],
        ["info", tmp_path],
        ["report", tmp_path / "missing.h5", "-o", tmp_path / "r"],
        ["sweep", archives["sweep_config"], "-o", tmp_path / "missing.h5", "--resume"],
    ):
        code, out, err = call(*argv)
        assert code == 2 and err.count("\n") == 1, (argv, err)


# ---------------------------------------------------------------------------------------
# safety


CODE = "__import__('os').system('touch {marker}')"


def test_configs_are_data_code_in_values_is_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    code_text = CODE.format(marker=marker)
    escaped = code_text.replace("\\", "\\\\").replace('"', '\\"')
    cases = {
        "paramset": f'[cells]\nparamset = "{escaped}"\n',
        "extends": f'extends = "{escaped}"\n',
        "number": f'[environment]\nrapamycin_nM = "{escaped}"\n',
        "geometry": f'[simulation]\ngeometry = "{escaped}"\n',
        "key": f'[simulation]\n"{escaped}" = 1\n',
        "section": f'["{escaped}"]\nx = 1\n',
        "schedule": f'[[schedule]]\ntime_h = 1.0\ninducer = "{escaped}"\n',
        "sweep-grid": f'[sweep.grid]\n"cells.paramset" = ["{escaped}"]\n',
        "sweep-path": f'[sweep.grid]\n"{escaped}" = [1]\n',
    }
    for name, text in cases.items():
        config = tmp_path / f"{name}.toml"
        config.write_text(text)
        for command in (
            ["check", config],
            ["run", config, "-o", tmp_path / f"{name}.h5", "-q", *TINY],
            ["sweep", config, "-o", tmp_path / f"{name}-sweep.h5", "--workers", "1", "-q", *TINY],
        ):
            code, out, err = call(*command)
            if name.startswith("sweep") and command[0] == "run":  # `run` ignores [sweep], keeps it as text
                assert code == 0, err
                with h5py.File(command[3], "r") as f:
                    assert code_text in f["config/toml"].asstr()[()]
                continue
            assert code == 2, (name, command[0], err)
            assert err.count("\n") == 1
        assert not marker.exists(), name
    # --set values are TOML or plain strings, never evaluated
    code, out, err = call("check", HT, "--set", f"cells.paramset={code_text}")
    assert code == 2 and "unknown parameter set" in err
    assert not marker.exists()


def test_code_in_a_sweep_section_is_stored_as_text_by_run(tmp_path, monkeypatch):
    """`run` ignores [sweep] but keeps it in the archive's config: as text, never executed."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    code_text = CODE.format(marker=marker)
    config = tmp_path / "c.toml"
    config.write_text(f'[sweep]\nnote = "{code_text}"\n')
    out = tmp_path / "c.h5"
    code, stdout, err = call("run", config, "-o", out, "-q", *TINY)
    assert code == 0, err
    with h5py.File(out, "r") as f:
        assert code_text in f["config/toml"].asstr()[()]
    assert not marker.exists()


def _dtype_ok(dtype) -> bool:
    """Numbers, strings and HDF5 object references (dimension scales), nothing opaque or pickled."""
    if h5py.check_string_dtype(dtype) is not None or h5py.check_ref_dtype(dtype) is not None:
        return True
    vlen = h5py.check_vlen_dtype(dtype)
    if vlen is not None:
        return _dtype_ok(np.dtype(vlen))
    if dtype.names:
        return all(_dtype_ok(dtype.fields[name][0]) for name in dtype.names)
    return dtype.kind in "biufS"


def assert_no_pickles(path: Path) -> None:
    problems = []
    with h5py.File(path, "r") as f:

        def check_attrs(name, obj):
            for key in obj.attrs:
                dtype = obj.attrs.get_id(key).dtype
                if not _dtype_ok(dtype):
                    problems.append(f"{name}@{key}: {dtype}")

        def visit(name, obj):
            check_attrs(name, obj)
            if isinstance(obj, h5py.Dataset) and not _dtype_ok(obj.dtype):
                problems.append(f"{name}: {obj.dtype}")

        check_attrs("/", f)
        f.visititems(visit)
    raw = path.read_bytes()
    problems += [f"pickle header {header!r}" for header in PICKLE_HEADERS if header in raw]
    problems += [
        f"pickled class {name!r}"
        for name in (b"numpy.core.multiarray", b"numpy._core.multiarray", b"copy_reg\n")
        if name in raw
    ]
    assert not problems, f"{path}: {problems}"


def test_archives_hold_no_pickles(archives):
    for path in (archives["run"], archives["sweep"]):
        assert_no_pickles(path)


def test_the_pickle_scan_finds_a_pickle(tmp_path):
    """The scan above can fail: an archive with a pickled object attribute is caught."""
    import pickle

    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.attrs["payload"] = np.void(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(AssertionError, match="pickle|V"):
        assert_no_pickles(path)


def test_the_web_view_binds_loopback_by_default():
    from geroconvert.interfaces.cli.main import build_parser

    args = build_parser().parse_args(["demo"])
    assert args.host == "127.0.0.1"
    help_text = run_geroconvert("demo", "--help").stdout
    assert "default: 127.0.0.1, this machine only" in help_text
    try:
        from geroconvert.interfaces import webview
    except ImportError:  # pragma: no cover - the web extra is optional
        return
    assert inspect.signature(webview.serve).parameters["host"].default == "127.0.0.1"


def test_outputs_are_never_overwritten_silently(tmp_path, archives):
    precious = tmp_path / "precious.h5"
    precious.write_bytes(archives["run"].read_bytes())
    before = precious.read_bytes()
    commands = {
        "run": ["run", HT, "-o", precious, "-q", *TINY],
        "sweep": ["sweep", archives["sweep_config"], "-o", precious, "--workers", "1", "-q"],
    }
    for name, argv in commands.items():
        code, out, err = call(*argv)
        assert code == 2 and "already exists" in err and err.count("\n") == 1, (name, err)
        assert precious.read_bytes() == before, name
    # nor are the parts of a stopped sweep, by a new sweep or a run of that name
    stopped = _stopped_sweep(tmp_path, archives)
    kept = {path: path.read_bytes() for path in (stopped, *Path(f"{stopped}.parts").iterdir())}
    for name, argv in {
        "sweep": ["sweep", archives["sweep_config"], "-o", stopped, "--workers", "1", "-q"],
        "run": ["run", HT, "-o", stopped, "-q", *TINY],
    }.items():
        code, out, err = call(*argv)
        assert code == 2 and err.count("\n") == 1, (name, err)
        assert "already exists" in err or "--resume" in err, (name, err)
        assert {path: path.read_bytes() for path in kept} == kept, name
    Path(stopped).unlink()  # the parts alone (OUT.h5 moved away): still refused, naming them
    code, out, err = call("sweep", archives["sweep_config"], "-o", stopped, "--workers", "1", "-q")
    assert code == 2 and f"{stopped}.parts" in err and "--resume" in err and err.count("\n") == 1, err
    code, out, err = call("run", HT, "-o", stopped, "-q", *TINY)
    assert code == 2 and f"{stopped}.parts" in err and err.count("\n") == 1, err
    assert all(path.read_bytes() == data for path, data in kept.items() if path != stopped)
    # with --overwrite the new archive replaces OUT.h5 and its parts
    code, out, err = call("run", HT, "-o", stopped, "-q", "--overwrite", *TINY)
    assert code == 0 and stopped.exists() and not Path(f"{stopped}.parts").exists(), err
    # a leftover OUT.h5.partial is not overwritten silently either
    fresh = tmp_path / "fresh.h5"
    Path(f"{fresh}.partial").write_bytes(b"left by a crash")
    code, out, err = call("run", HT, "-o", fresh, "-q", *TINY)
    assert code == 2 and ".partial" in err and not fresh.exists()
    assert Path(f"{fresh}.partial").read_bytes() == b"left by a crash"
    # with --overwrite it is replaced, atomically
    code, out, err = call("run", HT, "-o", precious, "-q", "--overwrite", *TINY)
    assert code == 0 and precious.read_bytes() != before and not Path(f"{precious}.partial").exists()
    # and through the real command
    done = run_geroconvert("run", HT, "-o", precious, "-q", *TINY)
    assert done.returncode == 2 and "already exists" in done.stderr


def test_nothing_is_written_outside_the_output(tmp_path, monkeypatch):
    """A run writes exactly its archive: no stray files next to it or in the working folder."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out" / "run.h5"
    code, stdout, err = call("run", HT, "-o", out, "-q", *TINY)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out", "run.h5"]
    assert os.access(out, os.R_OK)
