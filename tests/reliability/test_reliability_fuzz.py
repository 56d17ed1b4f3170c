"""Config fuzzing: malformed and extreme configs either run or fail with one line.

Hypothesis writes configs of every kind of wrong (wrong types, missing and unknown
sections and keys, NaN and infinite numbers, huge lattices, negative and absurd doses,
broken schedules, circular and missing ``extends``, bad ``[sweep]`` sections, broken
TOML text, non-UTF-8 bytes, bad ``--set`` overrides) next to valid ones.  For each:

* ``geroconvert check`` exits 0, or exits 2 with exactly one line
  ``geroconvert: error: ...`` on stderr (no traceback, no Python warning);
* a config ``check`` accepts also runs (``geroconvert run``): exit 0, and the archive
  holds only finite numbers except where NaN is documented (``senescent_half_life_h``
  when no senescent cell was lost, ``melanocyte_share_of_p16_positive`` when no epidermal
  cell is p16-positive, ``t50_h`` when RPP never falls to 0.5, ``rpp``
  when there was no cell to replate);
* nothing hangs: a watchdog turns an example that takes minutes into a failure.

Most examples run in-process through ``geroconvert.interfaces.cli.main`` (runs are kept tiny: a
config that asks for more work than a few thousand lattice updates is run with the
lattice and clock shrunk by ``--set``); a few dozen run through the real
``python -m geroconvert`` in a subprocess.  Settings are derandomized so CI always
draws the same examples.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import signal
import subprocess
import sys
import tempfile
import typing
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geroconvert.config import MODEL_SECTIONS, ConfigError, dumps_toml, load_config
from geroconvert.interfaces.cli import main
from geroconvert.parameters import paramsets
from geroconvert.parameters.models import ENVIRONMENT_KEYS
from tests.conftest import ROOT

PARENT = ROOT / "configs" / "ht_p21.toml"
CODE = "__import__('os').system('touch PWNED')"

# ---------------------------------------------------------------------------------------
# what the fields accept (read from the parameter models, so new fields are fuzzed too)


def _bounds(info):
    lo = hi = None
    lo_open = hi_open = False
    for meta in info.metadata:
        if getattr(meta, "ge", None) is not None:
            lo = meta.ge
        if getattr(meta, "gt", None) is not None:
            lo, lo_open = meta.gt, True
        if getattr(meta, "le", None) is not None:
            hi = meta.le
        if getattr(meta, "lt", None) is not None:
            hi, hi_open = meta.lt, True
    return lo, lo_open, hi, hi_open


FIELDS = {section: dict(model.model_fields) for section, model in MODEL_SECTIONS.items()}

# Keys that set how much work a run is: their valid values are drawn small so most valid
# configs run as written (an occasional huge one comes from EXTREME_NUMBERS).
SMALL_VALID = {
    ("simulation", "width"): st.integers(1, 8),
    ("simulation", "height"): st.integers(1, 8),
    ("simulation", "dermis_rows"): st.integers(0, 3),
    ("simulation", "hours"): st.sampled_from([0.0, 1.0, 2.0, 5.5, 12.0, 24.0]) | st.floats(0.0, 30.0),
    ("simulation", "dt_h"): st.sampled_from([0.25, 0.5, 1.0, 2.0, 6.0, 24.0]) | st.floats(0.1, 24.0),
    ("simulation", "record_every_h"): st.sampled_from([1.0, 2.0, 24.0]) | st.floats(0.1, 100.0),
    ("simulation", "snapshot_every_h"): st.sampled_from([0.0, 0.0, 1.0, 12.0]),
    ("simulation", "initial_thickness_rows"): st.integers(0, 3),
    ("simulation", "seed"): st.integers(0, 2**63 - 1),
    ("assays", "max_cells"): st.integers(1, 30),
    ("assays", "tile_sites"): st.integers(3, 12),
    ("assays", "replate_hours"): st.floats(0.5, 30.0),
    ("assays", "colony_min_cells"): st.integers(2, 20),
    ("assays", "rpp_times_h"): st.lists(st.floats(0.0, 30.0), max_size=4),
    ("assays", "rpp_every_h"): st.floats(1.0, 30.0),
    ("assays", "rpp_until_h"): st.floats(0.0, 30.0),
    ("assays", "rpp_from_h"): st.floats(0.0, 30.0),
    ("dosing", "topical_interval_h"): st.floats(0.5, 100.0),
}
ASSAY_HELPERS = ("rpp_every_h", "rpp_until_h", "rpp_from_h")

EXTREME_NUMBERS = st.sampled_from(
    [
        0,
        -1,
        1,
        -0.0,
        0.5,
        1.5,
        2,
        24,
        25,
        1e-300,
        5e-324,
        -1e-300,
        1e6,
        1e7,
        1.0000001e7,
        1e300,
        -1e300,
        float("nan"),
        float("inf"),
        float("-inf"),
        100_000,
        100_001,
        2**31,
        2**62,
        2**63 - 1,
        2**63,
        -(2**63),
        10**30,
        1e308,
        2_000_000.0,
        2_000_001.0,
        50_000_001,
    ]
)
CODE_STRINGS = st.sampled_from(
    [
        CODE,
        "${HOME}",
        "$(touch PWNED)",
        "`touch PWNED`",
        "{{7*7}}",
        "%s%n",
        "\x00",
        "../../etc/passwd",
        "nan",
        "inf",
        "1e3",
        "true",
        "",
        " ",
        "ht_p21 ",
        "HT_P21",
    ]
)
SCALARS = (
    EXTREME_NUMBERS
    | st.integers()
    | st.floats()
    | st.booleans()
    | st.text(max_size=12)
    | CODE_STRINGS
    | st.dates()
    | st.datetimes()
    | st.times()
)
ANY_VALUE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _valid_value(section: str, name: str):
    """A value in the field's range (small where the field sets the amount of work)."""
    if (section, name) in SMALL_VALID:
        return SMALL_VALID[section, name]
    info = FIELDS[section][name]
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if name == "paramset":
        return st.sampled_from(paramsets.NAMES)
    lo, lo_open, hi, hi_open = _bounds(info)
    if annotation is int:
        low = 0 if lo is None else int(lo) + lo_open
        high = low + 20 if hi is None else min(int(hi) - hi_open, low + 20)
        return st.integers(low, high)
    if annotation is float:
        # bounded below by 0 exclusive: from 1e-3 (tinier values are tested as extremes);
        # unbounded above: to 1e4 (engine_safe below says why)
        low = 1e-3 if lo_open else float(lo)
        high = 1e4 if hi is None else float(min(hi, 1e4))
        return st.floats(low, high, exclude_max=hi_open and high == hi)
    return st.just(info.default)


