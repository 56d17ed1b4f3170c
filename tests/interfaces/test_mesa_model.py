"""GeroModel: the engine as a mesa.Model (seeds, stepping, data collection, events, views)."""

from __future__ import annotations

import math
import time

import mesa
import numpy as np
import pandas as pd
import pytest

from geroconvert.core import layout as L
from geroconvert.core.engine import Simulation
from geroconvert.interfaces.mesa_model import REPORTERS, GeroModel
from geroconvert.parameters import paramsets
from geroconvert.parameters.models import Params, ScheduleEvent
from tests.conftest import CONFIGS


def small_params(**environment) -> Params:
    params = Params(cells=paramsets.cells("ht_p21"))
    return params.with_changes(
        simulation={"width": 24, "height": 24, "initial_density": 0.3, "seed": 5},
        environment={"inducer": 1.0, **environment},
    )


def same_lattice(a, b) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("phase", "kind", "uid", "mass", "p21", "p16", "gero", "sasp")
    )


# ---- a Mesa model that is the engine -------------------------------------------------------------
def test_step_is_one_engine_step():
    params = small_params()
    model = GeroModel(params=params, seed=9)
    sim = Simulation(params, seed=9, record=False)
    assert isinstance(model, mesa.Model)
    for n in range(1, 31):
        model.step()
        sim.step()
        assert model.steps == n and model.time_h == sim.time_h
    assert same_lattice(model.sim.state, sim.state)
    assert np.array_equal(model.sim.events, sim.events)


def test_mesa_seed_is_the_engine_seed_and_rng_is_reproducible():
    params = small_params()
    assert GeroModel(params=params, seed=3).engine_seed == 3
    assert GeroModel(params=params).engine_seed == params.simulation.seed  # the config's seed by default
    a, b = GeroModel(params=params, rng=42), GeroModel(params=params, rng=42)
    assert a.engine_seed == b.engine_seed
    assert GeroModel(params=params, rng=43).engine_seed != a.engine_seed
    assert same_lattice(a.sim.state, b.sim.state)
    assert (
        GeroModel(params=params, rng=np.random.default_rng(7)).engine_seed
        == GeroModel(params=params, rng=np.random.default_rng(7)).engine_seed
    )
    with pytest.raises(ValueError, match="either seed or rng"):
        GeroModel(params=params, seed=1, rng=1)
    for bad in (-1, 2**63, 1.5, "1"):
        with pytest.raises(ValueError, match="seed"):
            GeroModel(params=params, seed=bad)


def test_built_from_a_config_path_with_overrides():
    model = GeroModel(CONFIGS / "ht_p21.toml", overrides=["simulation.width=16", "simulation.height=12"], seed=1)
    assert model.shape == (12, 16)
    assert model.environment.inducer == 1.0
    with pytest.raises(ValueError, match="either a config path or params"):
        GeroModel(CONFIGS / "ht_p21.toml", params=small_params())


def test_environment_keywords_replace_the_configs():
    model = GeroModel(params=small_params(), rapamycin_nM=500, oxygen=0.05)
    assert model.environment.rapamycin_nM == 500 and model.environment.oxygen == 0.05
    with pytest.raises(TypeError, match="unknown argument"):
        GeroModel(params=small_params(), rapamycine_nM=5)


# ---- data collection ---------------------------------------------------------------------------------
def test_datacollector_has_model_level_series():
    params = small_params().with_changes(assays={"rpp_times_h": (0.0, 6.0), "max_cells": 30, "replate_hours": 48.0})
    model = GeroModel(params=params, seed=2)
    for _ in range(8):
        model.step()
    frame = model.dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 9  # t = 0 and 8 steps
    assert set(REPORTERS) <= set(frame.columns)
    assert frame["time_h"].tolist() == [float(t) for t in range(9)]
    counts, p16pos, _ = model.sim.tally()
    last = frame.iloc[-1]
    assert last["n_cells"] == counts[:, 1:].sum() == model.sim.n_cells
    assert last["n_cycling"] + last["n_arrested"] + last["n_senescent"] == last["n_cells"]
    assert last["n_arrested"] > 0  # the inducer arrests the cells
    assert 1.0 < last["mean_mass"] < params.cells.mass_max
    rpp = frame["rpp"].to_numpy()
    assayed = ~np.isnan(rpp)
    assert frame["time_h"][assayed].tolist() == [0.0, 6.0]
    assert all(0.0 <= r <= 1.0 for r in rpp[assayed])
    assert [row[0] for row in model.rpp_rows] == [0.0, 6.0]


