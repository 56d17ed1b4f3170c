"""Wrong-schema archives: every reader checks what it reads (issue 13, items 10 and 13), and `geroconvert upgrade`.

A valid run archive and a valid sweep archive (schema 2: one row per run in each table)
are made once.  Each case copies one and edits it with h5py as another program or a hand
edit could (a column of the wrong type, shape, dtype, length or encoding; a table whose
runs differ from /runs; a missing or foreign object), then requires:

* ``info`` and ``report`` end with exit 0, or exit 2 and one line naming what is wrong,
  never a traceback;
* a case that ``info`` refuses is refused by ``report`` and ``sweep --resume`` with the
  same line (one check in the archive layer serves them all), and the file keeps its bytes.

``geroconvert upgrade OLD.h5 NEW.h5`` converts the archives of schema 1 in tests/data;
its tests compare every value of every run with what the old layout holds, read here
with h5py.  The corrupt-bytes cases (truncation, broken checksums, non-HDF5 files) are
in test_reliability_archives.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

from geroconvert.archive.provenance import RUN_FIELDS
from geroconvert.archive.schema import natural_key
from geroconvert.core.recorder import SERIES_UNITS
from tests.conftest import CONFIGS, ROOT, run_geroconvert
from tests.helpers import TINY_RUN
from tests.reliability.test_reliability_fuzz import assert_clean_outcome, call

SWEEP_TEXT = f"""extends = "{(CONFIGS / "rapamycin_dose_sweep.toml").as_posix()}"
[simulation]
width = 8
height = 8
hours = 4.0
[assays]
rpp_times_h = [0.0, 4.0]
max_cells = 4
[sweep]
replicates = 2
[sweep.grid]
"environment.rapamycin_nM" = [0.0, 10.0]
"""
KEYS = ["g000_r00", "g000_r01", "g001_r00", "g001_r01"]
UTF8 = h5py.string_dtype("utf-8")
NOT_UTF8 = b"\xff\xfe not UTF-8"
FIX = "the archive was not written by geroconvert or was edited"
DATA = ROOT / "tests" / "data"
SCHEMA1 = {"sweep": DATA / "schema1_sweep.h5", "run": DATA / "schema1_run.h5"}


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """A valid single-run archive (with snapshots) and a valid 4-run sweep archive (with RPP assays), made once."""
    folder = tmp_path_factory.mktemp("schema")
    run = folder / "run.h5"
    code, _, err = call("run", CONFIGS / "ht_p21.toml", "-o", run, *TINY_RUN, "--set", "simulation.snapshot_every_h=1")
    assert code == 0, err
    config = folder / "sweep.toml"
    config.write_text(SWEEP_TEXT)
    sweep = folder / "sweep.h5"
    code, _, err = call("sweep", config, "-o", sweep, "--workers", "1", "-q")
    assert code == 0, err
    with h5py.File(sweep, "r") as f:
        assert f["runs/run"].asstr()[()].tolist() == KEYS and f["rpp/time_h"].size == 2
    with h5py.File(run, "r") as f:
        assert "snapshots" in f and len(f["snapshots/run0"]) >= 2
    return {"run": run, "sweep": sweep, "sweep_config": config}


# ---------------------------------------------------------------------------------------
# the edits


def set_attr(where: str, name: str, value, dtype=None) -> Callable:
    def edit(f):
        attrs = f[where].attrs
        if name in attrs:
            del attrs[name]
        if dtype is None:
            attrs[name] = value
        else:
            attrs.create(name, value, dtype=dtype)

    return edit


def del_attr(where: str, name: str) -> Callable:
    return lambda f: f[where].attrs.__delitem__(name)


def delete(where: str) -> Callable:
    return lambda f: f.__delitem__(where)


def replace(where: str, make: Callable) -> Callable:
    """Put ``make(f, where, old data)`` where ``where`` was: a value or link to store, or None if it made the object."""

    def edit(f):
        old = f[where][()] if isinstance(f.get(where), h5py.Dataset) else None
        del f[where]
        new = make(f, where, old)
        if new is not None:
            f[where] = new

    return edit


def data(transform: Callable) -> Callable:
    return lambda f, where, old: transform(old)


def link(target) -> Callable:
    return lambda f, where, old: target


def new_group(f, where, old):
    f.create_group(where)


def compound(shape):
    return np.zeros(shape, dtype=[("a", "<f8"), ("b", "<i4")])


def strings(*values):
    return np.array(values, dtype=object)


def text_dataset(*values) -> Callable:
    """A UTF-8 text dataset: one value is a scalar string, several a 1-D column."""

    def make(f, where, old):
        f.create_dataset(where, data=values[0] if len(values) == 1 else strings(*values), dtype=UTF8)

    return make


def text_column(*values) -> Callable:
    def make(f, where, old):
        f.create_dataset(where, data=strings(*values), dtype=UTF8)

    return make


def first_text(value) -> Callable:
    """The column's text with its first value replaced (the others kept)."""

    def make(f, where, old):
        f.create_dataset(where, data=strings(value, *[v.decode() for v in old[1:]]), dtype=UTF8)

    return make


def add_dataset(where: str, values) -> Callable:
    return lambda f: f.create_dataset(where, data=values)


