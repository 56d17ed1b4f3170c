"""Wrong-schema archives: every reader checks what it reads (issue 13, items 10 and 13).

A valid run archive and a valid sweep archive are made once.  Each case copies one and
edits it with h5py as another program or a hand edit could (a value of the wrong type,
shape, dtype, length or encoding; a missing or foreign object), then requires:

* ``info`` and ``report`` end with exit 0, or exit 2 and one line naming what is wrong,
  never a traceback;
* a case that ``info`` refuses is refused by ``report`` and ``sweep --resume`` with the
  same line (one check in the archive layer serves them all), and the file keeps its bytes.

The corrupt-bytes cases (truncation, broken checksums, non-HDF5 files) are in
test_reliability_archives.py.
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

from tests.conftest import CONFIGS, run_geroconvert
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
R0 = "/runs/run0"
S0 = "/runs/g000_r00"
TS = f"{S0}/timeseries"
RPP = f"{S0}/assays/rpp"
UTF8 = h5py.string_dtype("utf-8")
NOT_UTF8 = b"\xff\xfe not UTF-8"
FIX = "the archive was not written by geroconvert or was edited"


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """A valid single-run archive and a valid 4-run sweep archive (with RPP assays), made once."""
    folder = tmp_path_factory.mktemp("schema")
    run = folder / "run.h5"
    code, _, err = call("run", CONFIGS / "ht_p21.toml", "-o", run, *TINY_RUN)
    assert code == 0, err
    config = folder / "sweep.toml"
    config.write_text(SWEEP_TEXT)
    sweep = folder / "sweep.h5"
    code, _, err = call("sweep", config, "-o", sweep, "--workers", "1", "-q")
    assert code == 0, err
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


def compound(n: int):
    return np.zeros(n, dtype=[("a", "<f8"), ("b", "<i4")])


def strings(*values):
    return np.array(values, dtype=object)


def text_dataset(value) -> Callable:
    def make(f, where, old):
        f.create_dataset(where, data=value, dtype=UTF8)

    return make


def keys_not_utf8(f, where, old):
    f.create_dataset(where, data=strings(*old[:-1], NOT_UTF8), dtype=UTF8)


def shorten_every_series(where: str) -> Callable:
    """One run recorded one point less: consistent in itself, not aligned with the other runs."""

    def edit(f):
        for name in list(f[where]):
            values = f[where][name][()]
            del f[where][name]
            f[where][name] = values[:-1]

    return edit


def another_program(f):
    """An HDF5 file of another program that happens to use the same two names."""
    for name in list(f):
        del f[name]
    for name in list(f.attrs):
        del f.attrs[name]
    f.attrs["schema_version"] = np.int64(1)
    f.create_group("runs").create_dataset("data", data=np.arange(10))


def half_written_run(f):
    """What a crash while writing a new run leaves: a group marked "writing" (not a result)."""
    f["runs"].create_group("g009_r00").attrs["status"] = "writing"


def reference_attr(f):
    f[S0].attrs["seed"] = f["config"].ref


@dataclass
class Case:
    base: str  # "run" or "sweep"
    edit: Callable
    expect: str  # "refused": info, report and resume refuse; "ok"; "report": only report refuses
    needle: str = ""  # a word the error line names


REFUSED, OK, REPORT = "refused", "ok", "report"
CASES = {
    # the root attributes
    "schema_version as text": Case("sweep", set_attr("/", "schema_version", "1"), REFUSED, "schema_version"),
    "schema_version NaN": Case("sweep", set_attr("/", "schema_version", np.nan), REFUSED, "schema_version"),
    "schema_version 0": Case("sweep", set_attr("/", "schema_version", np.int64(0)), REFUSED, "schema_version"),
    "schema_version an array": Case("sweep", set_attr("/", "schema_version", [1, 1]), REFUSED, "schema_version"),
    "package_version a number": Case("run", set_attr("/", "package_version", 3), REFUSED, "package_version"),
    "git_commit a number": Case("run", set_attr("/", "git_commit", 12345), REFUSED, "git_commit"),
    "git_dirty as text": Case("run", set_attr("/", "git_dirty", "yes"), REFUSED, "git_dirty"),
    "created_utc an array": Case("run", set_attr("/", "created_utc", [1.0, 2.0]), REFUSED, "created_utc"),
    "command not UTF-8": Case("run", set_attr("/", "command", NOT_UTF8, UTF8), REFUSED, "command"),
    "host missing": Case("run", del_attr("/", "host"), OK),
    "an unknown root attribute": Case("run", set_attr("/", "note", "made by hand"), OK),
    "an unknown compound root attribute": Case("run", set_attr("/", "note", compound(1)[0]), OK),
    # /config
    "no /config": Case("sweep", delete("/config"), REFUSED, "/config"),
    "/config a dataset": Case("sweep", replace("/config", data(lambda _: 1)), REFUSED, "/config"),
    "config text a number": Case("sweep", replace("/config/toml", data(lambda _: 3)), REFUSED, "/config/toml"),
    "config text not UTF-8": Case("sweep", replace("/config/toml", text_dataset(NOT_UTF8)), REFUSED, "UTF-8"),
    "config text as lines": Case(
        "sweep", replace("/config/toml", data(lambda _: strings("a = 1", "b = 2"))), REFUSED, "/config/toml"
    ),
    "config text edited": Case("sweep", replace("/config/toml", text_dataset("[simulation]\n")), REFUSED, "sha256"),
    "config sha256 a number": Case("sweep", set_attr("/config", "sha256", 5), REFUSED, "sha256"),
    "config sha256 missing": Case("sweep", del_attr("/config", "sha256"), REFUSED, "sha256"),
    # /runs and the attributes of a run
    "/runs a dataset": Case("sweep", replace("/runs", data(lambda _: np.arange(3))), REFUSED, "/runs"),
    "a run that is a dataset": Case("sweep", replace(S0, data(lambda _: np.arange(3))), REFUSED, S0),
    "overrides a JSON list": Case("run", set_attr(R0, "overrides", "[1, 2]"), REFUSED, "overrides"),
    "overrides not JSON": Case("run", set_attr(R0, "overrides", "{simulation"), REFUSED, "overrides"),
    "overrides a number": Case("run", set_attr(R0, "overrides", 3), REFUSED, "overrides"),
    "overrides not UTF-8": Case("run", set_attr(R0, "overrides", NOT_UTF8, UTF8), REFUSED, "overrides"),
    "swept a JSON list": Case("sweep", set_attr(S0, "swept", "[0.0]"), REFUSED, "swept"),
    "swept a list value in one run": Case(
        "sweep", set_attr(S0, "swept", '{"environment.rapamycin_nM": [0, 1]}'), REPORT, "swept"
    ),
    "wall_s a string": Case("run", set_attr(R0, "wall_s", "fast"), REFUSED, "wall_s"),
    "wall_s an array": Case("run", set_attr(R0, "wall_s", [1.0, 2.0]), REFUSED, "wall_s"),
    "wall_s empty": Case("run", set_attr(R0, "wall_s", h5py.Empty("f8")), REFUSED, "wall_s"),
    "wall_s missing": Case("run", del_attr(R0, "wall_s"), REFUSED, "wall_s"),
    "wall_s a boolean": Case("run", set_attr(R0, "wall_s", True), REFUSED, "wall_s"),
    "seed NaN": Case("sweep", set_attr(S0, "seed", np.nan), REFUSED, "seed"),
    "seed as text": Case("sweep", set_attr(S0, "seed", "zero"), REFUSED, "seed"),
    "seed negative": Case("sweep", set_attr(S0, "seed", np.int64(-1)), REFUSED, "seed"),
    "seed a reference": Case("sweep", reference_attr, REFUSED, "seed"),
    "replicate 1.5": Case("sweep", set_attr(S0, "replicate", 1.5), REFUSED, "replicate"),
    "replicate negative": Case("sweep", set_attr(S0, "replicate", np.int64(-2)), REFUSED, "replicate"),
    "replicate missing": Case("sweep", del_attr(S0, "replicate"), REFUSED, "replicate"),
    "status a number": Case("sweep", set_attr(S0, "status", np.int64(1)), REFUSED, "status"),
    "status missing": Case("sweep", del_attr(S0, "status"), REFUSED, "status"),
    "status unknown": Case("sweep", set_attr(S0, "status", "failed"), OK),  # no result; /summary is stale
    "created_utc of a run a number": Case("sweep", set_attr(S0, "created_utc", 5), REFUSED, "created_utc"),
    "package_version of a run a number": Case("sweep", set_attr(S0, "package_version", 1), REFUSED, "package_version"),
    "an unknown run attribute": Case("sweep", set_attr(S0, "note", "checked by hand"), OK),
    "a half-written run": Case("sweep", half_written_run, OK),
    # a run's time series
    "no timeseries": Case("sweep", delete(TS), REFUSED, "timeseries"),
    "timeseries a dataset": Case("sweep", replace(TS, data(lambda _: np.arange(3.0))), REFUSED, "timeseries"),
    "a 2-D series": Case("sweep", replace(f"{TS}/n_cells", data(lambda a: np.stack([a, a]))), REFUSED, "n_cells"),
    "a short series": Case("sweep", replace(f"{TS}/n_cells", data(lambda a: a[:-1])), REFUSED, "n_cells"),
    "a series of strings": Case(
        "sweep", replace(f"{TS}/mean_mass", data(lambda a: strings(*map(str, a)))), REFUSED, "mean_mass"
    ),
    "a compound series": Case(
        "sweep", replace(f"{TS}/mean_mass", data(lambda a: compound(a.size))), REFUSED, "mean_mass"
    ),
    "a series that is a group": Case("sweep", replace(f"{TS}/n_cells", new_group), REFUSED, "n_cells"),
    "a dangling soft link": Case("sweep", replace(f"{TS}/n_cells", link(h5py.SoftLink("/gone"))), REFUSED, "n_cells"),
    "an external link to nowhere": Case(
        "sweep", replace(f"{TS}/n_cells", link(h5py.ExternalLink("missing.h5", "/x"))), REFUSED, "n_cells"
    ),
    "no time_h": Case("sweep", delete(f"{TS}/time_h"), REFUSED, "time_h"),
    "time_h with NaN": Case(
        "sweep", replace(f"{TS}/time_h", data(lambda a: np.where(a > 0, np.nan, a))), REFUSED, "time_h"
    ),
    "time_h decreasing": Case("sweep", replace(f"{TS}/time_h", data(lambda a: a[::-1])), REFUSED, "time_h"),
    "time_h negative": Case("sweep", replace(f"{TS}/time_h", data(lambda a: a - 100.0)), REFUSED, "time_h"),
    "units a number": Case("sweep", set_attr(f"{TS}/n_cells", "units", 5), OK),  # read (and checked) by read_run
    "an integer series": Case("sweep", replace(f"{TS}/n_cells", data(lambda a: a.astype(np.int64))), OK),
    "a float32 series": Case("sweep", replace(f"{TS}/mean_mass", data(lambda a: a.astype(np.float32))), OK),
    "runs whose series lengths differ": Case("sweep", shorten_every_series(TS), REPORT, "record times"),
    # a run's RPP assay
    "no assays": Case("sweep", delete(f"{S0}/assays"), REFUSED, "assays"),
    "a short rpp": Case("sweep", replace(f"{RPP}/rpp", data(lambda a: a[:1])), REFUSED, "rpp"),
    "a compound rpp": Case("sweep", replace(f"{RPP}/rpp", data(lambda a: compound(a.size))), REFUSED, "rpp"),
    "a 2-D rpp": Case("sweep", replace(f"{RPP}/rpp", data(lambda a: a[None, :])), REFUSED, "rpp"),
    "rpp above 1": Case("sweep", replace(f"{RPP}/rpp", data(lambda a: a + 1.5)), REFUSED, "rpp"),
    "no rpp": Case("sweep", delete(f"{RPP}/rpp"), REFUSED, "rpp"),
    "n_replated NaN": Case(
        "sweep", replace(f"{RPP}/n_replated", data(lambda a: np.full(a.size, np.nan))), REFUSED, "n_replated"
    ),
    "n_colonies negative": Case("sweep", replace(f"{RPP}/n_colonies", data(lambda a: -1 - a)), REFUSED, "n_colonies"),
    "RPP times differ between runs": Case("sweep", replace(f"{RPP}/time_h", data(lambda a: a * 0.5)), REPORT, "RPP"),
    # events and a run's summary
    "no events": Case("sweep", delete(f"{S0}/events"), REFUSED, "events"),
    "an event count as text": Case("sweep", set_attr(f"{S0}/events", "births", "many"), REFUSED, "births"),
    "an event count NaN": Case("sweep", set_attr(f"{S0}/events", "births", np.nan), REFUSED, "births"),
    "an event count negative": Case("sweep", set_attr(f"{S0}/events", "births", np.int64(-5)), REFUSED, "births"),
    "no run summary": Case("sweep", delete(f"{S0}/summary"), REFUSED, "summary"),
    "a run summary value as text": Case("sweep", set_attr(f"{S0}/summary", "rpp_final", "high"), REFUSED, "rpp_final"),
    "a run summary value an array": Case(
        "sweep", set_attr(f"{S0}/summary", "rpp_final", [1.0, 2.0]), REFUSED, "rpp_final"
    ),
    # /summary
    "no /summary": Case("sweep", delete("/summary"), REFUSED, "/summary"),
    "a 2-D summary column": Case(
        "sweep", replace("/summary/final_n_cells", data(lambda a: np.stack([a, a]))), REFUSED, "final_n_cells"
    ),
    "a short summary column": Case(
        "sweep", replace("/summary/final_n_cells", data(lambda a: a[:-1])), REFUSED, "final_n_cells"
    ),
    "a compound summary column": Case(
        "sweep", replace("/summary/final_n_cells", data(lambda a: compound(a.size))), REFUSED, "final_n_cells"
    ),
    "a summary column that is a group": Case(
        "sweep", replace("/summary/final_n_cells", new_group), REFUSED, "final_n_cells"
    ),
    "summary columns not a list": Case("sweep", set_attr("/summary", "columns", '{"a": 1}'), REFUSED, "columns"),
    "summary columns not JSON": Case("sweep", set_attr("/summary", "columns", "run_key,seed"), REFUSED, "columns"),
    "summary columns name a missing column": Case(
        "sweep", set_attr("/summary", "columns", '["run_key", "nope"]'), REFUSED, "nope"
    ),
    "swept_columns a number": Case("sweep", set_attr("/summary", "swept_columns", 3), REFUSED, "swept_columns"),
    "run_key not UTF-8": Case(
        "sweep",
        replace("/summary/run_key", keys_not_utf8),
        REFUSED,
        "run_key",
    ),
    "run_key numbers": Case(
        "sweep", replace("/summary/run_key", data(lambda a: np.arange(a.size))), REFUSED, "run_key"
    ),
    "run_key of other runs": Case("sweep", replace("/summary/run_key", text_dataset(strings("a", "b", "c", "d"))), OK),
    "a run deleted, /summary not rebuilt": Case("sweep", delete("/runs/g001_r01"), OK),
    "an integer summary column": Case(
        "sweep", replace("/summary/final_n_cells", data(lambda a: a.astype(np.int64))), OK
    ),
    # not ours at all
    "another program's file with the same names": Case("sweep", another_program, REFUSED, "/config"),
}


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
        return
    assert report_code == 2 and case.needle in report_err, report_err
    if case.expect == REPORT:
        assert info_code == 0, info_err
        return
    assert info_code == 2 and case.needle in info_err, info_err
    assert info_err == report_err, "info and report read the archive through one check"
    assert not (tmp_path / "report").exists() or not any((tmp_path / "report").iterdir())
    if case.base == "sweep":
        resume = ["sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q"]
        assert outcome(resume) == (2, info_err), "resume refuses what info refuses, in the same words"
    assert path.read_bytes() == before, "reading or resuming changed the file"


def test_the_error_line_names_the_object_and_the_way_out(tmp_path, archives):
    path = edited(CASES["wall_s a string"], "wall_s", tmp_path, archives)
    code, _, err = call("info", path)
    assert err == f"geroconvert: error: {path}: /runs/run0 attribute wall_s is a string, expected a number; {FIX}\n"


@pytest.mark.parametrize("name", ["overrides a JSON list", "a 2-D summary column", "runs whose series lengths differ"])
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


def test_a_resume_of_a_refused_archive_adds_nothing(tmp_path, archives):
    """The case of issue 13, item 13: a run deleted (so resume has work) and a value damaged."""
    path = tmp_path / "sweep.h5"
    shutil.copyfile(archives["sweep"], path)
    with h5py.File(path, "a") as f:
        del f["runs/g001_r01"]
        f["runs/g000_r00"].attrs["overrides"] = json.dumps([0.0])
    before = path.read_bytes()
    code, _, err = call("sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q")
    assert code == 2 and "overrides" in err and err.count("\n") == 1, err
    assert path.read_bytes() == before and not Path(f"{path}.partial").exists()


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
    assert outcome(["info", path])[0] == 0
    code, err = outcome(["report", path, "-o", tmp_path / "report"])
    assert code == 2 and "different record times" in err and "simulation.hours" in err


def test_a_resume_under_another_version_records_it_per_run(tmp_path, archives):
    """Issue 13, item 8: the runs a resume adds keep their own provenance; `info` tells them apart."""
    from geroconvert.archive.hdf5 import ArchiveWriter, software_change
    from geroconvert.archive.provenance import RUN_FIELDS

    path = tmp_path / "sweep.h5"
    shutil.copyfile(archives["sweep"], path)
    with ArchiveWriter(path, mode="a") as archive:  # as version 0.0.9, without provenance per run, left it
        archive.file.attrs["package_version"] = "0.0.9"
        for key in archive.file["runs"]:
            for name in RUN_FIELDS:
                del archive.file["runs"][key].attrs[name]
        del archive.file["runs/g001_r01"]
        archive.rebuild_summary()
    assert "0.0.9" in (software_change(path) or "")
    code, _ = outcome(["sweep", archives["sweep_config"], "-o", path, "--resume", "--workers", "1", "-q"])
    assert code == 0
    code, out, err = call("info", path)
    assert code == 0, err
    assert "software 1: geroconvert 0.0.9" in out and "(made the archive)" in out
    with h5py.File(path, "r") as f:
        assert f["runs/g001_r01"].attrs["package_version"] != "0.0.9"
        assert "package_version" not in f["runs/g000_r00"].attrs  # the old runs are left as they were


def test_enough_edits_are_covered():
    assert len(CASES) >= 48
    assert sum(case.expect == OK for case in CASES.values()) >= 5  # harmless edits are not refused
