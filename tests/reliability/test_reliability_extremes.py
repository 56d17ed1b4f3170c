"""Valid extremes run to the end through the real command, with finite archives.

Empty and full lattices, every cell senescent, no drug and 1e6 nM, the smallest and
largest time steps, a one-cell-wide epidermis, a one-site dish and a zero-hour run:
each is a legal config, so ``geroconvert run`` must finish (exit 0) and the archive
must hold only finite numbers, except the documented NaNs (see
``test_reliability_fuzz.assert_finite_archive``).
"""

from __future__ import annotations

import numpy as np
import pytest

from geroconvert.archive.reader import complete_run_keys, read_run
from tests.conftest import CONFIGS, run_geroconvert
from tests.reliability.test_reliability_fuzz import assert_finite_archive, call

HT = CONFIGS / "ht_p21.toml"
EPIDERMIS = CONFIGS / "epidermis_small.toml"
SMALL = [
    "--set",
    "simulation.width=16",
    "--set",
    "simulation.height=16",
    "--set",
    "simulation.hours=96",
    "--set",
    "assays.rpp_times_h=[0, 48, 96]",
    "--set",
    "assays.max_cells=20",
    "--set",
    "simulation.snapshot_every_h=48",
]


def sets(**values) -> list[str]:
    return [x for key, value in values.items() for x in ("--set", f"{key.replace('__', '.')}={value}")]


# id, config, --set arguments, check(series, rpp, summary, attrs of the file)
CASES = [
    (
        "empty-lattice",
        HT,
        SMALL + sets(simulation__initial_density=0.0),
        lambda s, r, m: (s["n_cells"] == 0).all() and (r["n_replated"] == 0).all() and np.isnan(r["rpp"]).all(),
    ),
    (
        "full-lattice",
        HT,
        SMALL + sets(simulation__initial_density=1.0),
        lambda s, r, m: s["n_cells"][0] == 16 * 16 and (s["n_cells"] == 16 * 16).all(),
    ),
    (
        "all-senescent",
        HT,
        SMALL + sets(cells__gero_rate_per_h=100.0, environment__inducer=1.0),
        lambda s, r, m: s["senescent_fraction"][-1] == 1.0 and r["rpp"][-1] == 0.0,
    ),
    (
        "dose-0",
        HT,
        SMALL + sets(environment__rapamycin_nM=0.0, environment__pan_mtor_nM=0.0),
        lambda s, r, m: r["rpp"][-1] < 0.5,
    ),
    (
        "dose-1e6-nM",
        HT,
        SMALL + sets(environment__rapamycin_nM=1e6, environment__pan_mtor_nM=1e6),
        lambda s, r, m: r["rpp"][-1] > 0.5,
    ),
    (
        "dt-tiny",
        HT,
        SMALL
        + sets(
            simulation__dt_h=0.001,
            simulation__hours=1.0,
            simulation__record_every_h=0.5,
            simulation__snapshot_every_h=0.5,
            assays__replate_hours=0.5,
        )
        + ["--set", "assays.rpp_times_h=[0, 1]"],
        lambda s, r, m: list(s["time_h"]) == [0.0, 0.5, 1.0],
    ),
    (
        "dt-24h",
        HT,
        SMALL
        + sets(simulation__dt_h=24.0, simulation__record_every_h=24.0, simulation__hours=240.0)
        + ["--set", "assays.rpp_times_h=[0, 48, 96, 240]"],
        lambda s, r, m: list(s["time_h"]) == [24.0 * k for k in range(11)],
    ),
    (
        "epidermis-one-cell-wide",
        EPIDERMIS,
        sets(
            simulation__width=1,
            simulation__height=3,
            simulation__dermis_rows=1,
            simulation__initial_thickness_rows=1,
            simulation__hours=500.0,
            simulation__snapshot_every_h=100.0,
        ),
        lambda s, r, m: s["n_cells"][0] >= 1,
    ),
    (
        "epidermis-one-site",
        EPIDERMIS,
        sets(
            simulation__width=1,
            simulation__height=1,
            simulation__dermis_rows=0,
            simulation__initial_thickness_rows=0,
            simulation__hours=200.0,
        ),
        lambda s, r, m: s["n_cells"].max() <= 1,
    ),
    (
        "dish-one-site",
        HT,
        SMALL + sets(simulation__width=1, simulation__height=1, simulation__initial_density=1.0),
        lambda s, r, m: (s["n_cells"] == 1).all(),
    ),
    (
        "zero-hours",
        HT,
        SMALL + sets(simulation__hours=0.0) + ["--set", "assays.rpp_times_h=[0]"],
        lambda s, r, m: list(s["time_h"]) == [0.0] and len(r["rpp"]) == 1,
    ),
]


@pytest.mark.parametrize("name, config, args, expect", CASES, ids=[c[0] for c in CASES])
def test_valid_extremes_run_to_the_end_with_finite_archives(tmp_path, name, config, args, expect):
    out = tmp_path / f"{name}.h5"
    done = run_geroconvert("run", config, "-o", out, *args, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    assert out.exists() and not (tmp_path / f"{name}.h5.partial").exists()
    assert_finite_archive(out)
    assert complete_run_keys(out) == ["run0"]  # the one run, in the one file
    assert not (tmp_path / f"{name}.h5.parts").exists()
    run = read_run(out, "run0")  # the run's own times: /timeseries and /rpp rows where it recorded
    series, rpp, summary = run["timeseries"], run["rpp"], run["summary"]
    hours = float(next(arg.split("=")[1] for arg in reversed(args) if arg.startswith("simulation.hours=")))
    assert series["time_h"][-1] == hours  # ran to the end
    assert expect(series, rpp, summary), (name, series["n_cells"], rpp, summary)


# ---------------------------------------------------------------------------------------
# Absurd cell parameters that the fuzzer found writing NaN or inf into archives (Hill
# overflow, float32 state overflow).  params.py now bounds Hill slopes, IC50s and rates, so
# they are refused at the front door (exit 2); a finite archive would also do.

ENGINE_NAN = [
    # pharmacology.hill_inhibition: (C/IC50)^h overflows to inf and inf/(1+inf) is NaN
    ("hill-overflow", ["cells.rapa_hill=72.0", "environment.rapamycin_nM=10000000.0"]),
    ("tiny-ic50", ["cells.rapa_s6k_ic50_nM=1e-300", "cells.rapa_hill=2.0", "environment.rapamycin_nM=5.0"]),
    # unbounded rates overflow the float32 cell state (gero progress, p16, SASP)
    ("gero-rate-1e300", ["cells.gero_rate_per_h=1e300"]),
    ("sasp-secretion-1e300", ["cells.sasp_secretion_per_h=1e300", "cells.gero_rate_per_h=1000.0"]),
    ("mtor-m0-1e300", ["cells.mtor_m0=1e300"]),
]


@pytest.mark.parametrize("overrides", [c[1] for c in ENGINE_NAN], ids=[c[0] for c in ENGINE_NAN])
def test_accepted_extreme_cell_parameters_give_finite_archives(tmp_path, overrides):
    out = tmp_path / "x.h5"
    code, stdout, stderr = call("run", HT, "-o", out, "-q", *SMALL, *[x for o in overrides for x in ("--set", o)])
    if code == 2:
        return  # refused at the front door: also a fix
    assert code == 0, stderr
    if "Warning" in stderr:  # not an assert: pytest would diff a huge stderr for minutes
        pytest.fail(stderr[-1000:])
    assert_finite_archive(out)
