"""Analysis: t50, bootstrap intervals, paired slowdown, Hill fits, dose response (synthetic data, no engine)."""

import math

import numpy as np
import pytest
from scipy import stats

from geroconvert.analysis import stats as analysis
from geroconvert.archive.sweepdata import SweepData

TIMES = np.arange(0.0, 193.0, 24.0)


def logistic(time_h, t50_h, width_h=12.0):
    return 1.0 / (1.0 + np.exp((np.asarray(time_h) - t50_h) / width_h))


# ---- t50 ---------------------------------------------------------------------------


def test_t50_linear_curve_is_exact():
    t = np.array([0.0, 50.0, 100.0])
    assert analysis.t50(t, [1.0, 0.6, 0.2]) == pytest.approx(62.5)
    assert analysis.t50(t, [1.0, 0.6, 0.2], level=0.8) == pytest.approx(25.0)


def test_t50_of_a_logistic_curve_sampled_finely():
    t = np.linspace(0, 200, 2001)
    assert analysis.t50(t, logistic(t, 87.0)) == pytest.approx(87.0, abs=1e-3)


def test_t50_edge_cases():
    t = np.array([0.0, 24.0, 48.0])
    assert analysis.t50(t, [0.4, 0.3, 0.2]) == 0.0  # already below at the first time
    assert math.isnan(analysis.t50(t, [1.0, 0.9, 0.8]))  # never falls: censored
    assert analysis.t50(t, [1.0, np.nan, 0.0]) == pytest.approx(24.0)  # NaN points are skipped
    assert math.isnan(analysis.t50(t, [np.nan] * 3))
    assert analysis.censor_time(t, [1.0, 0.9, np.nan]) == 24.0


# ---- t50 with a bootstrap interval -------------------------------------------------------


def noisy_runs(n_rep, true_t50, sd=0.05, seed=1):
    rng = np.random.default_rng(seed)
    return logistic(TIMES, true_t50)[None, :] + rng.normal(0.0, sd, (n_rep, TIMES.size))


def test_t50_interval_contains_the_truth_and_narrows_with_replicates():
    # the target is the t50 of the noiseless curve sampled at the assay times (linear interpolation)
    true = analysis.t50(TIMES, logistic(TIMES, 80.0))
    few = analysis.t50_interval(TIMES, noisy_runs(5, 80.0), n_boot=1000, seed=2)
    many = analysis.t50_interval(TIMES, noisy_runs(60, 80.0), n_boot=1000, seed=2)
    for result in (few, many):
        assert not result.censored
        assert result.ci_low_h <= true <= result.ci_high_h
        assert result.ci_low_h <= result.estimate_h <= result.ci_high_h
    width_few = few.ci_high_h - few.ci_low_h
    width_many = many.ci_high_h - many.ci_low_h
    assert width_many < 0.6 * width_few
    assert abs(many.estimate_h - true) < 1.0


def test_t50_interval_is_reproducible_by_seed():
    runs = noisy_runs(6, 90.0)
    a = analysis.t50_interval(TIMES, runs, n_boot=300, seed=5)
    b = analysis.t50_interval(TIMES, runs, n_boot=300, seed=5)
    assert (a.ci_low_h, a.ci_high_h) == (b.ci_low_h, b.ci_high_h)


def test_t50_interval_censored_curve():
    runs = np.full((4, TIMES.size), 0.8)
    result = analysis.t50_interval(TIMES, runs, n_boot=200)
    assert result.censored and math.isnan(result.estimate_h)
    assert result.lower_bound_h == TIMES[-1]
    assert result.ci_high_h == math.inf and result.frac_boot_censored == 1.0


def test_t50_interval_open_above_when_some_replicates_never_fall():
    # one replicate crosses at 72 h, three never do; the mean curve crosses late or not at all
    runs = np.vstack([logistic(TIMES, 72.0), np.full((3, TIMES.size), 0.9)])
    result = analysis.t50_interval(TIMES, runs, n_boot=500)
    assert result.ci_high_h == math.inf
    assert 0.0 < result.frac_boot_censored < 1.0


def test_t50_interval_single_replicate_has_no_interval():
    result = analysis.t50_interval(TIMES, logistic(TIMES, 60.0)[None, :])
    assert result.estimate_h == pytest.approx(analysis.t50(TIMES, logistic(TIMES, 60.0)))
    assert math.isnan(result.ci_low_h) and math.isnan(result.ci_high_h)