def one_run_lacks_a_time(group: str) -> Callable:
    """Run 0 did not record the last time of ``group`` (a `recorded` mask saying so, its values the fill)."""

    def edit(f):
        table = f[group]
        recorded = np.ones((table["run"].size, table["time_h"].size), np.uint8)
        recorded[0, -1] = 0
        table.create_dataset("recorded", data=recorded)
        for name in ("n_cells", "rpp"):
            if name in table:
                values = table[name][()]
                values[0, -1] = np.nan
                table[name][...] = values
        for name in ("n_replated", "n_colonies"):
            if name in table:
                values = table[name][()]
                values[0, -1] = -1
                table[name][...] = values

    return edit


def another_program(f):
    """An HDF5 file of another program that happens to use the same two names."""
    for name in list(f):
        del f[name]
    for name in list(f.attrs):
        del f.attrs[name]
    f.attrs["schema_version"] = np.int64(2)
    f.create_group("runs").create_dataset("data", data=np.arange(10))


@dataclass
class Case:
    base: str  # "run" or "sweep"
    edit: Callable
    expect: str  # "refused": info, report and resume refuse; "ok"; "report": only report refuses
    needle: str = ""  # what the error line names


REFUSED, OK, REPORT = "refused", "ok", "report"
CASES = {
    # the root attributes
    "schema_version as text": Case("sweep", set_attr("/", "schema_version", "2"), REFUSED, "schema_version"),
    "schema_version NaN": Case("sweep", set_attr("/", "schema_version", np.nan), REFUSED, "schema_version"),
    "schema_version 0": Case("sweep", set_attr("/", "schema_version", np.int64(0)), REFUSED, "schema_version is 0"),
    "schema_version an array": Case("sweep", set_attr("/", "schema_version", [2, 2]), REFUSED, "schema_version"),
    "schema_version 3": Case(
        "sweep", set_attr("/", "schema_version", np.int64(3)), REFUSED, "archive schema 3 is newer than"
    ),
    "schema_version 1": Case(
        "sweep", set_attr("/", "schema_version", np.int64(1)), REFUSED, "`geroconvert upgrade OLD.h5 NEW.h5`"
    ),
    "package_version a number": Case(
        "run", set_attr("/", "package_version", 3), REFUSED, "root attribute package_version is 3"
    ),
    "git_commit a number": Case("run", set_attr("/", "git_commit", 12345), REFUSED, "git_commit"),
    "git_dirty as text": Case("run", set_attr("/", "git_dirty", "yes"), REFUSED, "git_dirty is a string"),
    "created_utc an array": Case("run", set_attr("/", "created_utc", [1.0, 2.0]), REFUSED, "created_utc"),
    "command not UTF-8": Case("run", set_attr("/", "command", NOT_UTF8, UTF8), REFUSED, "command is not UTF-8"),
    "host missing": Case("run", del_attr("/", "host"), OK),
    "an unknown root attribute": Case("run", set_attr("/", "note", "made by hand"), OK),
    "an unknown compound root attribute": Case("run", set_attr("/", "note", compound(1)[0]), OK),
    # /config
    "no /config": Case("sweep", delete("/config"), REFUSED, "/config is missing, expected a group"),
    "/config a dataset": Case("sweep", replace("/config", data(lambda _: 1)), REFUSED, "/config is a dataset"),
    "config text a number": Case("sweep", replace("/config/toml", data(lambda _: 3)), REFUSED, "/config/toml"),
    "config text not UTF-8": Case(
        "sweep", replace("/config/toml", text_dataset(NOT_UTF8)), REFUSED, "/config/toml is not UTF-8"
    ),
    "config text as lines": Case(
        "sweep", replace("/config/toml", text_dataset("a = 1", "b = 2")), REFUSED, "/config/toml has shape (2,)"
    ),
    "config digest mismatch": Case(
        "sweep", replace("/config/toml", text_dataset("[simulation]\n")), REFUSED, "sha256 does not match"
    ),
    "config sha256 a number": Case("sweep", set_attr("/config", "sha256", 5), REFUSED, "sha256"),
    "config sha256 missing": Case("sweep", del_attr("/config", "sha256"), REFUSED, "no attribute sha256"),
    # /runs
    "no /runs": Case("sweep", delete("/runs"), REFUSED, "not a geroconvert archive"),
    "/runs a dataset": Case("sweep", replace("/runs", data(lambda _: np.arange(3))), REFUSED, "/runs is a dataset"),
    "run keys missing": Case("sweep", delete("/runs/run"), REFUSED, "/runs/run is missing"),
    "run keys numbers": Case("sweep", replace("/runs/run", data(lambda a: np.arange(a.size))), REFUSED, "/runs/run"),
    "run keys not UTF-8": Case("sweep", replace("/runs/run", first_text(NOT_UTF8)), REFUSED, "/runs/run is not UTF-8"),
    "a run key twice": Case(
        "sweep", replace("/runs/run", text_column(*KEYS[:3], KEYS[0])), REFUSED, "lists run 'g000_r00' twice"
    ),
    "a run key with a slash": Case("sweep", replace("/runs/run", first_text("a/b")), REFUSED, "/runs/run"),
    "seed of floats": Case(
        "sweep", replace("/runs/seed", data(lambda a: a + 0.5)), REFUSED, "/runs/seed has shape (4,) and dtype float64"
    ),
    "seed 2-D": Case("sweep", replace("/runs/seed", data(lambda a: np.stack([a, a]))), REFUSED, "/runs/seed"),
    "seed short": Case(
        "sweep", replace("/runs/seed", data(lambda a: a[:-1])), REFUSED, "/runs/seed has shape (3,), expected (4,)"
    ),
    "seed negative": Case("sweep", replace("/runs/seed", data(lambda a: a - 5)), REFUSED, "/runs/seed has negative"),
    "replicate missing": Case("sweep", delete("/runs/replicate"), REFUSED, "/runs/replicate is missing"),
    "replicate negative": Case(
        "sweep", replace("/runs/replicate", data(lambda a: -1 - a)), REFUSED, "/runs/replicate has negative"
    ),
    "session a compound": Case(
        "sweep", replace("/runs/session", data(lambda a: compound(a.shape))), REFUSED, "/runs/session"
    ),
    "wall_s of strings": Case(
        "sweep", replace("/runs/wall_s", text_column("a", "b", "c", "d")), REFUSED, "/runs/wall_s has shape (4,) and a"
    ),
    "wall_s a group": Case("sweep", replace("/runs/wall_s", new_group), REFUSED, "/runs/wall_s is a group"),
    "created_utc not UTF-8": Case("sweep", replace("/runs/created_utc", first_text(NOT_UTF8)), REFUSED, "created_utc"),
    "created_utc numbers": Case(
        "sweep", replace("/runs/created_utc", data(lambda a: np.arange(a.size))), REFUSED, "/runs/created_utc"
    ),
    "overrides not JSON": Case(
        "sweep", replace("/runs/overrides", first_text("{simulation")), REFUSED, "/runs/overrides holds '{simulation'"
    ),
    "overrides a JSON list": Case(
        "sweep", replace("/runs/overrides", first_text("[1, 2]")), REFUSED, "expected JSON objects"
    ),
    "overrides not UTF-8": Case("sweep", replace("/runs/overrides", first_text(NOT_UTF8)), REFUSED, "/runs/overrides"),
    "overrides short": Case(
        "sweep", replace("/runs/overrides", text_column("{}", "{}", "{}")), REFUSED, "/runs/overrides has 3 values"
    ),
    "swept not JSON": Case("sweep", replace("/runs/swept", first_text("{dose")), REFUSED, "/runs/swept holds"),
    "swept a JSON list": Case("sweep", replace("/runs/swept", first_text("[0.0]")), REFUSED, "/runs/swept"),
    "a swept list value in one run": Case(
        "sweep", replace("/runs/swept", first_text('{"environment.rapamycin_nM": [0, 1]}')), REPORT, "swept value"
    ),
    # /sessions
    "no /sessions": Case("sweep", delete("/sessions"), REFUSED, "/sessions is missing"),
    "/sessions a dataset": Case("sweep", replace("/sessions", data(lambda _: np.arange(2))), REFUSED, "/sessions"),
    "a run of a session not there": Case(
        "sweep", replace("/runs/session", data(lambda a: a + 2)), REFUSED, "/runs/session refers to row 2"
    ),
    "session host numbers": Case(
        "sweep", replace("/sessions/host", data(lambda a: np.arange(a.size))), REFUSED, "/sessions/host"
    ),
    "session package_version missing": Case(
        "sweep", delete("/sessions/package_version"), REFUSED, "/sessions/package_version is missing"
    ),
    "session git_dirty as text": Case(
        "sweep", replace("/sessions/git_dirty", text_column("no")), REFUSED, "/sessions/git_dirty"
    ),
    # /summary
    "no /summary": Case("sweep", delete("/summary"), REFUSED, "/summary is missing"),
    "summary of other runs": Case(
        "sweep", replace("/summary/run", text_column("a", "b", "c", "d")), REFUSED, "/summary/run lists"
    ),
    "summary of fewer runs": Case(
        "sweep", replace("/summary/run", text_column(*KEYS[:3])), REFUSED, "/summary/run lists 3 runs"
    ),
    "a 2-D summary column": Case(
        "sweep", replace("/summary/final_n_cells", data(lambda a: np.stack([a, a]))), REFUSED, "final_n_cells"
    ),
    "a short summary column": Case(
        "sweep", replace("/summary/final_n_cells", data(lambda a: a[:-1])), REFUSED, "/summary/final_n_cells has shape"
    ),
    "a compound summary column": Case(
        "sweep", replace("/summary/final_n_cells", data(lambda a: compound(a.shape))), REFUSED, "a compound dtype"
    ),
    "a summary column that is a group": Case(
        "sweep", replace("/summary/final_n_cells", new_group), REFUSED, "/summary/final_n_cells is a group"
    ),
    "a summary result as text": Case(
        "sweep", replace("/summary/t50_h", text_column("a", "b", "c", "d")), REFUSED, "/summary/t50_h has shape (4,)"
    ),
    "a summary dangling soft link": Case(
        "sweep", replace("/summary/t50_h", link(h5py.SoftLink("/gone"))), REFUSED, "/summary/t50_h is a link to nothing"
    ),
    "swept_columns not JSON": Case(
        "sweep", set_attr("/summary", "swept_columns", "[environment"), REFUSED, "swept_columns is not JSON"
    ),
    "swept_columns a number": Case("sweep", set_attr("/summary", "swept_columns", 3), REFUSED, "swept_columns"),
    "swept_columns name a missing column": Case(
        "sweep", set_attr("/summary", "swept_columns", '["nope"]'), REFUSED, "names 'nope', which is not a column"
    ),
    "an integer summary column": Case(
        "sweep", replace("/summary/final_n_cells", data(lambda a: a.astype(np.int64))), OK
    ),
    # /timeseries
    "no /timeseries": Case("sweep", delete("/timeseries"), REFUSED, "/timeseries is missing"),
    "/timeseries a dataset": Case(
        "sweep", replace("/timeseries", data(lambda _: np.arange(3.0))), REFUSED, "/timeseries is a dataset"
    ),
    "timeseries of other runs": Case(
        "sweep", replace("/timeseries/run", text_column(*KEYS[::-1])), REFUSED, "/timeseries/run lists"
    ),
    "a 1-D series": Case("sweep", replace("/timeseries/n_cells", data(lambda a: a[0])), REFUSED, "/timeseries/n_cells"),
    "a short series": Case(
        "sweep", replace("/timeseries/n_cells", data(lambda a: a[:, :-1])), REFUSED, "/timeseries/n_cells has shape"
    ),
    "a series of strings": Case(
        "sweep", replace("/timeseries/mean_mass", text_column("1", "2", "3", "4")), REFUSED, "/timeseries/mean_mass"
    ),
    "a compound series": Case(
        "sweep", replace("/timeseries/mean_mass", data(lambda a: compound(a.shape))), REFUSED, "/timeseries/mean_mass"
    ),
    "a series that is a group": Case(
        "sweep", replace("/timeseries/n_cells", new_group), REFUSED, "/timeseries/n_cells is a group"
    ),
    "a dangling soft link": Case(
        "sweep",
        replace("/timeseries/n_cells", link(h5py.SoftLink("/gone"))),
        REFUSED,
        "/timeseries/n_cells is a link to nothing",
    ),
    "an external link to nowhere": Case(
        "sweep", replace("/timeseries/n_cells", link(h5py.ExternalLink("missing.h5", "/x"))), REFUSED, "n_cells"
    ),
    "no time_h": Case("sweep", delete("/timeseries/time_h"), REFUSED, "/timeseries/time_h is missing"),
    "time_h with NaN": Case(
        "sweep",
        replace("/timeseries/time_h", data(lambda a: np.where(a > 0, np.nan, a))),
        REFUSED,
        "/timeseries/time_h is not a list of increasing times",
    ),
    "time_h not increasing": Case(
        "sweep", replace("/timeseries/time_h", data(lambda a: a[::-1])), REFUSED, "/timeseries/time_h is not"
    ),
    "time_h negative": Case(
        "sweep", replace("/timeseries/time_h", data(lambda a: a - 100.0)), REFUSED, "/timeseries/time_h is not"
    ),
    "recorded of the wrong shape": Case(
        "sweep", add_dataset("/timeseries/recorded", np.ones((2, 2), np.uint8)), REFUSED, "/timeseries/recorded"
    ),
    "recorded of floats": Case(
        "sweep", add_dataset("/timeseries/recorded", np.ones((4, 2))), REFUSED, "/timeseries/recorded"
    ),
    "units a number": Case(
        "sweep", set_attr("/timeseries/n_cells", "units", 5), REFUSED, "/timeseries/n_cells attribute units is 5"
    ),
    "long_name missing": Case("sweep", del_attr("/timeseries/n_cells", "long_name"), OK),
    "an integer series": Case("sweep", replace("/timeseries/n_cells", data(lambda a: a.astype(np.int64))), OK),
    "a float32 series": Case("sweep", replace("/timeseries/mean_mass", data(lambda a: a.astype(np.float32))), OK),
    "runs whose record times differ": Case("sweep", one_run_lacks_a_time("/timeseries"), REPORT, "record times"),
    # /rpp
    "no /rpp": Case("sweep", delete("/rpp"), REFUSED, "/rpp is missing"),
    "rpp above 1": Case("sweep", replace("/rpp/rpp", data(lambda a: a + 1.5)), REFUSED, "/rpp/rpp has values outside"),
    "rpp below 0": Case("sweep", replace("/rpp/rpp", data(lambda a: a - 1.5)), REFUSED, "/rpp/rpp has values outside"),
    "a short rpp": Case("sweep", replace("/rpp/rpp", data(lambda a: a[:, :1])), REFUSED, "/rpp/rpp has shape"),
    "a compound rpp": Case("sweep", replace("/rpp/rpp", data(lambda a: compound(a.shape))), REFUSED, "/rpp/rpp"),
    "n_replated of floats": Case(
        "sweep", replace("/rpp/n_replated", data(lambda a: a.astype(np.float64))), REFUSED, "/rpp/n_replated"
    ),
    "n_colonies negative": Case(
        "sweep", replace("/rpp/n_colonies", data(lambda a: -1 - a)), REFUSED, "/rpp/n_colonies has negative counts"
    ),
    "rpp time_h decreasing": Case(
        "sweep", replace("/rpp/time_h", data(lambda a: a[::-1])), REFUSED, "/rpp/time_h is not"
    ),
    "RPP times differ between runs": Case("sweep", one_run_lacks_a_time("/rpp"), REPORT, "RPP assay times"),
    # /events
    "no /events": Case("sweep", delete("/events"), REFUSED, "/events is missing"),
    "an event count of floats": Case(
        "sweep", replace("/events/births", data(lambda a: a + 0.5)), REFUSED, "/events/births"
    ),
    "an event count negative": Case(
        "sweep", replace("/events/births", data(lambda a: a - 100)), REFUSED, "/events/births has negative counts"
    ),
    "events of other runs": Case(
        "sweep", replace("/events/run", text_column(*KEYS[:2])), REFUSED, "/events/run lists 2 runs"
    ),
    # snapshots are read (and checked) only when asked for
    "a snapshot field 1-D": Case("run", lambda f: _one_snapshot_field_1d(f), OK),
    # not ours at all
    "another program's file with the same names": Case("sweep", another_program, REFUSED, "/config is missing"),
}


