"""Skin in vivo: drug units and profiles, epidermal homeostasis, ageing, stem exhaustion, the trial."""

import math

import numpy as np
import pytest

from geroconvert.config import load_config
from geroconvert.core import dosing
from geroconvert.core.engine import Simulation
from geroconvert.parameters.models import Dosing, Environment
from geroconvert.studies.trial import PairedResult, TrialSpec, analyse, subjects_for_power, verdict
from geroconvert.units import HOURS_PER_YEAR


# ---- pharmacology -----------------------------------------------------------------------
def test_units_use_the_molar_mass_of_rapamycin():
    assert float(dosing.ng_per_mL_to_nM(1.0)) == pytest.approx(1.094, abs=1e-3)  # docs/science.md
    assert Dosing(topical_uM=10.0).cream_nM == pytest.approx(1e4)
    # Chung et al. 2019: 10 uM is ~0.0009% w/v
    assert Dosing(topical_percent_w_w=0.0009).cream_nM == pytest.approx(9845, rel=1e-3)
    with pytest.raises(ValueError):
        Dosing(topical_uM=10.0, topical_percent_w_w=0.001)


def test_topical_level_accumulates_decays_and_stops():
    d = Dosing(
        topical_uM=10.0,
        topical_interval_h=24.0,
        epidermal_half_life_h=12.0,
        penetration_fraction=1e-3,
        topical_start_h=48.0,
        topical_stop_h=24.0 * 30,
    )
    c0 = 10.0  # nM at the surface right after the first application
    assert dosing.topical_surface_nM(d, 47.9) == 0.0
    assert dosing.topical_surface_nM(d, 48.0) == pytest.approx(c0)
    assert dosing.topical_surface_nM(d, 60.0) == pytest.approx(c0 / 2)  # one half-life later
    # steady state right after a dose: c0 / (1 - 2^(-24/12)) = 4/3 c0
    assert dosing.topical_surface_nM(d, 48.0 + 24.0 * 20) == pytest.approx(c0 * 4 / 3, rel=1e-6)
    assert dosing.topical_surface_nM(d, 24.0 * 30 + 24.0 * 10) < 1e-4  # ten days after the last dose


def test_depth_profile_falls_from_surface_to_basal_layer_and_dermis():
    d = Dosing(topical_uM=10.0, depth_length_um=50.0, epidermis_thickness_um=100.0, cell_size_um=10.0)
    depth = dosing.depth_um(rows=16, basal_row=4, dosing=d)
    assert depth[4] == 100.0 and depth[3] == 110.0 and depth[5] == 90.0 and depth[15] == 0.0
    rows = dosing.rapamycin_rows_nM(d, Environment(), 0.0, 16, 4, epidermis=True)
    assert np.all(np.diff(rows[4:]) >= 0) and np.all(np.diff(rows[:5]) > 0)  # deeper = lower
    surface = dosing.topical_surface_nM(d, 0.0)
    assert rows[4] == pytest.approx(surface * math.exp(-2.0) + surface * d.systemic_leak_fraction)


def test_low_dose_cream_keeps_blood_below_1_ng_per_mL():
    """Topical rapamycin at low doses: blood < 1.0 ng/mL (Blagosklonny 2019; Koenig et al. 2012)."""
    for cream in (Dosing(topical_uM=10.0), Dosing(topical_percent_w_w=0.015)):
        peak = max(dosing.topical_blood_ng_per_mL(cream, t) for t in np.arange(0, 24 * 60, 1.0))
        assert 0 < peak < 1.0


def test_blood_level_reaches_every_row():
    d = Dosing(blood_ng_per_mL=10.0)
    rows = dosing.rapamycin_rows_nM(d, Environment(), 100.0, 16, 4, epidermis=True)
    np.testing.assert_allclose(rows, 10.0 * 1.094, rtol=1e-3)