# ---- RPP band -------------------------------------------------------------------------


def test_rpp_band_is_t_based_interval_of_the_mean():
    runs = np.array([[0.2, 1.0, 0.5], [0.4, 1.0, np.nan], [0.6, 1.0, np.nan]])
    band = analysis.rpp_band(runs)
    assert band["mean"][0] == pytest.approx(0.4)
    half = stats.t.ppf(0.975, 2) * 0.2 / math.sqrt(3)
    assert band["low"][0] == pytest.approx(max(0.4 - half, 0.0))
    assert band["high"][0] == pytest.approx(min(0.4 + half, 1.0))
    assert band["low"][1] == band["high"][1] == 1.0  # no spread
    assert math.isnan(band["low"][2]) and band["n"][2] == 1  # one finite replicate: no interval
    unclipped = analysis.rpp_band(runs, clip=None)
    assert unclipped["low"][0] < 0.0


# ---- paired slowdown ----------------------------------------------------------------------


def test_paired_slowdown_of_identical_arms_is_exactly_one():
    t50s = np.array([61.3, 64.8, 59.9, 70.2])
    result = analysis.paired_slowdown(t50s, t50s.copy(), n_boot=500, seed=0)
    assert result.ratio == 1.0 and result.lower_bound == 1.0
    assert (result.ci_low, result.ci_high) == (1.0, 1.0)
    assert result.n_censored == 0 and result.n_pairs == 4


def test_paired_slowdown_is_geometric_mean_of_paired_ratios():
    control = np.array([50.0, 60.0, 70.0])
    treated = control * np.array([2.0, 3.0, 4.5])
    result = analysis.paired_slowdown(treated, control, n_boot=500)
    assert result.ratio == pytest.approx(27.0 ** (1 / 3))
    np.testing.assert_allclose(result.per_replicate, [2.0, 3.0, 4.5])
    assert 2.0 <= result.ci_low <= result.ratio <= result.ci_high <= 4.5


def test_pairing_cancels_shared_seed_noise():
    rng = np.random.default_rng(0)
    seed_effect = rng.normal(0, 10, 8)  # shared by both arms of a seed
    control, treated = 60 + seed_effect, 3 * (60 + seed_effect)
    result = analysis.paired_slowdown(treated, control, n_boot=500)
    assert result.ci_high - result.ci_low < 1e-9
    assert result.ratio == pytest.approx(3.0)


def test_paired_slowdown_censored_treated_gives_a_lower_bound():
    control = np.array([60.0, 60.0, 60.0])
    treated = np.array([120.0, np.nan, np.nan])
    result = analysis.paired_slowdown(treated, control, n_boot=200, censor_time_h=192.0)
    assert math.isnan(result.ratio)
    assert result.n_censored == 2
    assert result.lower_bound == pytest.approx((2.0 * 3.2 * 3.2) ** (1 / 3))
    np.testing.assert_array_equal(result.censored, [False, True, True])
    no_bound = analysis.paired_slowdown(treated, control, censor_time_h=None)
    assert no_bound.n_censored == 2 and math.isnan(no_bound.lower_bound)


def test_paired_slowdown_drops_pairs_without_a_control():
    result = analysis.paired_slowdown([100.0, 120.0], [50.0, np.nan], n_boot=100)
    assert result.n_pairs == 1 and result.n_dropped == 1 and result.ratio == pytest.approx(2.0)


# ---- Hill fit -----------------------------------------------------------------------


DOSES = np.array([0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 500.0])
TRUE = {"ec50": 1.5, "smax": 3.0, "hill": 1.3}


def true_curve(doses=DOSES):
    return analysis.hill_slowdown(doses, math.log10(TRUE["ec50"]), TRUE["smax"], TRUE["hill"])


def test_hill_curve_is_one_at_dose_zero_and_half_way_at_ec50():
    assert analysis.hill_slowdown(0.0, 0.0, 3.0, 1.0) == 1.0
    assert analysis.hill_slowdown(2.0, math.log10(2.0), 3.0, 1.7) == pytest.approx(2.0)