def _one_snapshot_field_1d(f):
    run = f["snapshots/run0"]
    first = run[sorted(run)[0]]
    del first["mass"]
    first["mass"] = np.ones(5, np.float32)


def edited(case: Case, name: str, folder: Path, archives: dict) -> Path:
    path = folder / f"{name.replace(' ', '_').replace('/', '')}.h5"
    shutil.copyfile(archives[case.base], path)
    with h5py.File(path, "a") as f:
        case.edit(f)
    return path


def outcome(argv) -> tuple[int, str]:
    code, _, err = call(*argv)
    assert_clean_outcome(code, err, " ".join(map(str, argv)))
    return code, err


@pytest.mark.parametrize("name", list(CASES))
def test_wrong_schema_edits_give_one_line_or_succeed(tmp_path, archives, name):
    case = CASES[name]
    path = edited(case, name, tmp_path, archives)
    before = path.read_bytes()
    info_code, info_err = outcome(["info", path])
    report_code, report_err = outcome(["report", path, "-o", tmp_path / "report"])
    if case.expect == OK:
        assert (info_code, report_code) == (0, 0), (info_err, report_err)
        assert path.read_bytes() == before
        return
    assert report_code == 2 and case.needle in report_err, report_err
    assert report_err.startswith(f"geroconvert: error: {path}: "), report_err
    if case.expect == REPORT:
        assert info_code == 0, info_err
        return
    assert info_code == 2 and case.needle in info_err, info_err
    assert info_err == report_err, "info and report read the archive through one check"
    assert not (tmp_path / "report").exists() or not any((tmp_path / "report").iterdir())
    if case.base == "sweep":
        resume = ["sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q"]
        assert outcome(resume) == (2, info_err), "resume refuses what info refuses, in the same words"
        assert not Path(f"{path}.parts").exists() and not Path(f"{path}.partial").exists()
    assert path.read_bytes() == before, "reading or resuming changed the file"


