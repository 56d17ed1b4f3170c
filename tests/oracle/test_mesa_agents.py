"""The plain-Mesa agents (geroconvert.oracle.mesa_agents) against the numba core, step by step.

Each scenario runs ``Simulation`` and ``MesaCellModel`` side by side from the same seed and
requires after every step: the same occupancy and, on every occupied site, the same
phase, kind, uid, divisions_left and clone; the same event counters and cell counts;
float values within rtol 1e-5 (in practice they are bit-identical: the agents store
float32 where the kernels do).  Every scenario must exercise the fates it is about and
take the rule branches (``branches`` counters) that the reference tests require of it.
"""

from __future__ import annotations

import numpy as np
import pytest
from mesa.discrete_space import CellAgent, OrthogonalVonNeumannGrid

from geroconvert.core import layout as L
from geroconvert.core.engine import Simulation
from geroconvert.oracle import rules
from geroconvert.oracle.mesa_agents import MesaCellModel, f32
from geroconvert.oracle.reference import ReferenceSimulation

# the scenarios of the reference tests: the Mesa agents must match the engine on the same
# ones and take the same rule branches there
from tests.oracle.test_reference import (
    dish_params,
    epidermis_params,
    melanocyte_params,
    sheet_params,
    stem_niche_exit_params,
    stem_niche_params,
    sunlit_params,
    tiny_torus_params,
    untaken_branches,
)

DISCRETE = ("phase", "kind", "uid", "divisions_left", "clone")
FLOATS = ("mass", "cycle", "p21", "p16", "gero", "gero_threshold", "age_h", "arrest_h")
RTOL, ATOL = 1e-5, 1e-6


SCENARIOS = {
    "dish": (dish_params(), 7, 100),
    "epidermis": (epidermis_params(), 4, 120),
    "tiny_torus": (tiny_torus_params(), 11, 60),
    "sunlit": (sunlit_params(), 4, 120),
    "melanocytes": (melanocyte_params(), 6, 120),
    "stem_niche": (stem_niche_params(), 1, 200),
    "stem_niche_exit": (stem_niche_exit_params(), 1, 200),
    "sheet": (sheet_params(), 2, 300),
    "thin_sheet": (sheet_params(width=5, depth=2), 5, 150),
}


def mismatch(sim: Simulation, model: MesaCellModel) -> str | None:
    """The first difference between the engine and the Mesa agents, or None."""
    got = model.to_state()
    want = sim.state
    if not np.array_equal(want.phase, got.phase):
        return f"phase differs at sites {np.flatnonzero(want.phase != got.phase).tolist()}"
    live = want.phase != L.EMPTY
    for name in DISCRETE[1:]:
        a, b = getattr(want, name)[live], getattr(got, name)[live]
        if not np.array_equal(a, b):
            return f"{name} differs at sites {np.flatnonzero(live)[a != b].tolist()}"
    for name in FLOATS:
        a, b = getattr(want, name)[live].astype(np.float64), getattr(got, name)[live].astype(np.float64)
        if not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            return f"{name} differs: max |diff| {np.max(np.abs(a - b)):.3g}"
    if not np.allclose(want.sasp, got.sasp, rtol=RTOL, atol=ATOL):
        return f"SASP field differs: max |diff| {np.max(np.abs(want.sasp - got.sasp)):.3g}"
    if not np.array_equal(sim.events, model.events):
        return f"events differ: numba {sim.events.tolist()} mesa {model.events.tolist()}"
    if (sim.n_cells, sim.n_senescent, want.next_uid) != (model.n_cells, model.n_senescent, model.next_uid):
        return (
            f"counts differ: numba {(sim.n_cells, sim.n_senescent, want.next_uid)} "
            f"mesa {(model.n_cells, model.n_senescent, model.next_uid)}"
        )
    return None


def run_side_by_side(name: str, steps: int | None = None):
    params, seed, n = SCENARIOS[name]
    sim = Simulation(params, seed=seed, record=False)
    model = MesaCellModel(params, seed)
    problem = mismatch(sim, model)
    assert problem is None, f"initial lattice: {problem}"
    for step in range(n if steps is None else steps):
        sim.step()
        model.step()
        problem = mismatch(sim, model)
        if problem is not None:
            return sim, model, f"step {step}: {problem}"
    return sim, model, None


def events(model) -> dict:
    return {name: int(model.events[i]) for i, name in enumerate(L.EVENT_NAMES)}


# ---- event by event ------------------------------------------------------------------------------
def test_dish_matches_the_numba_core():
    sim, model, problem = run_side_by_side("dish")
    assert problem is None, problem
    ev = events(model)
    for fate in ("divisions", "arrests", "resumes", "conversions", "clearances", "deaths", "senescent_lost"):
        assert ev[fate] > 0, f"the dish run never exercised {fate}: {ev}"
    missing = untaken_branches("dish", model.branches)
    assert not missing, f"the dish run never took {missing}: {model.branches}"


def test_epidermis_matches_the_numba_core():
    sim, model, problem = run_side_by_side("epidermis")
    assert problem is None, problem
    ev = events(model)
    for fate in ("divisions", "arrests", "conversions", "clearances", "deaths", "shed", "differentiations"):
        assert ev[fate] > 0, f"the epidermis run never exercised {fate}: {ev}"
    missing = untaken_branches("epidermis", model.branches)
    assert not missing, f"the epidermis run never took {missing}: {model.branches}"


def test_sunlit_epidermis_matches_the_numba_core():
    """UV by depth: the agents read each row's damage probability as the kernels do."""
    sim, model, problem = run_side_by_side("sunlit")
    assert problem is None, problem
    missing = untaken_branches("sunlit", model.branches)
    assert not missing, f"the sunlit run never took {missing}: {model.branches}"