# ---- homeostasis ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def young_skin():
    """Three years of a 1 cm cross-section of young skin without damage (monthly records)."""
    config = load_config(
        "configs/human_skin.toml",
        [
            "simulation.hours=26298",
            "simulation.dermis_rows=0",
            "simulation.width=1000",
            "environment.damage_rate_per_h=0",
            "environment.damage_increase_per_h_per_year=0",
        ],
    )
    sim = Simulation(config.params, seed=4)
    return sim, sim.run()


def test_homeostasis_growth_fraction_is_about_60_percent(young_skin):
    """~60% of basal cells cycling (Weinstein et al. 1984)."""
    ts = young_skin[1].timeseries
    later = ts["time_h"] >= HOURS_PER_YEAR
    assert 0.5 <= ts["basal_in_cycle_fraction"][later].mean() <= 0.7


def test_homeostasis_basal_cycle_time_is_about_311_h(young_skin):
    """Cycle time of cycling basal cells: in-cycle cell-hours per division (Weinstein et al. 1984: 311 h)."""
    ts = young_skin[1].timeseries
    later = ts["time_h"] >= HOURS_PER_YEAR
    basal = ts["n_stem"] + ts["n_progenitor_cycling"] + ts["n_progenitor_arrested"]
    in_cycle_hours = (ts["basal_in_cycle_fraction"] * basal)[later].sum() * 730.5
    assert 250.0 <= in_cycle_hours / ts["events_divisions"][later].sum() <= 375.0


def test_homeostasis_transit_about_14_days_and_stable_thickness(young_skin):
    sim, results = young_skin
    ts = results.timeseries
    later = ts["time_h"] >= HOURS_PER_YEAR
    suprabasal = ts["n_differentiated_arrested"][later].mean()
    shed_per_h = ts["events_shed"][later].sum() / (ts["time_h"][later][-1] - ts["time_h"][later][0] + 730.5)
    assert 10 * 24 <= suprabasal / shed_per_h <= 16 * 24  # ~14 days (BioNumbers 111965)
    year2 = ts["thickness_rows"][(ts["time_h"] >= HOURS_PER_YEAR) & (ts["time_h"] < 2 * HOURS_PER_YEAR)].mean()
    year3 = ts["thickness_rows"][ts["time_h"] >= 2 * HOURS_PER_YEAR].mean()
    assert abs(year3 - year2) / year2 < 0.15
    basal = sim.state.phase[sim.basal_row * sim.state.width : (sim.basal_row + 1) * sim.state.width]
    assert np.mean(basal != 0) > 0.95  # the basal layer stays closed


def test_progenitors_divide_one_to_five_times(young_skin):
    """Transit-amplifying cells: 1 to 5 divisions (Jones & Watt 1993)."""
    from geroconvert.core import layout as L

    s = young_skin[0].state
    progenitors = (s.kind == L.PROGENITOR) & (s.phase != L.EMPTY)
    left = s.divisions_left[progenitors]
    assert left.min() >= 0 and left.max() <= 5
    assert (left == 0).any() and (left >= 3).any()


# ---- ageing and stem exhaustion --------------------------------------------------------------
def decade_means(ts, name, start_age):
    age = start_age + ts["time_h"] / HOURS_PER_YEAR
    return [ts[name][(age >= a) & (age < a + 20)].mean() for a in (20, 40, 60)]


@pytest.fixture(scope="module")
def protected_skin():
    """3 mm of skin from 20 to 80 out of the sun (the validation's ageing run)."""
    config = load_config("configs/epidermis_aging.toml", ["simulation.width=300"])
    return Simulation(config.params, seed=2).run().timeseries