def test_the_error_line_names_the_object_and_the_way_out(tmp_path, archives):
    path = edited(CASES["wall_s of strings"], "wall_s", tmp_path, archives)
    code, _, err = call("info", path)
    assert code == 2
    assert (
        err
        == f"geroconvert: error: {path}: /runs/wall_s has shape (4,) and a string dtype, expected 1-D numbers; {FIX}\n"
    )
    path = edited(CASES["schema_version 1"], "schema1", tmp_path, archives)
    code, _, err = call("info", path)
    assert code == 2
    assert err == (
        f"geroconvert: error: {path}: archive schema 1, written by an earlier geroconvert; "
        "convert it with `geroconvert upgrade OLD.h5 NEW.h5`\n"
    )


def test_a_real_schema1_archive_is_refused_with_the_upgrade_command(tmp_path):
    path = tmp_path / "old.h5"
    shutil.copyfile(SCHEMA1["sweep"], path)
    for argv in (["info", path], ["report", path, "-o", tmp_path / "report"]):
        code, err = outcome(argv)
        assert code == 2 and "archive schema 1" in err and "geroconvert upgrade OLD.h5 NEW.h5" in err, err
    assert path.read_bytes() == SCHEMA1["sweep"].read_bytes()


@pytest.mark.parametrize("name", ["overrides a JSON list", "a 2-D summary column", "runs whose record times differ"])
def test_wrong_schema_through_the_real_command(tmp_path, archives, name):
    case = CASES[name]
    path = edited(case, name, tmp_path, archives)
    for argv, refused in (
        (["info", path], case.expect == REFUSED),
        (["report", path, "-o", tmp_path / "report"], True),
    ):
        done = run_geroconvert(*argv)
        assert done.returncode == (2 if refused else 0), done.stderr
        assert "Traceback" not in done.stderr
        if refused:
            assert done.stderr.count("\n") == 1 and done.stderr.startswith("geroconvert: error: "), done.stderr
            assert case.needle in done.stderr