def test_tiny_torus_matches_the_numba_core():
    sim, model, problem = run_side_by_side("tiny_torus")
    assert problem is None, problem
    assert events(model)["divisions"] > 0
    missing = untaken_branches("tiny_torus", model.branches)
    assert not missing, f"the tiny torus run never took {missing}: {model.branches}"


def test_melanocytes_and_the_damage_exit_match_the_numba_core():
    sim, model, problem = run_side_by_side("melanocytes")
    assert problem is None, problem
    ev = events(model)
    assert ev["damage_exits"] > 0, ev
    missing = untaken_branches("melanocytes", model.branches)
    assert not missing, f"the melanocyte run never took {missing}: {model.branches}"


def test_the_stem_niche_matches_the_numba_core():
    sim, model, problem = run_side_by_side("stem_niche")
    assert problem is None, problem
    missing = untaken_branches("stem_niche", model.branches)
    assert not missing, f"the stem niche run never took {missing}: {model.branches}"


def test_stem_cells_with_a_niche_take_the_exit_as_the_numba_core_does():
    sim, model, problem = run_side_by_side("stem_niche_exit")
    assert problem is None, problem
    missing = untaken_branches("stem_niche_exit", model.branches)
    assert not missing, f"the stem niche exit run never took {missing}: {model.branches}"


@pytest.mark.parametrize("name", ["sheet", "thin_sheet"])
def test_a_basal_sheet_matches_the_numba_core(name):
    """Agents on a 3-D Mesa grid (rows x depth x width) under the same rules as the kernels."""
    sim, model, problem = run_side_by_side(name)
    assert problem is None, problem
    assert len(model.grid.dimensions) == 3
    missing = untaken_branches(name, model.branches)
    assert not missing, f"the {name} run never took {missing}: {model.branches}"


def test_agents_take_the_reference_s_branches():
    """Counted by the same rules, the branch counters of the agents and of the array reference
    agree over a run: the two worlds answer the rules' lattice questions alike."""
    for name in ("dish", "epidermis", "melanocytes", "stem_niche", "sheet"):
        params, seed, n = SCENARIOS[name]
        model = MesaCellModel(params, seed)
        ref = ReferenceSimulation(params, seed, model.to_state())
        for _ in range(n):
            model.step()
            ref.step()
        assert model.branches == ref.branches, name


def test_floats_are_bit_identical_in_practice():
    sim, model, problem = run_side_by_side("dish", steps=60)
    assert problem is None, problem
    got = model.to_state()
    live = sim.state.phase != L.EMPTY
    for name in FLOATS:
        assert np.array_equal(getattr(sim.state, name)[live], getattr(got, name)[live]), name
    assert np.array_equal(sim.state.sasp, got.sasp)


def test_the_dish_is_seeded_like_the_engine():
    params, seed, _ = SCENARIOS["dish"]
    sim = Simulation(params, seed=seed, record=False)
    model = MesaCellModel(params, seed)
    assert model.n_cells == sim.n_cells > 0
    assert mismatch(sim, model) is None


def test_environment_changes_mid_run_agree():
    params, seed, _ = SCENARIOS["dish"]
    sim = Simulation(params, seed=seed, record=False)
    model = MesaCellModel(params, seed)
    for step in range(50):
        if step == 20:
            for target in (sim, model):
                target.set_environment(inducer=1.0, pan_mtor_nM=3.0, oxygen=0.3)
        sim.step()
        model.step()
    assert mismatch(sim, model) is None


def test_a_changed_rule_is_noticed(monkeypatch):
    """The comparison has teeth: ignore contact inhibition in the agents' rules and it fails."""
    original = rules.signalling

    def no_contact(cell, world, inputs):
        saved = world.cells
        world.cells = saved.model_copy(update={"contact_inhibition_max": 0.0})
        try:
            return original(cell, world, inputs)
        finally:
            world.cells = saved

    monkeypatch.setattr(rules, "signalling", no_contact)
    _, _, problem = run_side_by_side("dish", steps=40)
    assert problem is not None


# ---- it is a Mesa model ------------------------------------------------------------------------
def test_cells_are_mesa_cell_agents_on_a_von_neumann_torus():
    params, seed, _ = SCENARIOS["dish"]
    model = MesaCellModel(params, seed)
    assert isinstance(model.grid, OrthogonalVonNeumannGrid) and model.grid.torus
    assert all(isinstance(agent, CellAgent) for agent in model.agents)
    for _ in range(10):
        model.step()
    assert model.steps == 10
    assert len(model.agents) == model.n_cells
    occupied = [site for site in model.sites if not site.is_empty]
    assert len(occupied) == model.n_cells
    assert all(len(site.agents) == 1 and site.agents[0].cell is site for site in occupied)
    assert model.snapshot()["phase"].shape == (params.simulation.height, params.simulation.width)


def test_sasp_is_a_grid_property_layer():
    params, seed, _ = SCENARIOS["dish"]
    model = MesaCellModel(params, seed)
    assert model.grid.sasp.data.dtype == np.float32
    site = model.sites[5]
    site.sasp = 0.25
    assert model.to_state().sasp[5] == np.float32(0.25)


def test_start_from_a_given_state_and_seed_defaults():
    params, seed, _ = SCENARIOS["dish"]
    sim = Simulation(params, seed=seed, record=False)
    model = MesaCellModel(params, seed, state=sim.state)
    assert mismatch(sim, model) is None
    assert MesaCellModel(params).seed == params.simulation.seed
    assert f32(0.1) == float(np.float32(0.1))