def test_hill_fit_recovers_exact_parameters_from_noiseless_means():
    fit = analysis.fit_hill(DOSES, true_curve())
    assert fit.converged, fit.message
    assert fit.ec50_nM == pytest.approx(TRUE["ec50"], rel=1e-4)
    assert fit.smax == pytest.approx(TRUE["smax"], rel=1e-4)
    assert fit.hill == pytest.approx(TRUE["hill"], rel=1e-4)
    assert fit.interval_method == "covariance"
    assert fit.predict(0.0) == 1.0


def test_hill_fit_recovers_parameters_from_noisy_replicates_with_bootstrap_intervals():
    rng = np.random.default_rng(3)
    truth = true_curve()
    responses = truth * (1.0 + rng.normal(0.0, 0.04, (8, DOSES.size)))
    responses[:, 0] = 1.0  # paired control
    fit = analysis.fit_hill(DOSES, responses, n_boot=300, seed=1)
    assert fit.converged and fit.interval_method == "bootstrap" and fit.n_boot_ok > 250
    assert fit.ec50_nM == pytest.approx(TRUE["ec50"], rel=0.2)
    assert fit.smax == pytest.approx(TRUE["smax"], rel=0.05)
    assert fit.hill == pytest.approx(TRUE["hill"], rel=0.25)
    assert fit.ec50_ci[0] <= TRUE["ec50"] <= fit.ec50_ci[1]
    assert fit.smax_ci[0] <= TRUE["smax"] <= fit.smax_ci[1]
    assert fit.hill_ci[0] <= TRUE["hill"] <= fit.hill_ci[1]


def test_hill_fit_uses_censored_points_as_lower_bounds():
    doses = np.array([0.0, 0.1, 1.0, 10.0, 500.0])
    truth = true_curve(doses)
    # highest dose censored with a bound below the truth: the fit should not be pulled down to it
    response = truth.copy()
    response[-1] = 0.9 * truth[-1]
    censored = np.zeros(doses.size, bool)
    censored[-1] = True
    fit = analysis.fit_hill(doses, response, censored=censored)
    assert fit.converged and fit.n_censored == 1
    # the bound is not binding: the three exact uncensored doses determine the curve
    assert fit.predict(500.0) == pytest.approx(truth[-1], rel=1e-3)
    assert fit.ec50_nM == pytest.approx(TRUE["ec50"], rel=1e-3)
    # the same bound taken as a measurement drags the plateau down
    as_data = analysis.fit_hill(doses, response)
    assert as_data.predict(500.0) < 0.97 * truth[-1]
    # a bound above what the uncensored doses imply pushes Smax up to at least that bound
    response[-1] = 3.6
    fit = analysis.fit_hill(doses, response, censored=censored)
    assert fit.predict(500.0) == pytest.approx(3.6, rel=0.02)


def test_hill_fit_without_enough_doses_does_not_converge():
    fit = analysis.fit_hill([0.0, 1.0, 10.0], [1.0, 1.5, 2.5])
    assert not fit.converged and math.isnan(fit.ec50_nM)
    assert math.isnan(fit.predict(5.0))
    censored = analysis.fit_hill([0.0, 1.0, 10.0, 100.0], [1.0, 1.5, 2.5, 2.9], censored=[0, 0, 1, 1])
    assert not censored.converged and "uncensored" in censored.message


def test_hill_fit_flags_a_parameter_on_its_bound():
    flat = analysis.fit_hill(DOSES, np.ones(DOSES.size) + 1e-12 * np.arange(DOSES.size))
    assert not flat.converged


# ---- from a SweepData ------------------------------------------------------------------


def synthetic_sweep(doses, n_rep=3, t50_control=60.0, ec50=2.0, smax=3.0, hill=1.0, hours=192.0):
    """RPP curves whose t50 follows a Hill law exactly, with a per-seed factor shared across doses."""
    times = np.arange(0.0, hours + 1e-9, 6.0)
    seed_factor = np.linspace(0.9, 1.1, n_rep)
    keys, rep, dose_of, rpp, mass = [], [], [], [], []
    series_t = np.arange(0.0, hours + 1e-9, 12.0)
    for g, dose in enumerate(doses):
        slowdown = analysis.hill_slowdown(dose, math.log10(ec50), smax, hill)
        for r in range(n_rep):
            keys.append(f"g{g:03d}_r{r:02d}")
            rep.append(r)
            dose_of.append(dose)
            rpp.append(logistic(times, t50_control * seed_factor[r] * slowdown, width_h=4.0))
            mass.append(1.0 + series_t / (10.0 * (1.0 + dose)))
    return SweepData(
        keys=keys,
        replicate=np.array(rep),
        swept={"environment.rapamycin_nM": np.array(dose_of)},
        rpp_time_h=times,
        rpp=np.array(rpp),
        series_time_h=series_t,
        series={"mean_mass": np.array(mass)},
    )