def rewrite(path: Path, keep: list[str] | None = None, session_changes: dict | None = None) -> None:
    """Write ``path`` again with only the runs ``keep`` (all by default) and its sessions and root attributes
    changed by ``session_changes``: what a sweep stopped earlier, or made by another version, would have left."""
    from geroconvert.archive.reader import read_file
    from geroconvert.archive.writer import write_archive

    checked = read_file(path)
    rows = checked.rows
    if keep is not None:
        rows = rows.take([rows.keys.index(key) for key in keep])
    attrs = dict(checked.attrs)
    if session_changes:
        rows.sessions = [{**session, **session_changes} for session in rows.sessions]
        attrs.update(session_changes)
    write_archive(path, checked.config_toml, attrs, rows)


def test_a_resume_of_a_refused_archive_adds_nothing(tmp_path, archives):
    """The case of issue 13, item 13: a run missing (so resume has work) and a value damaged."""
    path = tmp_path / "sweep.h5"
    shutil.copyfile(archives["sweep"], path)
    rewrite(path, keep=["g000_r00", "g000_r01", "g001_r00"])
    with h5py.File(path, "a") as f:
        del f["runs/overrides"]
        f.create_dataset("runs/overrides", data=strings(json.dumps([0.0]), "{}", "{}"), dtype=UTF8)
    before = path.read_bytes()
    code, _, err = call("sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q")
    assert code == 2 and "/runs/overrides holds '[0.0]', expected JSON objects" in err and err.count("\n") == 1, err
    assert path.read_bytes() == before and not Path(f"{path}.partial").exists()
    assert not Path(f"{path}.parts").exists()