def _invalid_value(section: str, name: str):
    """Out of range, wrong type, NaN/inf, code in a string, a table, ..."""
    info = FIELDS.get(section, {}).get(name)
    candidates = [EXTREME_NUMBERS, SCALARS, ANY_VALUE, CODE_STRINGS]
    if info is not None:
        lo, lo_open, hi, hi_open = _bounds(info)
        if lo is not None:
            candidates.append(st.just(float(lo) - 1) | st.just(lo) | st.floats(max_value=float(lo)))
        if hi is not None:
            candidates.append(st.just(float(hi) * 10 + 1) | st.just(hi) | st.floats(min_value=float(hi)))
        candidates.append(st.just(str(info.default)))  # a number written in quotes
    return st.one_of(candidates)


def _section_keys(section: str) -> list[str]:
    keys = list(FIELDS[section])
    if section == "assays":
        keys += list(ASSAY_HELPERS)
    return keys


@st.composite
def section_table(draw, section: str, bad: bool = False):
    """A table of valid values; with ``bad``, one key gets a wrong value."""
    keys = _section_keys(section)
    table = {
        key: draw(_valid_value(section, key)) for key in draw(st.lists(st.sampled_from(keys), max_size=5, unique=True))
    }
    if bad:
        table[draw(st.sampled_from(keys))] = draw(_invalid_value(section, draw(st.sampled_from(keys))))
    return table


UNKNOWN_NAMES = st.sampled_from(
    ["widht", "rapamycin", "inducr", "x", "", "a.b", "time", "paramsets", "Width", "set", "seed ", "cells"]
) | st.text(max_size=6)


@st.composite
def schedule_list(draw, bad: bool = False):
    entries = []
    for _ in range(draw(st.integers(0, 3))):
        entry = {"time_h": draw(st.floats(0, 40))}
        for key in draw(st.lists(st.sampled_from(ENVIRONMENT_KEYS), max_size=3, unique=True)):
            entry[key] = draw(_valid_value("environment", key))
        entries.append(entry)
    if not bad:
        return entries
    fault = draw(st.integers(0, 4))
    if fault == 0:  # not a list of tables
        return draw(
            SCALARS
            | st.dictionaries(st.text(max_size=5), SCALARS, max_size=2)
            | st.lists(SCALARS, min_size=1, max_size=2)
        )
    entry = {"time_h": draw(st.floats(0, 40))}
    if fault == 1:
        del entry["time_h"]
        entry["inducer"] = 0.0
    elif fault == 2:
        entry["time_h"] = draw(_invalid_value("schedule", "time_h") | st.floats(max_value=-1e-9))
    elif fault == 3:
        key = draw(st.sampled_from(ENVIRONMENT_KEYS))
        entry[key] = draw(_invalid_value("environment", key))
    else:
        entry[draw(UNKNOWN_NAMES.filter(lambda k: k not in ("time_h", *ENVIRONMENT_KEYS)))] = draw(SCALARS)
    entries.insert(draw(st.integers(0, len(entries))), entry)
    return entries


