"""`sweep --posterior` and `validate --posterior`: predictions over posterior draws, through the command."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest

from geroconvert.archive.posterior import Posterior, write_posterior
from geroconvert.parameters.calibrated import CALIBRATED
from tests.conftest import ROOT
from tests.interfaces.test_sweep_cli import geroconvert

FITTED = ("cells.gero_rate_per_h", "cells.gero_threshold_sigma", "cells.w_gero")


@pytest.fixture
def posterior_file(tmp_path):
    """A posterior of 30 particles around the calibrated constants, w_gero spread widely."""
    rng = np.random.default_rng(0)
    centre = np.array([CALIBRATED[name.split(".")[1]] for name in FITTED])
    samples = centre * rng.uniform(0.9, 1.1, size=(30, 3))
    samples[:, 2] = rng.uniform(0.4, 0.9, size=30)  # the S6K share sets the slowdown
    posterior = Posterior(
        names=FITTED,
        samples=samples,
        weights=np.full(30, 1 / 30),
        distance=np.full(30, 0.5),
        targets=[{"name": "slowdown", "value": 3.0, "tolerance": 0.5, "source": "test"}],
        generations=[{"epsilon": 0.9, "particles": 30, "evaluations": 100}],
        statistics={"slowdown": np.full(30, 3.0)},
    )
    return write_posterior(tmp_path / "posterior.h5", posterior, {"command": "test"})


TINY_DOSES = [
    "--set", "simulation.width=24", "--set", "simulation.height=24", "--set", "simulation.hours=240",
    "--set", "assays.rpp_times_h=[0, 24, 48, 72, 96, 144, 192, 240]", "--set", "assays.max_cells=60",
    "--set", "sweep.replicates=1",
    "--set", 'sweep.grid={"environment.rapamycin_nM" = [0, 1, 100]}',
]  # fmt: skip


def test_a_sweep_over_posterior_draws_reports_each_prediction_with_its_band(tmp_path, posterior_file):
    out = tmp_path / "sweep.h5"
    config = ROOT / "configs" / "rapamycin_dose_sweep.toml"
    done = geroconvert("sweep", config, "-o", out, "--posterior", posterior_file, "--draws", "4", *TINY_DOSES)
    assert done.returncode == 0, done.stderr
    assert "12 run(s) completed" in done.stdout  # 3 doses x 4 draws x 1 replicate
    with h5py.File(out) as f:
        draws = {tuple(row) for row in np.column_stack([f["summary"][p][()] for p in FITTED])}
    assert len(draws) == 4
    report = geroconvert("report", out, "-o", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    with open(tmp_path / "report" / "posterior_predictive.csv", encoding="utf-8") as handle:
        rows = {row["quantity"]: row for row in csv.DictReader(handle)}
    assert set(rows) >= {"EC50_nM", "Smax", "slowdown at 1 nM", "slowdown at 100 nM"}
    at100 = rows["slowdown at 100 nM"]
    assert float(at100["low_5"]) <= float(at100["median"]) <= float(at100["high_95"]) and at100["draws"] == "4"
    # a wide prior on w_gero makes the high-dose slowdown differ between draws
    assert float(at100["high_95"]) - float(at100["low_5"]) > 0.1
    assert (tmp_path / "report" / "posterior_dose_response_rapamycin_0.png").stat().st_size > 0
    assert not list((tmp_path / "report").glob("dose_response_*"))  # no figure per draw
    # resuming with the same file and count finds every run; another count is another sweep
    again = geroconvert(
        "sweep", config, "-o", out, "--resume", "--posterior", posterior_file, "--draws", "4", *TINY_DOSES
    )
    assert again.returncode == 0 and "0 run(s) completed, 12 already there" in again.stdout
    other = geroconvert(
        "sweep", config, "-o", out, "--resume", "--posterior", posterior_file, "--draws", "3", *TINY_DOSES
    )
    assert other.returncode == 2 and "differs" in other.stderr


def test_posterior_mistakes_are_one_line_and_touch_nothing(tmp_path, posterior_file):
    config = ROOT / "configs" / "rapamycin_dose_sweep.toml"
    before = posterior_file.read_bytes()
    for args, words in (
        (["-o", posterior_file, "--posterior", posterior_file, "--overwrite"], "an input of this run"),
        (["-o", tmp_path / "x.h5", "--draws", "3"], "add --posterior or drop --draws"),
        (["-o", tmp_path / "x.h5", "--posterior", tmp_path], "is a directory"),
    ):
        done = geroconvert("sweep", config, *args)
        assert done.returncode == 2 and words in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert posterior_file.read_bytes() == before and not (tmp_path / "x.h5").exists()


def test_a_skin_sweep_gets_the_draws_as_its_parameter_set_scales_them(tmp_path, posterior_file):
    from geroconvert.parameters.paramsets import cells

    out = tmp_path / "skin.h5"
    config = ROOT / "configs" / "epidermis_small.toml"
    sets = ["--set", "simulation.hours=48", "--set", "simulation.width=8"]
    sets += ["--set", 'sweep.grid={"environment.mtor_gain" = [1]}']
    done = geroconvert("sweep", config, "-o", out, "--posterior", posterior_file, "--draws", "2", "-q", *sets)
    assert done.returncode == 0, done.stderr
    with h5py.File(out) as f:
        rates = f["summary"]["cells.gero_rate_per_h"][()]
    tissue = cells("human_epidermis").gero_rate_per_h  # a tenth of the calibrated rate
    assert np.all(np.abs(rates / tissue - 1) < 0.11)  # the draws lie within 10% of the calibrated values


def test_validate_over_posterior_draws_gives_bands_and_probabilities(tmp_path, posterior_file):
    out = tmp_path / "cases.json"
    done = geroconvert("validate", "--posterior", posterior_file, "--draws", "2", "--quick", "--json", out, timeout=900)
    assert done.returncode in (0, 1), done.stderr
    assert "P(in band)" in done.stdout and "2 posterior draws" in done.stdout
    cases = {case["case"]: case for case in json.loads(out.read_text())}
    # exit code 1 exactly when a case fails in (nearly) every draw, as `validate` fails on a failed case
    assert done.returncode == int(any(case["verdict"] == "fails" for case in cases.values()))
    slowdown = cases["t50 slowdown by rapamycin 500 nM"]
    assert len(slowdown["values"]) == 2 and slowdown["values"][0] != slowdown["values"][1]
    assert slowdown["band_5_95"][0] <= slowdown["median"] <= slowdown["band_5_95"][1]
    assert slowdown["probability_in_band"] in (0.0, 0.5, 1.0) and slowdown["verdict"] in ("holds", "fails", "uncertain")


TINY_TRIAL = [
    "--set", "simulation.width=24", "--set", "trial.subjects=4",
    "--set", "trial.age_min_years=32", "--set", "trial.age_max_years=36", "--set", "trial.visits_months=[0, 4]",
]  # fmt: skip


def test_the_trial_over_posterior_draws_gives_its_difference_a_band_and_its_verdict_probabilities(
    tmp_path, posterior_file
):
    config = ROOT / "configs" / "split_hand_trial.toml"
    out = tmp_path / "trial"
    done = geroconvert("trial", config, "-o", out, "--posterior", posterior_file, "--draws", "2", *TINY_TRIAL)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "posterior_trial.json").read_text())
    assert summary["draws"] == 2 and sum(summary["probability"].values()) == pytest.approx(1.0)
    median, low, high = summary["treated_minus_placebo_points"]
    assert low <= median <= high
    assert [d["difference_points"] for d in summary["per_draw"]] != [0.0, 0.0]
    # each draw is a trial of its own, with the draw's constants in its resolved config
    for k in range(2):
        assert (out / f"draw_{k:03d}" / "summary.txt").is_file()
    # resuming a finished study reruns no subject and gives the same answer
    again = geroconvert(
        "trial", config, "-o", out, "--resume", "--posterior", posterior_file, "--draws", "2", *TINY_TRIAL
    )
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "posterior_trial.json").read_text())["per_draw"] == summary["per_draw"]