def test_a_damaged_part_is_refused_by_info_report_and_resume(tmp_path, archives):
    """A stopped sweep: three runs in OUT.h5, one in OUT.h5.parts/; a damaged part is named in the one line."""
    from geroconvert.archive.parts import write_part
    from geroconvert.archive.reader import read_file

    path = tmp_path / "sweep.h5"
    shutil.copyfile(archives["sweep"], path)
    checked = read_file(path)
    rewrite(path, keep=KEYS[:3])
    part = write_part(path, checked.config_toml, checked.attrs, checked.rows.take([3]), "then run again")
    code, out, err = call("info", path)
    assert code == 0, err
    assert "runs (4)" in out and "parts     1 in" in out and "g001_r01" in out
    assert outcome(["report", path, "-o", tmp_path / "report"])[0] == 0
    with h5py.File(part, "a") as f:
        values = f["rpp/rpp"][()]
        f["rpp/rpp"][...] = values + 2.0
    before = path.read_bytes(), part.read_bytes()
    info_code, info_err = outcome(["info", path])
    assert info_code == 2 and info_err.startswith(f"geroconvert: error: {part}: /rpp/rpp has values outside 0..1")
    assert outcome(["report", path, "-o", tmp_path / "report2"]) == (2, info_err)
    resume = ["sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q"]
    assert outcome(resume) == (2, info_err)
    assert (path.read_bytes(), part.read_bytes()) == before


def test_a_sweep_over_the_run_length_is_described_but_not_reported(tmp_path):
    """Valid, but its runs do not share record times: `info` shows it, `report` says why it cannot compare them."""
    config = tmp_path / "hours.toml"
    config.write_text(
        SWEEP_TEXT.replace('"environment.rapamycin_nM" = [0.0, 10.0]', '"simulation.hours" = [2.0, 4.0]').replace(
            "replicates = 2", "replicates = 1"
        )
    )
    path = tmp_path / "hours.h5"
    assert call("sweep", config, "-o", path, "--workers", "1", "-q")[0] == 0
    with h5py.File(path, "r") as f:
        assert "recorded" in f["timeseries"]  # the runs' times differ: which run recorded which is written
    assert outcome(["info", path])[0] == 0
    code, err = outcome(["report", path, "-o", tmp_path / "report"])
    assert code == 2 and "different record times" in err and "simulation.hours" in err


def test_a_resume_under_another_version_records_it_per_run(tmp_path, archives):
    """Issue 13, item 8: the runs a resume adds record their own session; `info` tells them apart."""
    from geroconvert.archive.hdf5 import software_change

    path = tmp_path / "sweep.h5"
    shutil.copyfile(archives["sweep"], path)
    rewrite(path, keep=["g000_r00", "g000_r01", "g001_r00"], session_changes={"package_version": "0.0.9"})
    assert "0.0.9" in (software_change(path) or "")
    code, _ = outcome(["sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q"])
    assert code == 0
    code, out, err = call("info", path)
    assert code == 0, err
    assert "software 1: geroconvert 0.0.9" in out and "(made the archive)" in out and "software 2: " in out
    with h5py.File(path, "r") as f:
        assert f["runs/run"].asstr()[()].tolist() == KEYS
        assert f["sessions/package_version"].asstr()[()].tolist()[0] == "0.0.9"
        session = f["runs/session"][()].tolist()
        assert session[:3] == [0, 0, 0] and session[3] == 1  # the old runs are left as they were
        assert f["sessions/package_version"].asstr()[1] != "0.0.9"
        assert f.attrs["package_version"] == "0.0.9"  # the archive's creation


def test_enough_edits_are_covered():
    assert len(CASES) >= 60
    assert sum(case.expect == OK for case in CASES.values()) >= 6  # harmless edits are not refused
    assert sum(case.expect == REFUSED for case in CASES.values()) >= 50


# ---------------------------------------------------------------------------------------
# geroconvert upgrade OLD.h5 NEW.h5


