"""Labelled basal clones: the kernel against its plain form, the readouts, and a run's clones."""

from __future__ import annotations

import numpy as np
import pytest

from geroconvert.core import layout as L
from geroconvert.core.kernels.reduce import clone_sizes
from geroconvert.core.readouts import CLONE_SIZE_BINS, clone_bin_name, clone_readouts
from geroconvert.core.state import CellState
from geroconvert.oracle import reference


@pytest.mark.parametrize("seed", range(5))
def test_the_kernel_counts_each_labelled_clone_as_the_plain_rule_does(seed):
    rng = np.random.default_rng(seed)
    state = CellState.empty(7, 5)
    n = state.capacity
    state.phase[:] = rng.integers(0, L.N_PHASES, n)
    state.kind[:] = rng.integers(0, L.N_KINDS, n)
    state.clone[:] = rng.integers(0, 12, n)
    labels = np.unique(rng.choice(15, 6, replace=False)).astype(state.clone.dtype)  # some never present
    cells, basal = clone_sizes(state.cell_arrays(), labels)
    want_cells, want_basal = reference.clone_sizes(state.phase, state.kind, state.clone, labels)
    np.testing.assert_array_equal(cells, want_cells)
    np.testing.assert_array_equal(basal, want_basal)
    assert np.all(basal <= cells)


def test_the_readouts_bin_surviving_clones_by_basal_size():
    basal = np.array([0, 1, 2, 3, 4, 5, 8, 9, 40, 0])
    cells = basal + np.array([5, 0, 1, 1, 0, 2, 0, 3, 10, 0])
    out = clone_readouts(cells, basal)
    assert out["clones_surviving"] == 8  # a clone without a basal cell is lost, whatever sits above
    assert out["clone_mean_basal_cells"] == pytest.approx(basal[basal > 0].mean())
    assert out["clone_mean_cells"] == pytest.approx(cells[basal > 0].mean())
    binned = {clone_bin_name(lo, hi): out[clone_bin_name(lo, hi)] for lo, hi in CLONE_SIZE_BINS}
    assert binned == {
        "clones_basal_1": 1,
        "clones_basal_2": 1,
        "clones_basal_3_4": 2,
        "clones_basal_5_8": 2,
        "clones_basal_9_16": 1,
        "clones_basal_17_32": 0,
        "clones_basal_33_up": 1,
    }
    none = clone_readouts(np.zeros(3), np.zeros(3))
    assert none["clones_surviving"] == 0 and np.isnan(none["clone_mean_basal_cells"])


def test_a_run_follows_the_clones_of_its_first_basal_cells():
    from geroconvert.config import load_config
    from geroconvert.core.engine import Simulation

    params = load_config("configs/epidermis_small.toml", overrides=["simulation.hours=1440"]).params
    sim = Simulation(params, seed=3)
    basal_at_start = int(
        np.count_nonzero((sim.state.phase != L.EMPTY) & np.isin(sim.state.kind, (L.STEM, L.PROGENITOR)))
    )
    series = sim.run().timeseries
    surviving = series["clones_surviving"]
    assert surviving[0] == basal_at_start and series["clone_mean_basal_cells"][0] == 1.0
    # a clone that has lost its basal cells never regains one: suprabasal cells do not return
    assert np.all(np.diff(surviving) <= 0) and surviving[-1] < surviving[0]
    bins = sum(series[clone_bin_name(lo, hi)] for lo, hi in CLONE_SIZE_BINS)
    np.testing.assert_array_equal(bins, surviving)
    # the surviving clones hold at most every basal cell, and their cells at most every epidermal cell
    basal_now = sum(series[f"n_{kind}_{p}"] for kind in ("stem", "progenitor") for p in L.PHASE_NAMES[1:])
    assert np.all(surviving * series["clone_mean_basal_cells"] <= basal_now + 1e-9)


def test_a_dish_records_no_clone_series():
    from geroconvert.core.recorder import series_for

    assert not any(name.startswith("clone") for name in series_for("dish"))
    assert "clones_surviving" in series_for("epidermis")


def test_a_run_from_a_copied_skin_starts_a_new_tracing_without_changing_the_skin():
    from geroconvert.config import load_config
    from geroconvert.core.engine import Simulation

    params = load_config("configs/epidermis_small.toml", overrides=["simulation.hours=480"]).params
    aged = Simulation(params, seed=4, record=False)
    aged.run(hours=2000)
    basal = int(np.count_nonzero((aged.state.phase != L.EMPTY) & np.isin(aged.state.kind, (L.STEM, L.PROGENITOR))))
    traced = Simulation(params, seed=5, state=aged.state.copy()).run().timeseries
    # every basal cell of the copied skin founds one clone; the cells above it are not traced
    assert traced["clones_surviving"][0] == basal
    assert traced["clone_mean_basal_cells"][0] == 1.0 and traced["clone_mean_cells"][0] == 1.0
    # the labels mark lineages only: no rule reads them, so scrambled labels give the same tissue
    plain = Simulation(params, seed=5, state=aged.state.copy(), record=False)
    scrambled = Simulation(params, seed=5, state=aged.state.copy(), record=False)
    scrambled.state.clone[:] = np.random.default_rng(0).integers(0, 5, scrambled.state.capacity)
    plain.run()
    scrambled.run()
    for name in ("phase", "kind", "p16", "mass", "uid"):
        np.testing.assert_array_equal(getattr(plain.state, name), getattr(scrambled.state, name))
