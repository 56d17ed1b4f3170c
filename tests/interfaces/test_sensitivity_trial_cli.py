"""A sensitivity study of the split-hand trial's outputs: every design point runs the whole cohort."""

from __future__ import annotations

import copy
import csv

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.interfaces.test_sensitivity_cli import assert_dask_equals_local, assert_resumed_equals_whole
from tests.interfaces.test_sweep_cli import geroconvert

TRIAL = f"""
extends = "{(ROOT / "configs" / "split_hand_trial.toml").as_posix()}"
[simulation]
width = 20
[trial]
subjects = 3
seed = 7
age_min_years = 24
age_max_years = 26
visits_months = [0, 2]
[sensitivity]
method = "morris"
samples = 2
seed = 3
parameters = ["dosing.penetration_fraction", "cells.w_gero"]
outputs = ["trial_difference", "trial_treated_change_epidermis"]
"""


@pytest.fixture
def trial_study(tmp_path):
    config = tmp_path / "trial_study.toml"
    config.write_text(TRIAL, encoding="utf-8")
    return config


def test_each_point_runs_the_same_cohort_and_its_values_are_the_trials_own(tmp_path, trial_study):
    from geroconvert import open_archive
    from geroconvert.config import load_config, set_path
    from geroconvert.studies.sensitivity import distinct_points, plan_study
    from geroconvert.studies.trial import run_trial

    out = tmp_path / "study.h5"
    done = geroconvert("sensitivity", trial_study, "-o", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    mapping = load_config(trial_study).mapping
    design, _ = plan_study(mapping)
    points = distinct_points(design)
    assert design.trial and design.replicates == 3
    assert f"{len(points) * 3} run(s) completed" in done.stdout
    archive = open_archive(out)
    summary = archive.summary
    # the cohort is the same at every point: subject s keeps the trial's seed + s
    assert sorted(set(summary["seed"])) == [7, 8, 9] and sorted(set(summary["replicate"])) == [0, 1, 2]
    # a point's runs are the subjects `geroconvert trial` runs with the point's values
    point = points[-1]
    at_point = summary[np.isclose(summary["dosing.penetration_fraction"], point["dosing.penetration_fraction"])]
    at_point = at_point[np.isclose(at_point["cells.w_gero"], point["cells.w_gero"])].sort_values("replicate")
    trial_mapping = copy.deepcopy(mapping)
    for path, value in point.items():
        set_path(trial_mapping, path, value)
    trial = run_trial(trial_mapping, workers=1)
    np.testing.assert_array_equal(at_point["trial_difference"].to_numpy(), trial.treated[:, -1] - trial.placebo[:, -1])
    assert at_point["trial_difference"].mean() == pytest.approx(trial.final_difference.mean, rel=1e-12, abs=1e-15)
    ages = [subject["age_years"] for subject in trial.subjects]
    np.testing.assert_array_equal(at_point["age_years"].to_numpy(), ages)
    # both hands by visit are the run's series
    series = archive.timeseries.sel(run=at_point.index[0])
    np.testing.assert_array_equal(series["treated_p16_positive_fraction"].to_numpy(), trial.treated[0])
    np.testing.assert_array_equal(series["placebo_p16_positive_fraction"].to_numpy(), trial.placebo[0])

    report = geroconvert("report", out, "-o", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    with open(tmp_path / "report" / "sensitivity.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["output"], r["parameter"]) for r in rows} == {(o, p) for o in design.outputs for p in design.parameters}
    assert "the replicates are the trial's 3 subjects" in (tmp_path / "report" / "sensitivity.txt").read_text()
    # each design row with its cohort means: the point above is the trial run here
    with open(tmp_path / "report" / "sensitivity_points.csv", encoding="utf-8") as handle:
        points = list(csv.DictReader(handle))
    assert len(points) == len(design.values) and all(p["replicates"] == "3" for p in points)
    here = [
        p
        for p in points
        if float(p["dosing.penetration_fraction"]) == point["dosing.penetration_fraction"]
        and float(p["cells.w_gero"]) == point["cells.w_gero"]
    ]
    assert here and all(float(p["trial_difference_mean"]) == pytest.approx(trial.final_difference.mean) for p in here)


def test_a_trial_study_on_a_dask_cluster_runs_the_subjects_too(tmp_path, trial_study, dask_cluster):
    assert_dask_equals_local(trial_study, tmp_path, dask_cluster)


TRIAL_OUTPUTS_LINE = 'outputs = ["trial_difference", "trial_treated_change_epidermis"]\n'
BAD = [
    ('outputs = ["trial_difference", "final_n_stem"]', "'trial_difference' is the trial's and 'final_n_stem'"),
    ("replicates = 2", "sensitivity.replicates: a trial study's replicates are the trial's subjects"),
    ('[sensitivity.contrast]\n"dosing.topical_uM" = [0, 10]', "sensitivity.contrast: the trial is its own contrast"),
    ('outputs = ["trial_diference"]', "did you mean 'trial_difference'?"),
    (
        'outputs = ["trial_difference:ratio"]\n[sensitivity.contrast]\n"dosing.topical_uM" = [0, 10]',
        "'trial_difference:ratio': the trial is its own contrast",
    ),
]


@pytest.mark.parametrize("line,message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_trial_study_input_is_one_line_exit_2_and_writes_nothing(tmp_path, line, message):
    # [sensitivity] is the last table, so the line lands in it (a [sensitivity.contrast] after it)
    text = TRIAL.replace(TRIAL_OUTPUTS_LINE, "") if line.startswith("outputs") else TRIAL
    config = tmp_path / "bad.toml"
    config.write_text(text + line + "\n", encoding="utf-8")
    out = tmp_path / "out.h5"
    done = geroconvert("sensitivity", config, "-o", out)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr
    assert not out.exists()


def test_a_trial_output_without_a_trial_names_the_section_to_add(tmp_path):
    config = tmp_path / "no_trial.toml"
    text = TRIAL[: TRIAL.index("[trial]")] + TRIAL[TRIAL.index("[sensitivity]") :]
    text = text.replace("split_hand_trial.toml", "human_skin.toml")  # the skin without the trial's section
    config.write_text(text, encoding="utf-8")
    done = geroconvert("sensitivity", config, "-o", tmp_path / "out.h5")
    assert done.returncode == 2 and "add a [trial] section" in done.stderr
    dish = tmp_path / "dish.toml"
    dish.write_text(TRIAL.replace("split_hand_trial.toml", "ht_p21.toml"), encoding="utf-8")
    done = geroconvert("sensitivity", dish, "-o", tmp_path / "out.h5")
    assert done.returncode == 2 and 'the split-hand trial needs geometry = "epidermis"' in done.stderr


def test_a_cohort_whose_damage_multiplier_leaves_a_bound_is_refused_before_any_run(tmp_path):
    from geroconvert.config.trial_section import TrialSpec, subject_traits

    spec = TrialSpec(subjects=3, seed=7, damage_sd_log=3.0)
    largest = max(subject_traits(spec, s)[1] for s in range(3))
    assert largest > 1.5  # the premise: some subject's damage rate is well above the config's
    config = tmp_path / "wide.toml"
    text = TRIAL.replace("visits_months = [0, 2]", "visits_months = [0, 2]\ndamage_sd_log = 3.0")
    rate = 10.0 / largest * 1.2  # valid for the config, 1.2 times the bound for that subject
    config.write_text(text.replace("[trial]", f"[environment]\ndamage_rate_per_h = {rate}\n[trial]"), encoding="utf-8")
    for command in ("sensitivity", "trial"):
        done = geroconvert(command, config, "-o", tmp_path / f"{command}.out")
        assert done.returncode == 2, done.stderr
        assert "the cohort's largest damage multiplier" in done.stderr and "damage_rate_per_h" in done.stderr
        assert done.stderr.count("\n") == 1 and not (tmp_path / f"{command}.out").exists()


def test_a_stopped_trial_study_resumes_its_missing_subjects_and_gives_the_same_archive(tmp_path, trial_study):
    assert_resumed_equals_whole(trial_study, tmp_path)  # the resumed runs are subjects too, not plain runs