def test_p16_positive_cells_accumulate_with_age(protected_skin):
    """p16+ cells accumulate with age (Waaijer et al. 2012), senescent cells live longer as
    clearance saturates (Karin et al. 2019); stems decline."""
    ts = protected_skin
    p16 = decade_means(ts, "p16_positive_fraction", 20)
    assert p16[0] < p16[1] < p16[2]
    age = 20 + ts["time_h"] / HOURS_PER_YEAR
    half_life = [np.nanmean(ts["senescent_half_life_h"][(age >= a) & (age < a + 20)]) for a in (20, 60)]
    assert half_life[1] > 1.3 * half_life[0]  # Karin's human fit: ~2x from 40 to 80
    stems = decade_means(ts, "n_stem", 20)
    assert stems[0] > stems[2]


def test_photoaged_skin_holds_more_p16_cells_than_protected_skin_of_the_same_age(protected_skin):
    """Senescent cells accumulate in photoaged skin (Wang & Dreesen 2018): the same skin and
    seed with 1 SED a day has more p16+ cells at 60-80, in the epidermis and, through UVA,
    in the dermis; the cases fail when the two runs are swapped."""
    from geroconvert.studies.validation_skin import photoaging_cases

    config = load_config("configs/epidermis_photoaged.toml", ["simulation.width=300"])
    photoaged = Simulation(config.params, seed=2).run().timeseries
    cases = photoaging_cases(protected_skin, photoaged)
    assert [case.passed for case in cases] == [True, True], [(c.case, c.simulated) for c in cases]
    assert not any(case.passed for case in photoaging_cases(photoaged, protected_skin))
    # the sun ages the skin earlier too: p16+ at 40-60 already above the protected skin's
    sun, shade = (decade_means(ts, "p16_positive_fraction", 20)[1] for ts in (photoaged, protected_skin))
    assert sun > shade


def test_the_photoaged_cases_ask_for_more_than_protected_skin_strictly():
    from geroconvert.studies.validation_skin import photoaging_cases

    years = np.arange(0, 61) * HOURS_PER_YEAR

    def skin(epidermis, dermis):
        return {
            "time_h": years,
            "p16_positive_fraction_epidermis": np.full(years.size, epidermis),
            "p16_positive_fraction_dermis": np.full(years.size, dermis),
        }

    assert [c.passed for c in photoaging_cases(skin(0.01, 0.01), skin(0.01, 0.02))] == [False, True]
    assert [c.passed for c in photoaging_cases(skin(0.0, 0.0), skin(0.01, 0.0))] == [True, False]


def test_wnt1_like_mtor_hyperactivation_then_exhaustion_and_rapamycin():
    """Castilho et al. 2009: hyperproliferation first, then loss of stem cells; rapamycin opposes both."""

    def arm(*sets):
        config = load_config("configs/stem_exhaustion.toml", list(sets))
        return Simulation(config.params, seed=1).run().timeseries

    control = arm()
    wnt1 = arm("environment.mtor_gain=3")
    rapa = arm("environment.mtor_gain=3", "dosing.blood_ng_per_mL=10")
    first_year = control["time_h"] <= HOURS_PER_YEAR
    # 1. hyperproliferation early: more divisions and a thicker epidermis
    assert wnt1["events_divisions"][first_year].sum() > 1.5 * control["events_divisions"][first_year].sum()
    assert wnt1["thickness_rows"][first_year][1:].mean() > 1.5 * control["thickness_rows"][first_year][1:].mean()
    # 2. then exhaustion: fewer stem cells and a thinner epidermis than the control
    assert wnt1["n_stem"][-1] < 0.6 * control["n_stem"][-1]
    assert wnt1["thickness_rows"][-8:].mean() < control["thickness_rows"][-8:].mean()
    # order: the stem pool is still intact while proliferation is already up
    assert wnt1["n_stem"][first_year][-1] > 0.9 * control["n_stem"][first_year][-1]
    # 3. rapamycin lowers the hyperproliferation and keeps the stem cells
    assert rapa["events_divisions"][first_year].sum() < wnt1["events_divisions"][first_year].sum()
    assert rapa["n_stem"][-1] > 0.8 * control["n_stem"][-1]  # "prevents" the loss, within 20%


