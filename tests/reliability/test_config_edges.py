"""Config input at the edges (issue 13, items 7, 9, 12 and 13): special and huge files,
a UTF-8 BOM, integers past Python's 4300-digit limit, bad ``[trial]`` values and sweep
axes that would run the wrong grid.

On the code before these tests: a FIFO as CONFIG blocked forever and ``/dev/zero`` grew
memory without bound; ``extends`` to a directory said "not found"; a BOM was "Invalid
statement"; a 5000-digit integer was exit 1; most bad ``[trial]`` values were exit 1
(some after seconds of work) and ``check`` ignored ``[trial]``; a key in both
``[sweep.grid]`` and ``[sweep.zip]`` or a grid over ``simulation.seed`` ran silently.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest

from geroconvert.config import ConfigError, load_config, loading, read_toml
from geroconvert.config.limits import MAX_CONFIG_BYTES
from geroconvert.studies.sweep import parse_sweep, plan_runs
from geroconvert.studies.trial import TrialSpec
from tests.conftest import CONFIGS, run_geroconvert
from tests.helpers import TINY_RUN
from tests.reliability.test_output_targets import assert_refused

TRIAL = CONFIGS / "split_hand_trial.toml"
HUGE = "9" * 5000  # past int()'s 4300-digit limit


# ---- files that are not config files ------------------------------------------------------
def test_a_fifo_config_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    done = run_geroconvert("check", fifo, timeout=60)  # the old code blocked here forever
    assert_refused(done, str(fifo), "not a regular file")


def test_a_device_config_is_refused_before_it_is_read():
    with pytest.raises(ConfigError, match="not a regular file") as error:
        read_toml(Path("/dev/zero"))  # the old code read it until memory ran out
    assert "\n" not in str(error.value)


def test_a_file_larger_than_its_size_said_is_read_only_to_the_limit(tmp_path, monkeypatch):
    """A file that grows after the check (or, like /proc files, says it has 0 bytes) is
    still never read whole: at most one byte past the limit."""
    big = tmp_path / "growing.toml"
    big.write_text("#" * (2 * MAX_CONFIG_BYTES))
    monkeypatch.setattr(loading, "file_problem", lambda path: None)
    monkeypatch.setattr(loading.os, "fstat", lambda fd: os.stat_result((stat.S_IFREG | 0o644, *[0] * 9)))
    with pytest.raises(ConfigError) as error:
        read_toml(big)
    assert f"({MAX_CONFIG_BYTES + 1:,} bytes)" in str(error.value)


def test_a_config_over_the_size_limit_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("#" * MAX_CONFIG_BYTES + "\n")  # a valid TOML comment, one byte too many
    done = run_geroconvert("check", big, timeout=60)
    assert_refused(done, str(big), f"{MAX_CONFIG_BYTES:,} bytes")
    within = tmp_path / "within.toml"
    within.write_text("#" * (MAX_CONFIG_BYTES - 1) + "\n")
    assert load_config(within).params is not None


@pytest.mark.parametrize("target", ["directory", "fifo"])
def test_extends_to_something_that_exists_but_is_not_a_file(tmp_path, target):
    parent = tmp_path / "parent"
    os.mkdir(parent) if target == "directory" else os.mkfifo(parent)
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent"\n')
    done = run_geroconvert("check", child, timeout=60)
    assert_refused(done, "extends", "'parent'", "directory" if target == "directory" else "not a regular file")
    assert "not found" not in done.stderr


def test_a_utf8_bom_is_accepted(tmp_path):
    config = tmp_path / "bom.toml"
    config.write_bytes(b"\xef\xbb\xbf" + (CONFIGS / "ht_p21.toml").read_bytes())  # as Windows Notepad saves
    done = run_geroconvert("check", config, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_config(config).params == load_config(CONFIGS / "ht_p21.toml").params


# ---- integers past the 4300-digit limit ---------------------------------------------------
def test_a_huge_integer_in_a_file_names_its_field(tmp_path):
    config = tmp_path / "huge.toml"
    config.write_text(f'extends = "{CONFIGS / "ht_p21.toml"}"\n[simulation]\nwidth = 8\nseed = {HUGE}\n')
    done = run_geroconvert("check", config, timeout=120)
    assert_refused(done, str(config), "line 4", "simulation.seed", "4300 digits")


def test_a_huge_integer_in_a_set_names_its_field():
    done = run_geroconvert("check", CONFIGS / "ht_p21.toml", "--set", f"simulation.seed={HUGE}", timeout=120)
    assert_refused(done, "--set simulation.seed", "4300 digits")


# ---- [trial] ------------------------------------------------------------------------------
BAD_TRIAL = [
    ('visits_months=["a"]', "trial.visits_months", "number"),
    ("visits_months=5", "trial.visits_months", "list"),
    ("visits_months=[0,nan]", "trial.visits_months", "finite"),
    ("visits_months=[0]", "trial.visits_months", "at least two"),
    ('age_min_years="x"', "trial.age_min_years", "number"),
    ('damage_sd_log="0.3"', "trial.damage_sd_log", "without quotes"),
    ('seed="x"', "trial.seed", "integer"),
    ("seed=-1", "trial.seed", "from 0"),
    ("seed=1e300", "trial.seed", "integer"),
    ("subjects=100000", "trial.subjects", "from 2 to 10000"),
    ("subjects=true", "trial.subjects", "integer"),
    (f"age_max_years={'9' * 400}", "trial.age_max_years", "120"),
    ("age_min_years=80", "trial.age_min_years", "age_max_years"),
    ("visits_months=[0,1e300]", "trial.visits_months", "last visit"),
]


@pytest.mark.parametrize("setting, field, fix", BAD_TRIAL)
def test_check_refuses_each_bad_trial_value(setting, field, fix):
    done = run_geroconvert("check", TRIAL, "--set", f"trial.{setting}", timeout=120)
    assert_refused(done, field, fix)


def test_the_trial_command_refuses_before_any_work(tmp_path):
    out = tmp_path / "out"
    done = run_geroconvert("trial", TRIAL, "-o", out, "--set", "trial.visits_months=[0,nan]", timeout=60)
    assert_refused(done, "trial.visits_months", "finite")
    assert not out.exists()


@pytest.mark.parametrize("table", [5, {"subjects": [3]}, {"start_age_years": math.inf}])
def test_trial_spec_raises_config_errors_only(table):
    with pytest.raises(ConfigError, match=r"^trial"):
        TrialSpec.from_table(table)


def test_check_reports_a_valid_trial():
    done = run_geroconvert("check", TRIAL, "--set", "trial.subjects=3", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "with a [trial] section of 3 subjects" in done.stdout
    assert TrialSpec.from_table({"visits_months": [0, 2]}).visits_months == (0.0, 2.0)


def test_check_refuses_a_trial_the_trial_command_cannot_run():
    done = run_geroconvert("check", CONFIGS / "ht_p21.toml", "--set", "trial.subjects=3", timeout=120)
    assert_refused(done, "simulation.geometry", "epidermis")


# ---- sweep axes ---------------------------------------------------------------------------
DOSES = "[0.0, 1.0, 10.0]"
BAD_AXES = [
    (
        f'[sweep.grid]\n"environment.rapamycin_nM" = {DOSES}\n[sweep.zip]\n"environment.rapamycin_nM" = [0.5, 5.0]\n',
        ["sweep.grid", "sweep.zip", "environment.rapamycin_nM"],
    ),
    ('[sweep.grid]\n"simulation.seed" = [1, 2]\n', ["simulation.seed", "sweep.seed", "sweep.replicates"]),
    ('[sweep.zip]\n"simulation.seed" = [1, 2]\n"environment.oxygen" = [1.0, 0.5]\n', ["simulation.seed", "sweep.seed"]),
    ('[sweep.grid]\n"sweep.replicates" = [1, 2]\n', ["sweep.replicates", "sweep.seed"]),
    ('[sweep.grid]\n"trial.subjects" = [3, 4]\n', ["trial.subjects", "trial"]),
    ("[sweep.grid]\nsimulation = [{ seed = 1 }, { seed = 2 }]\n", ["sweep.grid.simulation", "name a key inside"]),
    ("[sweep.grid.environment]\nrapamycin_nM = [0.0, 1.0]\n", ["sweep.grid.environment", "quote the path"]),
    (
        "[[schedule]]\ntime_h = 10.0\ninducer = 0.0\n"
        '[sweep.grid]\n"schedule.0" = [{ time_h = 1.0 }]\n[sweep.zip]\n"schedule.0.time_h" = [2.0]\n',
        ["schedule.0.time_h", "schedule.0"],
    ),
    ('[sweep.grid]\n"environment.rapamycin_nM" = [0.0, 1.0, 0]\n', ["environment.rapamycin_nM", "twice"]),
    ('[sweep.grid]\n"environment.oxygen" = { linspace = [0, 1, 3], zero = true }\n', ["environment.oxygen", "twice"]),
    ('[sweep.zip]\n"environment.oxygen" = [1.0, 1.0]\n"environment.mitogen" = [0.5, 0.5]\n', ["sweep.zip", "twice"]),
]


@pytest.mark.parametrize("sweep, words", BAD_AXES)
def test_check_refuses_axes_that_would_run_the_wrong_grid(tmp_path, sweep, words):
    config = tmp_path / "sweep.toml"
    config.write_text(f'extends = "{CONFIGS / "ht_p21.toml"}"\n{sweep}')
    done = run_geroconvert("check", config, timeout=120)
    assert_refused(done, *words)


def test_the_sweep_command_refuses_a_seed_axis(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(f'extends = "{CONFIGS / "ht_p21.toml"}"\n[sweep.grid]\n"simulation.seed" = [1, 2]\n')
    done = run_geroconvert("sweep", config, "-o", tmp_path / "s.h5", "--workers", "1", *TINY_RUN, timeout=120)
    assert_refused(done, "simulation.seed", "sweep.replicates")
    assert not (tmp_path / "s.h5").exists()


def test_distinct_axes_and_values_still_sweep():
    points, replicates, seed = parse_sweep(
        {
            "replicates": 2,
            "grid": {"environment.rapamycin_nM": [0, 1, 10], "assays.rpp_times_h": [[0.0, 24.0], [0.0, 48.0]]},
            "zip": {"environment.oxygen": [1.0, 0.5], "environment.mitogen": [1.0, 1.0]},
        },
        default_seed=3,
    )
    assert (len(points), replicates, seed) == (3 * 2 * 2, 2, 3)
    specs = plan_runs({"simulation": {"width": 8, "height": 8}, "sweep": {"grid": {"environment.inducer": [0, 1]}}})
    assert [s.overrides for s in specs] == [{"environment.inducer": 0}, {"environment.inducer": 1}]
