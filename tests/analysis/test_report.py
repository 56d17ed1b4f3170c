"""Report: figures and summary from a real (small) rapamycin sweep and from synthetic sweeps."""

import csv
import itertools

import numpy as np
import pytest

from geroconvert.analysis import plotting
from geroconvert.analysis import stats as analysis
from geroconvert.analysis.report import dose_slices, write_report
from geroconvert.archive.sweepdata import SweepData
from geroconvert.core.engine import Simulation
from tests.analysis.test_analysis import synthetic_sweep
from tests.helpers import ht_p21

DOSES_NM = [0.0, 0.1, 1.0, 10.0, 500.0]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rapamycin_sweep():
    """HT-p21 in serum, inducer on, 8 days, RPP daily; 5 doses x 2 replicates (seeds shared across doses)."""
    runs = []
    for g, dose in enumerate(DOSES_NM):
        params = ht_p21(hours=192, rpp_times=range(0, 193, 24), environment={"rapamycin_nM": dose})
        for rep in (0, 1):
            results = Simulation(params, seed=rep).run()
            runs.append((f"g{g:03d}_r{rep:02d}", rep, {"environment.rapamycin_nM": dose}, results))
    return SweepData.from_results(runs)


def check_figures(paths, names):
    by_name = {p.name: p for p in paths}
    for name in names:
        png, svg = by_name[f"{name}.png"], by_name[f"{name}.svg"]
        assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 10_000
        assert b"<svg" in svg.read_bytes()[:2000]


def test_report_of_a_rapamycin_sweep(rapamycin_sweep, tmp_path):
    paths = write_report(rapamycin_sweep, tmp_path / "report", n_boot=500, hill_boot=200)
    assert all(p.exists() and p.parent == tmp_path / "report" for p in paths)
    check_figures(paths, ["rpp_curves", "hypertrophy", "dose_response_rapamycin"])
    text = (tmp_path / "report" / "summary.txt").read_text()
    assert "EC50" in text and "Smax" in text and "nM" in text
    for dose in ("0.1 nM", "500 nM"):
        assert f"rapamycin {dose}" in text
    with (tmp_path / "report" / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["environment.rapamycin_nM"]) for r in rows] == DOSES_NM
    assert float(rows[0]["slowdown"]) == 1.0


def test_rapamycin_slows_rpp_loss_about_threefold(rapamycin_sweep):
    """Saturating rapamycin slows geroconversion ~3-fold, not completely (Demidenko et al. 2009)."""
    dr = analysis.dose_response(rapamycin_sweep, n_boot=300, hill_boot=100)
    assert dr.hill.converged, dr.hill.message
    saturating = float(dr.hill.predict(500.0))
    assert 2.0 <= saturating <= 4.5
    # slowdown rises with dose (paired lower bounds where censored)
    bounds = [s.lower_bound for s in dr.slowdown]
    assert bounds[0] == 1.0 and all(b2 >= b1 for b1, b2 in itertools.pairwise(bounds))
    assert dr.doses_nM.min() < dr.hill.ec50_nM < dr.doses_nM.max()
    # rapamycin modestly reduces hypertrophy while it strongly preserves RPP (Demidenko & Blagosklonny 2009)
    hyp = analysis.hypertrophy(rapamycin_sweep, times_h=[96.0])
    mass_control, mass_rapa = hyp["mass_mean"][0, 0], hyp["mass_mean"][-1, 0]
    rpp_control, rpp_rapa = hyp["rpp_mean"][0, 0], hyp["rpp_mean"][-1, 0]
    assert mass_rapa < mass_control
    assert rpp_rapa / max(rpp_control, 1e-3) > mass_control / mass_rapa


def test_report_of_a_single_run(tmp_path):
    sweep = synthetic_sweep([0.0], n_rep=1)
    sweep.swept = {}
    paths = write_report(sweep, tmp_path, n_boot=50)
    check_figures(paths, ["rpp_curves", "hypertrophy"])
    assert not any("dose_response" in p.name for p in paths)
    text = (tmp_path / "summary.txt").read_text()
    assert "nothing (single configuration)" in text and "EC50" not in text


def test_report_of_a_sweep_that_is_not_a_dose(tmp_path):
    sweep = synthetic_sweep([0.0, 1.0, 10.0], n_rep=2)
    sweep.swept = {"environment.oxygen": sweep.swept.pop("environment.rapamycin_nM")}
    paths = write_report(sweep, tmp_path, n_boot=50)
    assert not any("dose_response" in p.name for p in paths)
    text = (tmp_path / "summary.txt").read_text()
    assert "oxygen = 10" in text and "EC50" not in text


def test_report_slices_a_two_dimensional_sweep(tmp_path):
    low = synthetic_sweep([0.0, 0.1, 1.0, 10.0], n_rep=2)
    n = low.n_runs
    sweep = SweepData(
        keys=low.keys * 2,
        replicate=np.tile(low.replicate, 2),
        swept={
            "environment.rapamycin_nM": np.tile(low.swept["environment.rapamycin_nM"], 2),
            "environment.oxygen": np.repeat([1.0, 0.3], n),
        },
        rpp_time_h=low.rpp_time_h,
        rpp=np.vstack([low.rpp, low.rpp]),
        series_time_h=low.series_time_h,
        series={"mean_mass": np.vstack([low.series["mean_mass"]] * 2)},
    )
    assert dose_slices(sweep) == [
        ("environment.rapamycin_nM", {"environment.oxygen": 1.0}),
        ("environment.rapamycin_nM", {"environment.oxygen": 0.3}),
    ]
    paths = write_report(sweep, tmp_path, n_boot=50, hill_boot=20)
    check_figures(paths, ["dose_response_rapamycin_0", "dose_response_rapamycin_1"])
    assert (tmp_path / "summary.txt").read_text().count("Hill fit of rapamycin") == 2


def test_report_without_rpp_assay(tmp_path):
    sweep = synthetic_sweep([0.0, 1.0], n_rep=2)
    sweep.rpp_time_h, sweep.rpp = np.zeros(0), np.zeros((sweep.n_runs, 0))
    paths = write_report(sweep, tmp_path, n_boot=50)
    check_figures(paths, ["hypertrophy"])
    text = (tmp_path / "summary.txt").read_text()
    assert "no RPP assay" in text and "mean mass" in text


def test_point_labels():
    assert plotting.point_label(["environment.rapamycin_nM"], (500.0,)) == "rapamycin 500 nM"
    assert (
        plotting.point_label(["environment.oxygen", "environment.pan_mtor_nM"], (0.2, 3))
        == "oxygen = 0.2, pan_mtor 3 nM"
    )
    assert plotting.point_label([], ()) == "run"