def niche_run(*sets):
    """11 years of 1 cm of young skin without damage (monthly records), with the stem cells
    of configs/epidermis_niche.toml (commitment r = 0.08, a refilling niche)."""
    config = load_config(
        "configs/epidermis_niche.toml",
        [
            "simulation.dermis_rows=0",
            "environment.damage_rate_per_h=0",
            "environment.damage_increase_per_h_per_year=0",
            f"simulation.hours={11 * HOURS_PER_YEAR}",
            "simulation.record_every_h=730.5",
            *sets,
        ],
    )
    return Simulation(config.params, seed=1).run().timeseries


@pytest.fixture(scope="module")
def niche_skin():
    return niche_run()


def test_a_refilling_niche_keeps_the_stem_pool_whose_cells_commit(niche_skin):
    """Stem cells that commit at Clayton et al. 2007's r = 0.08 are lost within years unless
    the niche refills them; with it the pool stays within +-10% over 10 years (the skin v2
    requirement; Giangreco et al. 2008 see epidermal stem cells kept through ageing)."""
    stems, time_h = niche_skin["n_stem"], niche_skin["time_h"]
    settled = stems[time_h >= HOURS_PER_YEAR]
    assert np.max(np.abs(settled / settled[0] - 1.0)) <= 0.10, settled
    no_niche = niche_run("cells.stem_niche_reach_sites=0")["n_stem"]
    assert no_niche[-1] < 0.1 * no_niche[0], no_niche


def test_the_niche_keeps_the_homeostasis_bands(niche_skin):
    """The stem turnover leaves the tuned homeostasis in its bands: ~60% of basal cells
    cycling and a ~311 h cycle (Weinstein et al. 1984), a ~14-day transit (BioNumbers 111965)."""
    from geroconvert.studies.validation_skin import homeostasis_cases

    three_years = niche_skin["time_h"] <= 3 * HOURS_PER_YEAR
    cases = homeostasis_cases({name: values[three_years] for name, values in niche_skin.items()})
    failed = [(case.case, case.simulated) for case in cases if not case.passed]
    assert not failed, failed


def test_the_stem_pool_case_fails_when_the_pool_drifts_away():
    from geroconvert.studies.validation_skin import stem_pool_case

    months = np.arange(0, 13 * 12) * 730.5
    steady = {"time_h": months, "n_stem": np.where(months < HOURS_PER_YEAR, 300.0, 400.0)}
    assert stem_pool_case(steady).passed  # the first year (the niche settling) is not judged
    falling = {"time_h": months, "n_stem": np.linspace(400.0, 300.0, months.size)}
    case = stem_pool_case(falling)
    at_year_1 = falling["n_stem"][months >= HOURS_PER_YEAR][0]
    assert not case.passed and case.simulated == pytest.approx(1.0 - 300.0 / at_year_1)
    short = {"time_h": months[:6], "n_stem": np.full(6, 300.0)}  # ends before the niche settles
    assert not stem_pool_case(short).passed and math.isnan(stem_pool_case(short).simulated)


def test_clones_on_a_basal_sheet_thin_faster_than_along_a_row():
    """Drift by local replacement thins clones as t^-1/2 along a line and close to 1/t (as
    ln(t)/t) on a 2-D sheet (voter model, Klein et al. 2008): with the same niche and the same
    number of basal sites (2,500), the sheet's slope over 2 years is the steeper.  On one
    run of this size the difference (0.03-0.15) is within the seed-to-seed spread, so the
    slopes are averaged over three seeds (the 1 mm^2 runs give -0.675 against -0.53,
    experiments/epidermis_sheet)."""
    from geroconvert.studies.validation_skin import log_log_slope

    def slope(width: int, depth: int, seed: int) -> float:
        config = load_config(
            "configs/epidermis_niche.toml",
            [
                "simulation.dermis_rows=0",
                "environment.damage_rate_per_h=0",
                "environment.damage_increase_per_h_per_year=0",
                f"simulation.hours={2 * HOURS_PER_YEAR}",
                "simulation.record_every_h=730.5",
                f"simulation.width={width}",
                f"simulation.depth={depth}",
            ],
        )
        ts = Simulation(config.params, seed=seed).run().timeseries
        return log_log_slope(ts["time_h"], ts["clones_surviving"])

    row = np.mean([slope(2500, 1, seed) for seed in (1, 2, 3)])
    sheet = np.mean([slope(50, 50, seed) for seed in (1, 2, 3)])
    assert -0.75 < row < -0.35, row  # one-dimensional drift: about -0.5
    assert sheet < row - 0.05, (sheet, row)