def text_value(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def schema1_runs(path: Path) -> tuple[dict, str, dict[str, dict]]:
    """(root attributes, config text, key -> everything a run holds) read with h5py from the layout of schema 1."""
    with h5py.File(path, "r") as f:
        root = {name: f.attrs[name] for name in f.attrs}
        config = f["config/toml"].asstr()[()]
        runs = {}
        for key in f["runs"]:
            group = f["runs"][key]
            if text_value(group.attrs["status"]) != "complete":
                continue
            snapshots = {}
            for name in group.get("snapshots", {}):
                snap = group["snapshots"][name]
                snapshots[float(snap.attrs["time_h"])] = {field: snap[field][()] for field in snap}
            runs[key] = {
                "attrs": {name: group.attrs[name] for name in group.attrs},
                "timeseries": {name: d[()] for name, d in group["timeseries"].items()},
                "units": {name: text_value(d.attrs["units"]) for name, d in group["timeseries"].items()},
                "rpp": {name: d[()] for name, d in group["assays/rpp"].items()},
                "events": {name: group["events"].attrs[name] for name in group["events"].attrs},
                "summary": {name: group["summary"].attrs[name] for name in group["summary"].attrs},
                "snapshots": snapshots,
            }
    return root, config, runs


def upgraded(tmp_path: Path, which: str) -> tuple[Path, Path]:
    old = tmp_path / f"schema1_{which}.h5"
    shutil.copyfile(SCHEMA1[which], old)
    new = tmp_path / "NEW.h5"
    done = run_geroconvert("upgrade", old, new)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    n_runs = len(schema1_runs(old)[2])
    assert done.stdout == f"wrote {new}: {n_runs} run{'s' * (n_runs != 1)} of {old}, converted to schema 2\n"
    return old, new


@pytest.mark.parametrize("which", ["sweep", "run"])
def test_upgrade_keeps_every_value_bit_for_bit(tmp_path, which):
    from geroconvert import __version__

    old, new = upgraded(tmp_path, which)
    old_bytes = old.read_bytes()
    root, config, runs = schema1_runs(old)
    assert len(runs) == (4 if which == "sweep" else 1)
    keys = sorted(runs, key=natural_key)
    with h5py.File(new, "r") as f:
        assert f.attrs["schema_version"] == 2 and f.attrs["converted_from_schema"] == 1
        assert f.attrs["converted_by"] == __version__ and "converted_utc" in f.attrs
        for name, value in root.items():  # the provenance of the archive's creation is kept
            if name != "schema_version":
                assert same_bits(f.attrs[name], value) or f.attrs[name] == value, name
        assert f["config/toml"].asstr()[()] == config
        assert f["config"].attrs["sha256"] == text_value(h5py.File(old, "r")["config"].attrs["sha256"])
        assert f["runs/run"].asstr()[()].tolist() == keys
        for table in ("summary", "timeseries", "rpp", "events"):
            assert f[table]["run"].asstr()[()].tolist() == keys, table
        sessions = {name: f["sessions"][name][()] for name in RUN_FIELDS}
        for r, key in enumerate(keys):
            run = runs[key]
            attrs = run["attrs"]
            assert f["runs/seed"][r] == attrs["seed"] and f["runs/replicate"][r] == attrs["replicate"], key
            assert same_bits(f["runs/wall_s"][r], attrs["wall_s"]), key
            assert f["runs/created_utc"].asstr()[r] == text_value(attrs["created_utc"]), key
            assert json.loads(f["runs/overrides"].asstr()[r]) == json.loads(text_value(attrs["overrides"])), key
            swept = json.loads(text_value(attrs["swept"]))
            assert json.loads(f["runs/swept"].asstr()[r]) == swept, key
            for name, value in swept.items():
                assert f["summary"][name][r] == value and f["timeseries"][name][r] == value, (key, name)
            session = int(f["runs/session"][r])
            for name in RUN_FIELDS:  # the run's own software
                stored = sessions[name][session]
                if name == "git_dirty":
                    assert int(stored) == int(attrs[name]), (key, name)
                else:
                    assert text_value(stored) == text_value(attrs[name]), (key, name)
            series = f["timeseries"]
            assert same_bits(series["time_h"][()], run["timeseries"]["time_h"]), key
            written = set(series) - {"run", "time_h", "replicate", "seed", *swept}
            assert written == set(run["timeseries"]) - {"time_h"}, key
            for name, values in run["timeseries"].items():
                if name != "time_h":
                    assert same_bits(series[name][r], values), (key, name)
                    # units: today's CF units where the series is known, else the old text
                    expected = SERIES_UNITS.get(name) or run["units"][name]
                    assert text_value(series[name].attrs["units"]) == expected, (key, name)
            rpp = f["rpp"]
            assert same_bits(rpp["time_h"][()], run["rpp"]["time_h"]), key
            for name in ("rpp", "n_replated", "n_colonies"):
                assert same_bits(rpp[name][r], run["rpp"][name]), (key, name)
            assert set(run["events"]) == set(f["events"]) - {"run"}, key
            for name, value in run["events"].items():
                assert f["events"][name][r] == value and f["events"][name].dtype == np.int64, (key, name)
            assert set(run["summary"]) <= set(f["summary"]), key
            for name, value in run["summary"].items():
                assert same_bits(f["summary"][name][r], np.float64(value)), (key, name)  # NaN t50_h included
            if run["snapshots"]:
                snaps = f["snapshots"][key]
                got = {float(s.attrs["time_h"]): {field: s[field][()] for field in s} for s in snaps.values()}
                assert sorted(got) == sorted(run["snapshots"]), key
                for time_h, fields in run["snapshots"].items():
                    assert sorted(got[time_h]) == sorted(fields), (key, time_h)
                    for field, values in fields.items():
                        assert same_bits(got[time_h][field], values), (key, time_h, field)
            else:
                assert "snapshots" not in f or key not in f["snapshots"], key
    if which == "run":
        assert sorted(runs["run0"]["snapshots"]) == [0.0, 24.0, 48.0]
    assert old.read_bytes() == old_bytes, "upgrade only reads the old file"


def test_upgraded_archives_read_through_every_reader(tmp_path):
    from geroconvert.archive.frames import open_archive
    from geroconvert.archive.hdf5 import read_run

    old, new = upgraded(tmp_path, "run")
    _, _, runs = schema1_runs(old)
    back = read_run(new, "run0", snapshots=True)
    for name, values in runs["run0"]["timeseries"].items():
        assert same_bits(back["timeseries"][name], values), name
    for name, values in runs["run0"]["rpp"].items():
        assert same_bits(back["rpp"][name], values), name
    assert back["events"] == {name: int(value) for name, value in runs["run0"]["events"].items()}
    assert sorted(back["snapshots"]) == sorted(runs["run0"]["snapshots"])
    assert open_archive(new).summary.index.tolist() == ["run0"]
    assert outcome(["info", new])[0] == 0
    folder = tmp_path / "sweep"
    folder.mkdir()
    _, sweep = upgraded(folder, "sweep")
    assert outcome(["report", sweep, "-o", tmp_path / "report"])[0] == 0


def test_upgrade_refuses_an_existing_output_without_overwrite(tmp_path):
    old = tmp_path / "old.h5"
    shutil.copyfile(SCHEMA1["sweep"], old)
    new = tmp_path / "new.h5"
    new.write_bytes(b"precious")
    done = run_geroconvert("upgrade", old, new)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == (
        f"geroconvert: error: {new}: already exists; pass --overwrite to replace it or choose another name\n"
    )
    assert new.read_bytes() == b"precious"
    done = run_geroconvert("upgrade", old, new, "--overwrite")
    assert done.returncode == 0, done.stderr
    with h5py.File(new, "r") as f:
        assert f.attrs["schema_version"] == 2 and f["runs/run"].size == 4


def test_upgrade_refuses_an_archive_of_schema_2(tmp_path, archives):
    new = tmp_path / "again.h5"
    done = run_geroconvert("upgrade", archives["sweep"], new)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == f"geroconvert: error: {archives['sweep']}: already schema 2; nothing to convert\n"
    assert not new.exists() and not Path(f"{new}.partial").exists()


def test_upgrade_refuses_to_write_over_its_input(tmp_path):
    old = tmp_path / "old.h5"
    shutil.copyfile(SCHEMA1["sweep"], old)
    for extra in ([], ["--overwrite"]):
        done = run_geroconvert("upgrade", old, old, *extra)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert ("already exists" if not extra else "an input of this run") in done.stderr, done.stderr
    assert old.read_bytes() == SCHEMA1["sweep"].read_bytes()


def schema1_edit(where: str, make: Callable) -> Callable:
    return replace(where, make)


UPGRADE_DAMAGE = {
    "an rpp of strings": (
        schema1_edit("/runs/g000_r00/assays/rpp/rpp", text_column("1", "0.5", "0.2")),
        "/runs/g000_r00/assays/rpp/rpp has shape (3,) and a string dtype, expected 1-D numbers",
    ),
    "a compound rpp": (
        schema1_edit("/runs/g000_r00/assays/rpp/rpp", data(lambda a: compound(a.shape))),
        "/runs/g000_r00/assays/rpp/rpp has shape (3,) and a compound dtype",
    ),
    "rpp above 1": (
        schema1_edit("/runs/g001_r00/assays/rpp/rpp", data(lambda a: a + 2.0)),
        "/runs/g001_r00/assays/rpp/rpp has values outside 0..1",
    ),
    "a short series": (
        schema1_edit("/runs/g000_r01/timeseries/n_cells", data(lambda a: a[:-1])),
        "/runs/g000_r01/timeseries/n_cells has 4 values, expected 5",
    ),
    "a seed as text": (set_attr("/runs/g001_r01", "seed", "zero"), "/runs/g001_r01 attribute seed is a string"),
    "config digest mismatch": (
        schema1_edit("/config/toml", text_dataset("[simulation]\n")),
        "/config attribute sha256 does not match /config/toml",
    ),
    "no /summary": (delete("/summary"), "/summary is missing"),
}


@pytest.mark.parametrize("name", list(UPGRADE_DAMAGE))
def test_upgrade_refuses_a_damaged_schema1_archive_in_one_line(tmp_path, name):
    edit, needle = UPGRADE_DAMAGE[name]
    old = tmp_path / "old.h5"
    shutil.copyfile(SCHEMA1["sweep"], old)
    with h5py.File(old, "a") as f:
        edit(f)
    new = tmp_path / "new.h5"
    done = run_geroconvert("upgrade", old, new)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"geroconvert: error: {old}: "), done.stderr
    assert needle in done.stderr, done.stderr
    assert not new.exists() and not Path(f"{new}.partial").exists()


def test_upgrade_leaves_out_half_written_runs(tmp_path):
    """A run a crash left half-written (status "writing") in a schema-1 file holds no result: it is not converted."""
    old = tmp_path / "old.h5"
    shutil.copyfile(SCHEMA1["sweep"], old)
    with h5py.File(old, "a") as f:
        f["runs"].create_group("g002_r00").attrs["status"] = "writing"
    new = tmp_path / "new.h5"
    code, out, err = call("upgrade", old, new)
    assert code == 0, err
    assert out == f"wrote {new}: 4 runs of {old}, converted to schema 2\n"
    with h5py.File(new, "r") as f:
        assert f["runs/run"].asstr()[()].tolist() == KEYS


@pytest.mark.parametrize("content", ["missing", "text"])
def test_upgrade_of_something_not_an_archive_is_one_line(tmp_path, content):
    old = tmp_path / "old.h5"
    if content == "text":
        old.write_text("hello")
    new = tmp_path / "new.h5"
    code, err = outcome(["upgrade", old, new])
    assert code == 2 and ("no such file" if content == "missing" else "not an HDF5 file") in err
    assert not new.exists()