# distinct values: a repeated value (or zip row) would make identical runs, which is refused
VALID_AXES = {
    "environment.rapamycin_nM": st.lists(st.floats(0, 1e3), min_size=1, max_size=3, unique=True),
    "environment.oxygen": st.lists(st.floats(0, 1), min_size=1, max_size=2, unique=True),
    "environment.inducer": st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=2, unique=True),
    "cells.paramset": st.lists(st.sampled_from(paramsets.NAMES), min_size=1, max_size=2, unique=True),
    "simulation.width": st.lists(st.integers(1, 6), min_size=1, max_size=2, unique=True),
    "cells.gero_rate_per_h": st.lists(st.floats(0, 1), min_size=1, max_size=2, unique=True),
}
AXIS_HELPERS = st.builds(
    lambda lo, hi, n, zero: {"logspace": [lo, hi, n], "zero": zero},
    st.floats(0.01, 1e3),
    st.floats(0.01, 1e3),
    st.integers(1, 3),
    st.booleans(),
) | st.builds(lambda lo, hi, n: {"linspace": [lo, hi, n]}, st.floats(0, 1), st.floats(0, 1), st.integers(1, 3))
BAD_AXIS = st.one_of(
    ANY_VALUE,
    st.just([]),
    st.just({}),
    st.builds(
        lambda kind, lo, hi, n: {kind: [lo, hi, n]},
        st.sampled_from(["logspace", "linspace"]),
        EXTREME_NUMBERS | SCALARS,
        EXTREME_NUMBERS | SCALARS,
        st.sampled_from([0, -1, 1.5, 10**9, 10**12, 10**400, float("nan"), float("inf"), True, "3"]),
    ),
    st.builds(lambda n: {"logspace": [0.1, 1.0, 2], "zero": n}, st.sampled_from(["yes", 1, 0.0, [True]])),
    st.builds(lambda n: {"linspace": n}, ANY_VALUE),
    st.just({"logspace": [1, 10, 2], "linspace": [1, 10, 2]}),
)


