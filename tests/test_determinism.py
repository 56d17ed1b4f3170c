"""Same config and seed: bit-identical results whatever the thread count."""

import numba
import numpy as np
import pytest

from geroconvert.engine import Simulation
from geroconvert.state import CELL_FIELDS

from .helpers import epidermis, ht_p21


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


# lattices above engine.SERIAL_BELOW_SITES, so that the parallel kernels run
CASES = {
    "dish": lambda: ht_p21(hours=96, rpp_times=(48, 96), environment={"damage_rate_per_h": 0.01},
                           simulation={"width": 150, "height": 150},
                           cells={"clearance_beta_per_h": 0.02, "death_per_h": 0.002}),
    "epidermis": lambda: epidermis(hours=1000, cells={"cycle_h": 60.0, "transit_h": 150.0},
                                   simulation={"width": 1500},
                                   environment={"damage_rate_per_h": 0.002}),
}


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_and_two_threads_bit_identical(case):
    params = CASES[case]()
    assert_identical(run(params, 7, 1), run(params, 7, 2))


def test_cases_run_the_parallel_kernels():
    from geroconvert.engine import SERIAL_BELOW_SITES
    from geroconvert.kernels.cells import update_cells

    for make in CASES.values():
        sim = Simulation(make(), seed=1)
        assert sim.state.capacity >= SERIAL_BELOW_SITES and sim._update_cells is update_cells


def test_serial_and_parallel_kernels_agree():
    """Small lattices run the serial compilation of the same kernels: identical results."""
    from geroconvert.kernels.cells import update_cells, update_cells_serial
    from geroconvert.kernels.field import diffuse, diffuse_serial

    sim = Simulation(CASES["dish"]().with_changes(simulation={"width": 60, "height": 60}), seed=2)
    for _ in range(60):
        sim.step()
    p, s6k, e4bp = sim.step_inputs()
    outputs = []
    for cells_kernel, field_kernel in ((update_cells, diffuse), (update_cells_serial, diffuse_serial)):
        s = sim.state.copy()
        field_kernel(sim.geometry, s.width, s.rows, s.sasp, 0.2, 0.9)
        counts = cells_kernel(sim.geometry, s.width, s.rows, s.uid, s.kind, s.phase, s.divisions_left, s.pending,
                              s.mass, s.cycle, s.p21, s.p16, s.gero, s.gero_threshold, s.age_h, s.arrest_h,
                              s.sasp, sim.k, p, s6k, e4bp, sim.seed, sim.step_index)
        outputs.append((counts, s))
    (counts_a, a), (counts_b, b) = outputs
    assert counts_a == counts_b
    for name in CELL_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


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
