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


# ---- issue 13, item 16: what the report says and draws


def test_hypertrophy_is_compared_at_the_published_time(tmp_path):
    """Sizes at 96 h (day 4 of arrest, Demidenko & Blagosklonny 2009), not at the end of the run."""
    sweep = synthetic_sweep([0.0, 10.0], n_rep=2, hours=192.0)  # mass = 1 + t / (10 (1 + dose))
    write_report(sweep, tmp_path, n_boot=50, hill_boot=20)
    text = (tmp_path / "summary.txt").read_text()
    assert "mean mass at 96 h: the ~15-fold hypertrophy of Demidenko & Blagosklonny 2009" in text
    assert "mean mass at 192 h" not in text
    with (tmp_path / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["mean_mass"]) for r in rows] == pytest.approx([1 + 9.6, 1 + 9.6 / 11])
    assert float(rows[0]["mean_mass_time_h"]) == 96.0 and float(rows[0]["mean_mass_last"]) == pytest.approx(20.2)


def test_a_run_that_ends_before_the_published_time_says_so(tmp_path):
    write_report(synthetic_sweep([0.0, 10.0], n_rep=2, hours=72.0), tmp_path, n_boot=50, hill_boot=20)
    text = (tmp_path / "summary.txt").read_text()
    assert "mean mass at 72 h, the last record time (the runs end before 96 h)" in text


def data_lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_neighbouring_doses_differ_in_marker_and_colour():
    sweep = synthetic_sweep([0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0], n_rep=2)
    fig = plotting.rpp_curves(sweep)
    lines = data_lines(fig.axes[0])
    assert len(lines) == 8
    assert len({line.get_marker() for line in lines}) == 8
    rgb = np.array([matplotlib_colors().to_rgb(line.get_color()) for line in lines])
    assert np.all(np.linalg.norm(np.diff(rgb, axis=0), axis=1) > 0.05)
    plotting.close(fig)


def matplotlib_colors():
    import matplotlib.colors

    return matplotlib.colors


BASE_TOML = """
[environment]
mitogen = 1.0
oxygen = 1.0
[simulation]
initial_density = 0.15
"""


def conditions_sweep(config_toml: str = BASE_TOML) -> SweepData:
    """The gerosuppressive zip: control, hypoxia, serum starvation, a confluent dish (2 replicates)."""
    base = synthetic_sweep([0.0, 0.0, 0.0, 0.0], n_rep=2)
    swept = {
        "environment.oxygen": np.repeat([1.0, 0.05, 1.0, 1.0], 2),
        "environment.mitogen": np.repeat([1.0, 1.0, 0.0, 1.0], 2),
        "simulation.initial_density": np.repeat([0.15, 0.15, 0.15, 1.0], 2),
    }
    return SweepData(
        keys=base.keys,
        replicate=base.replicate,
        swept=swept,
        rpp_time_h=base.rpp_time_h,
        rpp=base.rpp,
        series_time_h=base.series_time_h,
        series=base.series,
        config_toml=config_toml,
    )


def test_legends_name_conditions_by_what_differs_from_the_config(tmp_path):
    sweep = conditions_sweep()
    names = ["control", "oxygen = 0.05", "mitogen = 0", "initial_density = 1"]
    assert plotting.condition_labels(sweep) == names
    for fig in (plotting.rpp_curves(sweep), plotting.hypertrophy(sweep)):
        legend = fig.axes[0].get_legend()
        assert [t.get_text() for t in legend.get_texts()][:4] == names
        plotting.close(fig)
    write_report(sweep, tmp_path, n_boot=50)
    text = (tmp_path / "summary.txt").read_text()
    assert "control: mitogen = 1, oxygen = 1, initial_density = 0.15" in text
    assert "mitogen = 1, oxygen = 0.05" not in text  # no raw list of every swept key


def test_without_the_config_labels_keep_every_swept_value():
    labels = plotting.condition_labels(conditions_sweep(config_toml=""))
    assert labels[1] == "mitogen = 1, oxygen = 0.05, initial_density = 0.15"
    assert plotting.axis_text("dosing.blood_ng_per_mL", 10.0) == "blood 10 ng/mL"
    assert plotting.axis_text("environment.pan_mtor_nM", 10**-0.5) == "pan_mtor 0.316 nM"


def test_an_extrapolated_smax_carries_a_caveat(tmp_path):
    """Doses of 3 nM and more never reach t50 in 120 h: Smax rests on the fitted form alone."""
    short = synthetic_sweep([0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0], n_rep=2, hours=120.0)
    dr = analysis.dose_response(short, n_boot=50, hill_boot=20)
    assert np.isfinite(dr.hill.ec50_nM) and plotting.smax_extrapolated(dr)
    fig = plotting.dose_response(dr)
    assert any(
        "Smax" in t.get_text() and "(extrapolated)" in t.get_text() for t in fig.axes[0].get_legend().get_texts()
    )
    plotting.close(fig)
    write_report(short, tmp_path / "short", n_boot=50, hill_boot=20)
    assert "caveat: Smax is extrapolated" in (tmp_path / "short" / "summary.txt").read_text()
    # the same law measured up to saturation: no caveat
    full = synthetic_sweep([0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0], n_rep=2, hours=400.0)
    assert not plotting.smax_extrapolated(analysis.dose_response(full, n_boot=50, hill_boot=20))
    write_report(full, tmp_path / "full", n_boot=50, hill_boot=20)
    assert "extrapolated" not in (tmp_path / "full" / "summary.txt").read_text()


def bands(ax) -> int:
    from matplotlib.collections import PolyCollection

    return sum(isinstance(c, PolyCollection) for c in ax.collections)


def test_a_single_run_promises_no_interval(tmp_path):
    sweep = synthetic_sweep([0.0], n_rep=1)
    sweep.swept = {}
    write_report(sweep, tmp_path, n_boot=50)
    text = (tmp_path / "summary.txt").read_text()
    assert "CI" not in text and "95%" not in text and "interval" not in text.replace("no intervals", "")
    for fig in (plotting.rpp_curves(sweep), plotting.hypertrophy(sweep)):
        ax = fig.axes[0]
        assert bands(ax) == 0 and "CI" not in ax.get_legend().get_title().get_text()
        plotting.close(fig)


def test_replicates_draw_the_band_they_promise():
    sweep = synthetic_sweep([0.0, 1.0], n_rep=3)
    for fig in (plotting.rpp_curves(sweep), plotting.hypertrophy(sweep)):
        ax = fig.axes[0]
        assert bands(ax) == 2 and "95% CI" in ax.get_legend().get_title().get_text()
        plotting.close(fig)