def test_series_match_the_engine_recorder():
    params = small_params().with_changes(simulation={"hours": 12.0})
    model = GeroModel(params=params, seed=4)
    model.run_for(12.0)
    results = Simulation(params, seed=4).run()
    frame = model.dataframe()
    for name in ("n_cells", "n_cycling", "n_arrested", "n_senescent", "p16_positive_fraction", "mean_mass"):
        assert np.allclose(frame[name].to_numpy(), results.timeseries[name]), name


def test_rpp_every_h_assays_on_a_clock():
    params = small_params().with_changes(assays={"max_cells": 20, "replate_hours": 48.0})
    model = GeroModel(params=params, seed=2, rpp_every_h=4.0)
    model.run_for(8.0)
    assert [row[0] for row in model.rpp_rows] == [0.0, 4.0, 8.0]
    assert math.isnan(model.readout["rpp"]) is False


# ---- scenario events ---------------------------------------------------------------------------------
def test_events_equal_the_engines_schedule():
    base = small_params(inducer=1.0)
    with_schedule = base.with_changes(
        schedule=(
            ScheduleEvent(time_h=6.0, set={"inducer": 0.0}),
            ScheduleEvent(time_h=9.0, set={"rapamycin_nM": 100.0}),
        )
    )
    sim = Simulation(with_schedule, seed=1, record=False)
    model = GeroModel(params=base, seed=1, events=[(6.0, {"inducer": 0.0})])
    model.dose(9.0, rapamycin_nM=100.0)
    for _ in range(14):
        sim.step()
        model.step()
    assert same_lattice(sim.state, model.sim.state)
    assert model.environment.inducer == 0.0 and model.environment.rapamycin_nM == 100.0
    assert model.events == ()
    frame = model.dataframe()
    assert frame["env_inducer"].tolist()[6] == 1.0 and frame["env_inducer"].tolist()[7] == 0.0


def test_event_helpers_and_validation():
    model = GeroModel(params=small_params(), seed=1)
    model.inducer(False)
    assert model.environment.inducer == 0.0
    model.hypoxia(0.05, at_h=2.0)
    model.inducer(True, at_h=2.0)
    assert len(model.events) == 2
    model.run_for(3.0)
    assert model.environment.oxygen == 0.05 and model.environment.inducer == 1.0
    with pytest.raises(ValueError, match="in the past"):
        model.schedule(1.0, inducer=0.0)
    with pytest.raises(KeyError, match="unknown environment key"):
        model.schedule(10.0, rapamycin=5.0)
    with pytest.raises(ValueError):
        model.schedule(10.0, oxygen=2.0)  # out of range, refused when scheduled
    with pytest.raises(TypeError):
        model.dose(oxygen=0.5)


# ---- light views of cells ----------------------------------------------------------------------------
def test_cell_view_is_read_only_and_follows_the_engine():
    model = GeroModel(params=small_params(), seed=1)
    model.run_for(5.0)
    state = model.sim.state
    site = int(np.flatnonzero(state.phase != L.EMPTY)[3])
    uid = int(state.uid[site])
    view = model.cell(uid)
    assert view["uid"] == uid and view["site"] == site
    assert view["row"] * state.width + view["column"] == site
    assert view["mass"] == pytest.approx(float(state.mass[site]))
    assert view["phase_name"] in L.PHASE_NAMES
    with pytest.raises(TypeError):
        view["mass"] = 3.0
    assert model.cell_at(view["row"], view["column"])["uid"] == uid
    with pytest.raises(KeyError):
        model.cell(10**9)


def test_lattice_views_are_2d_and_read_only():
    model = GeroModel(params=small_params(), seed=1)
    phase = model.lattice("phase")
    assert phase.shape == model.shape == (24, 24)
    assert np.shares_memory(phase, model.sim.state.phase)
    with pytest.raises(ValueError):
        phase[0, 0] = 0
    assert model.lattice("occupied").sum() == model.readout["n_cells"]
    with pytest.raises(KeyError, match="unknown lattice field"):
        model.lattice("volume")
    cells = model.cells()
    assert len(cells["uid"]) == model.readout["n_cells"]


def test_step_has_no_per_cell_python():
    params = Params(cells=paramsets.cells("ht_p21")).with_changes(
        simulation={"width": 100, "height": 100, "initial_density": 0.5}, environment={"inducer": 1.0}
    )
    model = GeroModel(params=params, seed=1)
    model.step()  # compile
    start = time.perf_counter()
    for _ in range(20):
        model.step()
    per_step = (time.perf_counter() - start) / 20
    assert per_step < 0.05, f"{per_step * 1000:.1f} ms per step on 100 x 100"