@st.composite
def sweep_table(draw, bad: bool = False):
    """A [sweep] section: a small valid grid, or (``bad``) one broken in one place."""
    sweep: dict = {}
    if draw(st.booleans()):
        sweep["replicates"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        sweep["seed"] = draw(st.integers(0, 100))
    used: set[str] = set()  # a path may be an axis of the grid or of the zip, not of both
    for table in draw(st.lists(st.sampled_from(["grid", "zip"]), min_size=1, max_size=2, unique=True)):
        free = [p for p in VALID_AXES if p not in used]
        paths = draw(st.lists(st.sampled_from(free), min_size=1, max_size=2, unique=True))
        used.update(paths)
        if table == "zip":  # lists of one length, distinct values so no two rows are equal
            n = draw(st.integers(1, 2))
            sweep[table] = {p: draw(VALID_AXES[p].filter(lambda v, n=n: len(v) >= n))[:n] for p in paths}
        else:
            sweep[table] = {
                p: draw(VALID_AXES[p] | (AXIS_HELPERS if p.startswith("environment") else st.nothing())) for p in paths
            }
    if not bad:
        return sweep
    fault = draw(st.integers(0, 6))
    if fault == 0:
        return draw(SCALARS | st.lists(SCALARS, max_size=2))  # not a table
    if fault == 1:
        sweep[draw(st.sampled_from(["replicates", "seed"]))] = draw(EXTREME_NUMBERS | SCALARS)
    elif fault == 2:
        sweep[draw(st.sampled_from(["grid", "zip"]))] = draw(SCALARS | st.lists(SCALARS, max_size=2))
    elif fault == 3:
        sweep.setdefault("grid", {})[draw(st.sampled_from(list(VALID_AXES)))] = draw(BAD_AXIS)
    elif fault == 4:  # a path that is not a config value
        sweep.setdefault("grid", {})[
            draw(
                st.sampled_from(
                    [
                        "environment.rapamycn_nM",
                        "simulation",
                        "simulation.width.x",
                        "",
                        "..",
                        "schedule.3.time_h",
                        "sweep.replicates",
                        "extends",
                        "cells.paramset.0",
                        "environment",
                    ]
                )
                | st.text(max_size=8)
            )
        ] = draw(st.lists(SCALARS, min_size=1, max_size=2))
    elif fault == 5:
        sweep["zip"] = {"environment.oxygen": [0.5, 1.0], "environment.inducer": [1.0]}  # lengths differ
    else:
        sweep[draw(st.sampled_from(["replicate", "grids", "zipped", "seeds", "runs"]))] = draw(SCALARS)
    return sweep


SMALL_BASE = {
    "simulation": {"width": 4, "height": 4, "hours": 4.0},
    "environment": {"inducer": 1.0},
    "assays": {"rpp_times_h": [0.0, 2.0], "max_cells": 5, "replate_hours": 6.0},
}
FAULTS = (
    "bad_value",
    "bad_value",
    "bad_value",
    "section_not_table",
    "unknown_key",
    "unknown_section",
    "schedule",
    "schedule",
    "extends_self",
    "extends_cycle",
    "extends_missing",
    "extends_not_string",
    "extends_deep",
    "toml_cut",
    "toml_text",
    "not_utf8",
    "override",
    "sweep",
    "sweep",
)
VALID_OVERRIDES = [
    "environment.rapamycin_nM=5",
    "environment.inducer=0.5",
    "simulation.seed=7",
    "cells.paramset='ht_p16'",
    "assays.rpp_times_h=[0, 1]",
    "simulation.width=3",
    "environment.oxygen=0",
]


@st.composite
def config_case(draw, with_sweep: bool = False):
    """(files {name: str | bytes}, --set overrides) for one example; the config is ``main.toml``.

    Half the examples are valid configs; the others carry one or two faults."""
    faults = draw(st.lists(st.sampled_from(FAULTS), min_size=1, max_size=2)) if draw(st.booleans()) else []
    mapping: dict = {k: dict(v) for k, v in SMALL_BASE.items()} if with_sweep else {}
    for section in MODEL_SECTIONS:
        if draw(st.booleans()):
            mapping[section] = {**mapping.get(section, {}), **draw(section_table(section))}
    if "bad_value" in faults:
        section = draw(st.sampled_from(list(MODEL_SECTIONS)))
        mapping[section] = {**mapping.get(section, {}), **draw(section_table(section, bad=True))}
    if "section_not_table" in faults:
        mapping[draw(st.sampled_from([*MODEL_SECTIONS, "schedule", "sweep"]))] = draw(
            SCALARS | st.lists(SCALARS, max_size=2)
        )
    if "unknown_key" in faults:
        section = draw(st.sampled_from(list(MODEL_SECTIONS)))
        name = draw(UNKNOWN_NAMES | st.sampled_from([k for s in MODEL_SECTIONS for k in _section_keys(s)]))
        if name not in _section_keys(section):
            table = mapping.get(section)
            if not isinstance(table, dict):  # an earlier fault made the section a scalar
                table = mapping[section] = {}
            table[name] = draw(SCALARS)
    if "unknown_section" in faults:
        mapping[
            draw(
                st.sampled_from(["simulaton", "width", "Simulation", "env", "sweeps", "cell", "run", ""])
                | st.text(max_size=6)
            )
        ] = draw(SCALARS | st.dictionaries(st.text(max_size=4), SCALARS, max_size=2))
    if draw(st.integers(0, 3)) == 0 or "schedule" in faults:
        mapping["schedule"] = draw(schedule_list(bad="schedule" in faults))
    if with_sweep or "sweep" in faults or draw(st.integers(0, 9)) == 0:
        mapping["sweep"] = draw(sweep_table(bad="sweep" in faults))
    files: dict[str, str | bytes] = {}
    parent = draw(st.integers(0, 5))
    if parent == 0:
        mapping["extends"] = str(PARENT)  # a valid parent (64 x 64, 168 h: the run is shrunk)
    elif parent == 1:
        mapping["extends"] = "parent.toml"  # a small parent this file overlays
        files["parent.toml"] = dumps_toml({s: draw(section_table(s)) for s in ("simulation", "environment", "assays")})
    elif parent == 2:
        mapping["extends"] = "chain0.toml"
        for i in range(3):
            files[f"chain{i}.toml"] = f'extends = "chain{i + 1}.toml"\n'
        files["chain3.toml"] = "[environment]\ninducer = 1.0\n"
    if "extends_self" in faults:
        mapping["extends"] = "main.toml"
    if "extends_cycle" in faults:  # main -> a -> b -> main
        mapping["extends"] = "a.toml"
        files["a.toml"] = 'extends = "b.toml"\n'
        files["b.toml"] = 'extends = "main.toml"\n[simulation]\nwidth = 4\n'
    if "extends_missing" in faults:
        mapping["extends"] = draw(
            st.sampled_from(["missing.toml", "", ".", "/", "sub", "binary.toml", "bad.toml", CODE])
        )
        files["sub/placeholder.toml"] = ""
        files["binary.toml"] = b"\xff\xfe\x00\x01garbage"
        files["bad.toml"] = "[simulation\n"
    if "extends_not_string" in faults:
        mapping["extends"] = draw(SCALARS.filter(lambda v: not isinstance(v, str)))
    if "extends_deep" in faults:  # a chain of 40 files; over 32 is refused
        mapping["extends"] = "deep0.toml"
        for i in range(40):
            files[f"deep{i}.toml"] = f'extends = "deep{i + 1}.toml"\n'
        files["deep40.toml"] = "[simulation]\nwidth = 5\n"
    text = dumps_toml(mapping)
    if "toml_cut" in faults:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(
            st.sampled_from(
                [
                    "",
                    "[",
                    "= ",
                    '"',
                    "[[",
                    "]",
                    "\n[simulation]\n",
                    "x = \n",
                    "\n[simulation]\nwidth = 1\n[simulation]\n",
                ]
            )
        )
    if "toml_text" in faults:
        text = draw(st.text(max_size=40))
    files["main.toml"] = text
    if "not_utf8" in faults:
        files["main.toml"] = draw(st.binary(max_size=40)) + b"\xff"
    overrides = (
        draw(st.lists(st.sampled_from(VALID_OVERRIDES), max_size=2, unique=True))
        if draw(st.integers(0, 5)) == 0
        else []
    )
    if "override" in faults:
        path = draw(
            st.sampled_from(
                [
                    "simulation.width",
                    "environment.rapamycin_nM",
                    "simulation.dt_h",
                    "schedule.0.time_h",
                    "assays.rpp_times_h",
                    "cells.paramset",
                    "sweep.replicates",
                    "widht",
                    "simulation",
                    "",
                    "=",
                    "a..b",
                    "environment.rapamycn_nM",
                    "extends",
                ]
            )
        )
        value = draw(
            st.sampled_from(
                [
                    "5",
                    "-5",
                    "nan",
                    "inf",
                    "1e400",
                    "[0, 1]",
                    "[",
                    "'x'",
                    "true",
                    "",
                    "{a = 1}",
                    CODE,
                    "1e7",
                    "0",
                    "1e-300",
                ]
            )
        )
        overrides.append(f"{path}={value}" if draw(st.integers(0, 9)) else path)
    return files, overrides


# ---------------------------------------------------------------------------------------
# running one example


class Hang(BaseException):
    """Raised by the watchdog; a BaseException so the command's error handler lets it through."""


@contextlib.contextmanager
def watchdog(seconds: float):
    """Turn an example that never ends into a failure (SIGALRM interrupts Python-level loops)."""

    def _fire(signum, frame):
        raise Hang(f"still running after {seconds:.0f} s: a hang")

    previous = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call(*argv) -> tuple[int, str, str]:
    """``geroconvert ARGV`` in-process: (exit code, stdout, stderr).  Python warnings count as stderr."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), watchdog(120):
            code = main([str(a) for a in argv])
    text = err.getvalue() + "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
    return code, out.getvalue(), text


def assert_clean_outcome(code: int, stderr: str, what: str) -> None:
    """Exit 0 (warnings allowed) or exit 2 with exactly one error line; nothing else on stderr."""
    lines = stderr.splitlines()
    assert "Traceback" not in stderr, f"{what}: traceback\n{stderr}"
    assert code in (0, 2), f"{what}: exit {code}\n{stderr}"
    errors = [line for line in lines if line.startswith("geroconvert: error: ")]
    others = [line for line in lines if not line.startswith(("geroconvert: error: ", "geroconvert: warning: "))]
    assert not others, f"{what}: unexpected stderr lines {others!r}"
    if code == 2:
        assert len(errors) == 1, f"{what}: {len(errors)} error lines\n{stderr}"
        assert len(errors[0]) > len("geroconvert: error: ") + 5
    else:
        assert not errors, f"{what}: exit 0 with an error line\n{stderr}"


def write_case(files: dict, base: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=base))
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def _last_recorded(values: np.ndarray, recorded: np.ndarray) -> np.ndarray:
    """Each run's value at the last time it recorded (False for a run that recorded none)."""
    if not recorded.size:
        return np.zeros(recorded.shape[0], bool)
    last = recorded.shape[1] - 1 - np.argmax(recorded[:, ::-1], axis=1)
    return values[np.arange(recorded.shape[0]), last] & recorded.any(axis=1)


def assert_finite_archive(path: Path) -> None:
    """Every float in the archive is finite, except the documented NaNs.

    Schema 2 (``geroconvert.archive.schema``): the (run x time) tables /timeseries and /rpp
    hold NaN by design at the times a run did not record (``recorded``), and are checked at
    the times it did; every other float dataset (/runs, /summary, /snapshots, ...) is
    checked whole."""
    problems = []
    with h5py.File(path, "r") as f:
        keys = np.array(f["runs/run"].asstr()[()], dtype=object)

        def recorded(group) -> np.ndarray:
            shape = (keys.size, group["time_h"].size)
            return group["recorded"][()].astype(bool) if "recorded" in group else np.ones(shape, bool)

        series, rpp = f["timeseries"], f["rpp"]
        series_recorded, rpp_recorded = recorded(series), recorded(rpp)
        # where a mean over no cells (NaN) and an RPP of no replated cell (NaN) are documented
        empty = (series["n_cells"][()] == 0) & series_recorded if "n_cells" in series else series_recorded & False
        no_cells = (rpp["n_replated"][()] == 0) & rpp_recorded if "n_replated" in rpp else rpp_recorded & False

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset) or obj.dtype.kind != "f":
                return
            values = obj[()]
            bad = ~np.isfinite(values)
            table, _, leaf = name.rpartition("/")
            if table == "timeseries" and values.ndim == 2:
                bad &= series_recorded  # NaN: a time this run did not record
                if leaf == "senescent_half_life_h":
                    bad = np.isinf(values) & series_recorded  # NaN: no senescent cell lost in the interval
                elif leaf in ("mean_mass", "mean_p16"):
                    bad &= ~empty  # NaN: a mean over no cells
                elif leaf in ("clone_mean_basal_cells", "clone_mean_cells"):  # NaN: a mean over no surviving clone
                    bad &= np.nan_to_num(obj.file["timeseries/clones_surviving"][()], nan=1.0) != 0
                elif leaf == "melanocyte_share_of_p16_positive":  # NaN: a share of no p16+ epidermal cell
                    bad &= np.nan_to_num(obj.file["timeseries/p16_positive_fraction_epidermis"][()], nan=1.0) != 0
            elif table == "rpp" and values.ndim == 2:
                bad &= rpp_recorded
                if leaf == "rpp":
                    bad &= ~no_cells  # NaN: no cell to replate
            elif table == "summary":
                if leaf == "t50_h":
                    bad = np.isinf(values)  # NaN: RPP never fell to 0.5
                elif leaf == "rpp_final":
                    bad &= ~_last_recorded(no_cells, rpp_recorded)
                elif leaf == "final_mean_mass":
                    bad &= ~_last_recorded(empty, series_recorded)  # no cell alive at the end
            if bad.any():
                runs = ""
                if table in ("runs", "summary", "timeseries", "rpp") and values.ndim and len(values) == keys.size:
                    runs = f" (runs {sorted(keys[bad.reshape(keys.size, -1).any(axis=1)])})"
                problems.append(f"/{name}: {int(bad.sum())} non-finite values{runs}")

        f.visititems(visit)
    assert not problems, f"{path}: {problems}"


