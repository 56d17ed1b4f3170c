"""One readouts module: the recorder, GeroModel and the trial read the same numbers from a tally."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geroconvert.core import layout as L
from geroconvert.core.engine import Simulation
from geroconvert.core.readouts import tally_readouts
from geroconvert.interfaces.mesa_model import GeroModel
from geroconvert.studies.trial import visit_measures
from tests.helpers import epidermis, ht_p21


def test_recorder_model_and_trial_agree_on_one_lattice():
    params = epidermis()
    sim = Simulation(params, seed=3)
    for _ in range(40):
        sim.step()
    model = GeroModel(params=params, seed=3)
    for _ in range(40):
        model.step()
    counts, p16pos, sums = sim.tally()
    expected = tally_readouts(counts, p16pos, sums, sim.state.capacity)
    results = Simulation(params, seed=3).run(hours=40 * params.simulation.dt_h)
    last = {name: series[-1] for name, series in results.timeseries.items()}
    for name, value in expected.items():
        assert last[name] == pytest.approx(value, rel=0, abs=0, nan_ok=True), name
        if name in model.readout:
            assert model.readout[name] == pytest.approx(value, rel=0, abs=0, nan_ok=True), name
    for name, value in visit_measures(counts, p16pos).items():
        assert value == expected[name], name


def test_an_empty_lattice_has_no_mean_but_zero_fractions():
    counts = np.zeros((L.N_KINDS, L.N_PHASES), np.int64)
    readouts = tally_readouts(counts, counts.copy(), np.zeros(3), n_sites=16)
    assert math.isnan(readouts["mean_mass"]) and math.isnan(readouts["mean_p16"])
    assert readouts["n_cells"] == 0
    assert readouts["p16_positive_fraction"] == 0.0 and readouts["senescent_fraction"] == 0.0
    empty = GeroModel(params=ht_p21(simulation={"initial_density": 0.0}), seed=1)
    empty.step()
    assert empty.readout["n_cells"] == 0
    assert math.isnan(empty.readout["mean_mass"])
    results = Simulation(ht_p21(hours=2.0, simulation={"initial_density": 0.0}), seed=1).run()
    assert np.isnan(results.timeseries["mean_mass"]).all() and math.isnan(results.summary["final_mean_mass"])
