"""Results converge as the step shrinks: halving dt moves t50 by less than 5%."""

from geroconvert.analysis.stats import t50
from geroconvert.core.engine import Simulation
from tests.helpers import ht_p21

TIMES = tuple(range(36, 97, 6))


def t50_at(dt_h, seed):
    params = ht_p21(
        hours=96, simulation={"dt_h": dt_h, "width": 60, "height": 60, "initial_density": 0.3}, rpp_times=TIMES
    ).with_changes(assays={"rpp_times_h": TIMES, "max_cells": 1000})
    rpp = Simulation(params, seed=seed).run().rpp
    return t50(rpp["time_h"], rpp["rpp"])


def test_halving_dt_changes_t50_by_less_than_5_percent():
    coarse, fine = t50_at(1.0, seed=4), t50_at(0.5, seed=4)
    assert abs(fine - coarse) / fine < 0.05, (coarse, fine)


def test_t50_differs_under_a_very_coarse_step():
    """The check above can fail: with 12-hour steps the arrest starts late and t50 moves."""
    coarse, fine = t50_at(12.0, seed=4), t50_at(0.5, seed=4)
    assert abs(fine - coarse) / fine > 0.05, (coarse, fine)