def work(params) -> float:
    """Rough count of lattice-site updates a run costs (main lattice and RPP regrowth plates)."""
    sim, assays = params.simulation, params.assays
    steps = sim.hours / sim.dt_h
    sites = sim.width * (sim.height + sim.dermis_rows)
    assay_times = [t for t in assays.rpp_times_h if t <= sim.hours + 1e-9]
    side = math.ceil(math.sqrt(min(assays.max_cells, sites))) * assays.tile_sites
    plate = side * side * assays.replate_hours / sim.dt_h
    records = sim.hours / max(sim.record_every_h, sim.dt_h)
    snaps = sim.hours / max(sim.snapshot_every_h, sim.dt_h) * sites if sim.snapshot_every_h else 0.0
    diffusion = max(1.0, params.cells.sasp_diffusion_per_h * sim.dt_h / 0.2)
    return steps * sites * diffusion + len(assay_times) * plate + 50 * records + snaps


def engine_safe(params) -> bool:
    """False for values near the edges of the accepted ranges (Hill slopes above 10 are now
    refused; rates and times far from 1e-3..1e5 make slow or stiff runs).  Such configs are
    still checked, just not run here; test_reliability_extremes.py runs the extremes."""
    for section in ("cells", "dosing"):
        model = getattr(params, section)
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if not isinstance(value, float) or value == info.default or value == 0.0:
                continue
            if name.endswith("_hill") and value > 10:
                return False
            if not 1e-3 <= abs(value) <= 1e5:
                return False
    return True


