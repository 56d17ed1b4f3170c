"""Same config and seed: bit-identical results whatever the thread count."""

import numba
import numpy as np
import pytest

from geroconvert.core.engine import Simulation
from geroconvert.core.state import CELL_FIELDS
from tests.helpers import epidermis, ht_p21


def run(params, seed, threads):
    numba.set_num_threads(threads)
    try:
        sim = Simulation(params, seed=seed)
        results = sim.run()
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return sim, results


def assert_identical(a, b):
    (sim_a, res_a), (sim_b, res_b) = a, b
    for name in CELL_FIELDS:
        np.testing.assert_array_equal(getattr(sim_a.state, name), getattr(sim_b.state, name), err_msg=name)
    for name in res_a.timeseries:
        np.testing.assert_array_equal(res_a.timeseries[name], res_b.timeseries[name], err_msg=name)
    for name in res_a.rpp:
        np.testing.assert_array_equal(res_a.rpp[name], res_b.rpp[name], err_msg=name)


# lattices above engine.ONE_THREAD_BELOW_SITES, so that both threads work
CASES = {
    "dish": lambda: ht_p21(
        hours=96,
        rpp_times=(48, 96),
        environment={"damage_rate_per_h": 0.01},
        simulation={"width": 150, "height": 150},
        cells={"clearance_beta_per_h": 0.02, "death_per_h": 0.002},
    ),
    "epidermis": lambda: epidermis(
        hours=1000,
        cells={"cycle_h": 60.0, "transit_h": 150.0},
        simulation={"width": 1500},
        environment={"damage_rate_per_h": 0.002},
    ),
    # a stratified epidermis on a 40 x 40 basal sheet, with a niche and SASP spreading in 3-D
    "sheet": lambda: epidermis(
        hours=1000,
        cells={"cycle_h": 60.0, "transit_h": 150.0, "stem_niche_reach_sites": 3, "stem_symmetric_loss": 0.1},
        simulation={"width": 40, "depth": 40},
        environment={"damage_rate_per_h": 0.002},
    ),
}


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_and_two_threads_bit_identical(case):
    params = CASES[case]()
    assert_identical(run(params, 7, 1), run(params, 7, 2))


def test_cases_are_large_enough_to_use_both_threads():
    for make in CASES.values():
        assert not Simulation(make(), seed=1).one_thread


def test_same_seed_same_result_other_seed_differs():
    params = CASES["dish"]()
    first, again, other = run(params, 3, 2), run(params, 3, 2), run(params, 4, 2)
    assert_identical(first, again)
    assert not np.array_equal(first[0].state.phase, other[0].state.phase)


def test_arms_sharing_a_seed_share_their_random_numbers():
    """Common random numbers: two arms start from the same cells with the same thresholds."""
    control = Simulation(ht_p21(), seed=9)
    treated = Simulation(ht_p21(environment={"rapamycin_nM": 500.0}), seed=9)
    for name in ("uid", "phase", "cycle", "gero_threshold"):
        np.testing.assert_array_equal(getattr(control.state, name), getattr(treated.state, name))