def test_the_clone_slopes_are_fitted_over_3_to_36_months_only():
    """On the 21-year niche run only the first 3 years count (Clayton et al. 2007's span)."""
    from geroconvert.studies.validation_skin import clone_cases

    months = np.arange(0, 61) * 730.5
    t = np.maximum(months, 730.5)
    clones = np.where(months <= 36 * 730.5, 1000 * 730.5 / t, 1.0)  # 1/t, then a collapse after 3 years
    size = np.where(months <= 36 * 730.5, 3 * t / 730.5, 500.0)
    number_case, size_case = clone_cases({"time_h": months, "clones_surviving": clones, "clone_mean_basal_cells": size})
    assert number_case.simulated == pytest.approx(-1.0) and size_case.simulated == pytest.approx(1.0)
    assert "at 36 months" in size_case.note and f"{size[36]:.2f}" in size_case.note


# ---- the split-hand trial -----------------------------------------------------------------------
def test_paired_statistics_and_power():
    d = np.array([-0.010, -0.012, -0.008, -0.011, -0.009, -0.010])
    result = PairedResult.of(d)
    assert result.mean == pytest.approx(-0.01) and result.ci[1] < 0 and result.p_value < 0.001
    # dz = 1 needs 10 subjects for 80% power in a two-sided paired t-test (standard tables)
    assert subjects_for_power(1.0, 1.0) == 10
    assert subjects_for_power(0.5, 1.0) == 34


def synthetic_trial(treated_change, placebo_change, n=10, noise=0.0005):
    rng = np.random.default_rng(0)
    spec = TrialSpec(subjects=n, visits_months=(0.0, 8.0))
    subjects = []
    for s in range(n):
        base = 0.02 + 0.002 * rng.standard_normal()
        record = {"subject": s, "age_years": 60.0, "damage_multiplier": 1.0}
        for hand, change in (("treated", treated_change), ("placebo", placebo_change)):
            for m in ("p16_positive_fraction", "p16_positive_fraction_epidermis", "p16_positive_fraction_dermis"):
                record[f"{hand}_{m}"] = np.array([base, base + change + noise * rng.standard_normal()])
        subjects.append(record)
    return analyse(spec, subjects)


def test_verdict_tells_reversal_from_slowing():
    assert verdict(synthetic_trial(-0.005, +0.001)).startswith("reversal")
    assert verdict(synthetic_trial(+0.001, +0.005)).startswith("slowing")
    assert verdict(synthetic_trial(+0.003, +0.003)).startswith("no detectable")


def test_trial_hands_share_the_aged_skin_and_random_numbers(tmp_path):
    from geroconvert.studies.trial import run_subject

    config = load_config(
        "configs/split_hand_trial.toml", ["simulation.width=40", "trial.age_min_years=25", "trial.age_max_years=26"]
    )
    placebo_only = {**config.mapping, "dosing": {}}
    same = run_subject(placebo_only, config.mapping["trial"], 0)
    # with no drug on either hand, the two hands are the same skin with the same random numbers
    np.testing.assert_array_equal(same["treated_p16_positive_fraction"], same["placebo_p16_positive_fraction"])
    treated = run_subject(config.mapping, config.mapping["trial"], 0)
    assert treated["treated_p16_positive_fraction"][0] == treated["placebo_p16_positive_fraction"][0]