BUDGET = 300_000
SHRINK = [
    "--set",
    "simulation.width=4",
    "--set",
    "simulation.height=4",
    "--set",
    "simulation.dermis_rows=0",
    "--set",
    "simulation.initial_thickness_rows=0",
    "--set",
    "simulation.hours=2",
    "--set",
    "simulation.dt_h=1",
    "--set",
    "simulation.record_every_h=1",
    "--set",
    "simulation.snapshot_every_h=0",
    "--set",
    "assays.rpp_times_h=[0, 2]",
    "--set",
    "assays.max_cells=4",
    "--set",
    "assays.tile_sites=4",
    "--set",
    "assays.replate_hours=4",
    "--set",
    "cells.sasp_diffusion_per_h=0.2",
]


def run_args(config: Path, overrides: list[str]) -> list[str] | None:
    """The --set arguments for a run of a valid config: none if it is small, else shrink it."""
    sets = [x for o in overrides for x in ("--set", o)]
    params = load_config(config, overrides).params
    return sets if work(params) <= BUDGET else sets + SHRINK


STATS = {
    name: {"examples": 0, "valid": 0, "ran": 0, "shrunk": 0, "beyond_engine_range": 0}
    for name in ("configs", "sweeps", "subprocess")
}


def check_and_run(files, overrides, base: Path) -> None:
    stats = STATS["configs"]
    folder = write_case(files, base)
    config = folder / "main.toml"
    sets = [x for o in overrides for x in ("--set", o)]
    code, out, err = call("check", config, *sets)
    assert_clean_outcome(code, err, f"check {files.get('main.toml')!r} {overrides}")
    stats["examples"] += 1
    archive = folder / "out.h5"
    if code != 0:
        try:
            load_config(config, overrides)
        except ConfigError:
            pass
        else:
            assert "sweep" in err, err  # only a bad [sweep] section, which `run` ignores
            return
        # `run` refuses it the same way, before writing anything
        code, out, err = call("run", config, "-o", archive, "-q", *sets)
        assert code == 2, err
        assert_clean_outcome(code, err, "run of an invalid config")
        assert not archive.exists() and not Path(f"{archive}.partial").exists()
        return
    stats["valid"] += 1
    if not engine_safe(load_config(config, overrides).params):
        stats["beyond_engine_range"] += 1
        return
    args = run_args(config, overrides)
    stats["shrunk"] += args is not None and len(args) > len(sets)
    code, out, err = call("run", config, "-o", archive, "-q", *args)
    assert_clean_outcome(code, err, f"run {files.get('main.toml')!r} {args}")
    if args == sets:  # `check` accepted exactly this config, so it must run
        assert code == 0, f"check passed but run failed: {err}"
    if code == 0:
        stats["ran"] += 1
        assert_finite_archive(archive)
    assert not (folder / "PWNED").exists() and not Path("PWNED").exists()


FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


@settings(FUZZ, max_examples=600)
@given(case=config_case())
def test_fuzzed_configs_are_checked_run_or_refused_in_one_line(case, tmp_path_factory):
    files, overrides = case
    check_and_run(files, overrides, tmp_path_factory.getbasetemp())


def sweep_is_small(loaded) -> bool:
    """At most 6 runs, each small and inside the engine's numeric range."""
    import copy

    from geroconvert.config import config_from_mapping, set_path
    from geroconvert.studies.sweep import base_mapping, plan_runs

    specs = plan_runs(loaded.mapping)
    if len(specs) > 6:
        return False
    base = base_mapping(loaded.mapping)
    for spec in specs:
        trial = copy.deepcopy(base)
        for path, value in spec.overrides.items():
            set_path(trial, path, value)
        params = config_from_mapping(trial)
        if work(params) > BUDGET or not engine_safe(params):
            return False
    return True


@settings(FUZZ, max_examples=200)
@given(case=config_case(with_sweep=True))
def test_fuzzed_sweep_sections_are_checked_run_or_refused_in_one_line(case, tmp_path_factory):
    """`check` validates the [sweep] grid too; a sweep it accepts runs; one it refuses writes nothing."""
    files, overrides = case
    folder = write_case(files, tmp_path_factory.getbasetemp())
    config = folder / "main.toml"
    sets = [x for o in overrides for x in ("--set", o)]
    archive = folder / "sweep.h5"
    code, out, err = call("check", config, *sets)
    assert_clean_outcome(code, err, f"check {files.get('main.toml')!r} {overrides}")
    stats = STATS["sweeps"]
    stats["examples"] += 1
    if code != 0:
        code, out, err = call("sweep", config, "-o", archive, "--workers", "1", "-q", *sets)
        assert_clean_outcome(code, err, "sweep of an invalid config")
        assert code == 2
        assert not archive.exists() and not Path(f"{archive}.partial").exists()
        return
    stats["valid"] += 1
    loaded = load_config(config, overrides)
    if loaded.sweep is None or not sweep_is_small(loaded):
        return
    code, out, err = call("sweep", config, "-o", archive, "--workers", "1", "-q", *sets)
    assert_clean_outcome(code, err, f"sweep {files.get('main.toml')!r}")
    assert code == 0, err
    stats["ran"] += 1
    from geroconvert.studies.sweep import plan_runs

    with h5py.File(archive, "r") as f:
        keys = list(f["runs/run"].asstr()[()])
        assert sorted(keys) == sorted(spec.key for spec in plan_runs(loaded.mapping))
        assert list(f["summary/run"].asstr()[()]) == keys
    assert not Path(f"{archive}.parts").exists()  # the sweep's end merged its parts into the archive
    assert_finite_archive(archive)