def test_dose_response_from_a_sweep_recovers_the_hill_law():
    sweep = synthetic_sweep([0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0], n_rep=3)
    dr = analysis.dose_response(sweep, n_boot=200, hill_boot=100)
    assert dr.has_control and list(dr.replicates) == [0, 1, 2]
    assert dr.t50_h.shape == (7, 3) and not dr.censored.any()
    # t50 of a steep logistic sampled every 6 h is close to the true t50
    assert dr.t50_h[0] == pytest.approx(60.0 * np.linspace(0.9, 1.1, 3), rel=0.01)
    expected = analysis.hill_slowdown(dr.doses_nM, math.log10(2.0), 3.0, 1.0)
    got = np.array([s.ratio for s in dr.slowdown])
    np.testing.assert_allclose(got, expected, rtol=0.02)
    assert dr.slowdown[0].ratio == 1.0
    assert dr.hill.converged
    assert dr.hill.ec50_nM == pytest.approx(2.0, rel=0.1)
    assert dr.hill.smax == pytest.approx(3.0, rel=0.05)
    rows = dr.rows()
    assert [r["dose_nM"] for r in rows] == list(dr.doses_nM)


def test_dose_response_marks_censored_high_doses():
    # t50 at 500 nM would be 60 * ~3 = 180 h but the assays stop at 150 h
    sweep = synthetic_sweep([0.0, 0.1, 1.0, 10.0, 500.0], n_rep=2, hours=150.0)
    dr = analysis.dose_response(sweep, n_boot=200, hill_boot=50)
    assert dr.censored[-1].all() and not dr.censored[:3].any()
    high = dr.slowdown[-1]
    assert math.isnan(high.ratio) and high.n_censored == 2
    assert high.lower_bound == pytest.approx(150.0 / 60.0, rel=0.01)
    assert dr.t50_curve[-1].censored and dr.t50_curve[-1].lower_bound_h == 150.0
    assert dr.hill.n_censored == dr.censored[1:].sum() >= 2
    assert dr.hill.converged and dr.hill.smax == pytest.approx(3.0, rel=0.1)


def test_dose_response_without_control_and_with_unknown_path():
    sweep = synthetic_sweep([1.0, 10.0], n_rep=2)
    dr = analysis.dose_response(sweep, n_boot=50)
    assert not dr.has_control and not dr.hill.converged and dr.slowdown == [None, None]
    with pytest.raises(ValueError, match="not swept"):
        analysis.dose_response(sweep, dose_path="environment.pan_mtor_nM")


def test_dose_response_needs_a_slice_when_two_paths_vary():
    sweep = synthetic_sweep([0.0, 1.0], n_rep=2)
    sweep.swept["environment.oxygen"] = np.array([1.0, 1.0, 0.3, 0.3])
    with pytest.raises(ValueError, match="where="):
        analysis.dose_response(sweep)
    dr = analysis.dose_response(sweep, where={"environment.oxygen": 1.0}, n_boot=20)
    assert list(dr.doses_nM) == [0.0]


def test_hypertrophy_reads_mass_at_chosen_times():
    sweep = synthetic_sweep([0.0, 9.0], n_rep=2)
    hyp = analysis.hypertrophy(sweep, times_h=[0.0, 96.0, 180.0, 500.0])
    assert hyp["points"] == [(0.0,), (9.0,)]
    np.testing.assert_allclose(hyp["mass_mean"][0, :3], [1.0, 10.6, 19.0])
    np.testing.assert_allclose(hyp["mass_mean"][1, :3], [1.0, 1.96, 2.8])
    np.testing.assert_allclose(hyp["fold_change"][0, :3], [1.0, 10.6, 19.0])
    assert np.isnan(hyp["mass_mean"][:, 3]).all()  # beyond the last record
    assert hyp["rpp_mean"][0, 0] == pytest.approx(1.0, abs=1e-3)
    assert np.isnan(hyp["rpp_mean"][0, 3])  # not assayed at 500 h