@settings(FUZZ, max_examples=40)
@given(case=config_case())
def test_fuzzed_configs_through_the_real_command(case, tmp_path_factory):
    """The same, through `python -m geroconvert run` in a subprocess (shrunk to a tiny run)."""
    files, overrides = case
    folder = write_case(files, tmp_path_factory.getbasetemp())
    archive = folder / "out.h5"
    sets = [x for o in overrides for x in ("--set", o)]
    stats = STATS["subprocess"]
    stats["examples"] += 1
    try:
        params = load_config(folder / "main.toml", [*overrides, *SHRINK[1::2]]).params
    except ConfigError:
        pass
    else:
        stats["valid"] += 1
        if not engine_safe(params):
            stats["beyond_engine_range"] += 1
            return
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "geroconvert",
            "run",
            str(folder / "main.toml"),
            "-o",
            str(archive),
            "-q",
            *sets,
            *SHRINK,
        ],
        capture_output=True,
        text=True,
        errors="replace",
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert_clean_outcome(done.returncode, done.stderr, f"{files.get('main.toml')!r} {overrides}")
    if done.returncode == 0:
        stats["ran"] += 1
        assert_finite_archive(archive)
    else:
        assert not archive.exists()
    assert not (folder / "PWNED").exists()


# ---------------------------------------------------------------------------------------
# named cases the fuzzer might miss


@pytest.mark.parametrize(
    "text, message",
    [
        ('extends = "main.toml"\n', "circular"),
        ('[sweep.grid]\n"environment.rapamycin_nM" = { logspace = [0.01, 1000.0, 1e8] }\n', "sweep"),
        (
            '[sweep.grid]\n"environment.rapamycin_nM" = { linspace = [0.0, 1.0, 100000] }\n'
            '"environment.oxygen" = { linspace = [0.0, 1.0, 100000] }\n',
            "sweep",
        ),
        ('[sweep.grid]\n"environment.oxygen" = { linspace = [-1e308, 1e308, 3] }\n', "sweep"),
        ('[sweep.grid]\n"environment.oxygen" = { linspace = [0, inf, 3] }\n', "sweep"),
        ("[sweep]\ngrid = 5\n", "sweep.grid"),
        ('[sweep]\nzip = "x"\n', "sweep.zip"),
        (
            '[sweep]\nreplicates = 10000\n[sweep.grid]\n"environment.oxygen" = { linspace = [0.0, 1.0, 10000] }\n',
            "sweep",
        ),
        ("[simulation]\ndt_h = 1e-300\n", "simulation.dt_h"),
        ("[assays]\nreplate_hours = 1e300\nrpp_times_h = [0]\n", "assays.replate_hours"),
        ("[cells]\nsasp_diffusion_per_h = 1e300\n", "cells.sasp_diffusion_per_h"),
        (
            "[simulation]\nwidth = 200\nheight = 200\n"
            "[assays]\nmax_cells = 40000\ntile_sites = 100\nrpp_times_h = [0]\n",
            "assays.",
        ),
    ],
)
def test_configs_that_would_hang_or_blow_up_are_refused_at_once(tmp_path, text, message):
    """Work the engine could never finish (or memory it cannot have) is refused by `check` in one line."""
    config = tmp_path / "main.toml"
    config.write_text(text)
    code, out, err = call("check", config)
    assert code == 2, out + err
    assert_clean_outcome(code, err, text)
    assert message in err


def test_circular_extends_names_the_chain(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "c.toml"\n')
    (tmp_path / "c.toml").write_text('extends = "a.toml"\n')
    code, out, err = call("check", tmp_path / "a.toml")
    assert code == 2 and "circular chain a.toml -> b.toml -> c.toml -> a.toml" in err
    assert_clean_outcome(code, err, "cycle")


def test_load_config_raises_only_config_errors_on_non_configs(tmp_path):
    """The Python API: a directory, a binary file, a missing file -> ConfigError, nothing else."""
    (tmp_path / "bin.toml").write_bytes(b"\x00\xff" * 10)
    for path in (tmp_path, tmp_path / "bin.toml", tmp_path / "missing.toml"):
        with pytest.raises(ConfigError):
            load_config(path)


def test_fuzz_counts():
    """Last in this file: each fuzzer that ran drew its examples, and many of them were run."""
    print(f"fuzz statistics: {STATS}")  # shown with pytest -s
    wanted = {"configs": (600, 150, 150), "sweeps": (200, 50, 20), "subprocess": (40, 5, 5)}
    ran_any = False
    for name, (examples, valid, ran) in wanted.items():
        stats = STATS[name]
        if stats["examples"] == 0:
            continue  # that fuzzer was not selected
        ran_any = True
        assert stats["examples"] >= examples and stats["valid"] >= valid and stats["ran"] >= ran, (name, stats)
    if not ran_any:
        pytest.skip("run with the fuzz tests above")
