"""The RPP assay in one kernel call (issue 14, item 9) against the assay as it was.

``assays.rpp_assay`` regrows a replated dish with ``kernels.regrowth.regrow``, which takes
a Simulation's steps in one call and stops once the colony count is certain;
``assays._rpp_assay_by_simulation`` is the way before (a Simulation of the plate), kept as
the reference.  The two must agree exactly (rpp, n_replated, n_colonies) on every state
here, the edge cases included: no cells, every cell senescent, colonies that reach the
counting size and then lose cells (the case a naive early stop gets wrong, shown below),
the mTOR-gain genotype, differentiated cells, a SASP field strong enough to arrest cells,
replication stress, clearance that follows the counts, G0 rests, a topical dose that
changes with time.  Step by step, ``regrow`` without its shortcuts must leave the lattice
a Simulation leaves, array for array, and that the plain-Python reference leaves
(geroconvert.oracle.reference), within its tolerances.  Nothing here is timed.
"""

from __future__ import annotations

import functools
import math
import threading

import numba
import numpy as np
import pytest

from geroconvert.core import assays
from geroconvert.core import layout as L
from geroconvert.core.engine import MAX_UID, Simulation
from geroconvert.core.inputs import kernel_constants, sasp_substeps
from geroconvert.core.kernels import regrowth as K
from geroconvert.core.kernels.field import diffuse
from geroconvert.core.state import CELL_FIELDS
from geroconvert.oracle.reference import ReferenceSimulation
from geroconvert.parameters import paramsets
from geroconvert.parameters.models import Params
from tests.helpers import epidermis, ht_p21
from tests.oracle.test_reference import mismatch, snapshot

# small plates, so that the reference (a Simulation per assay) stays quick
SMALL_ASSAY = {"max_cells": 49, "tile_sites": 8}


def dish(hours: float, cells=None, environment=None, **assay) -> Params:
    params = ht_p21(hours=hours, cells=cells, environment=environment)
    return params.with_changes(assays={**SMALL_ASSAY, **assay})


def grown(params: Params, seed: int = 3) -> Simulation:
    sim = Simulation(params, seed=seed, record=False)
    sim.run()
    return sim


def both(sim, time_h: float):
    return assays.rpp_assay(sim, time_h), assays._rpp_assay_by_simulation(sim, time_h)


def assert_same(sim, time_h: float):
    fast, reference = both(sim, time_h)
    if reference[2] == 0:
        assert fast[0] == reference[0] and fast[2:] == reference[2:] == (0, 0)
        assert math.isnan(fast[1]) and math.isnan(reference[1])
    else:
        assert fast == reference
    return reference


# ---- the assay, fast and as it was ------------------------------------------------------------
PARACRINE = {"sasp_to_p21": 3.0, "sasp_secretion_per_h": 0.5, "sasp_diffusion_per_h": 2.0, "sasp_decay_per_h": 0.05}
SCENARIOS = {
    # HT-p21 with the inducer on: every stage of the loss of RPP
    "ht_p21_0h": lambda: dish(0.0),
    "ht_p21_48h": lambda: dish(48.0),
    "ht_p21_72h": lambda: dish(72.0),
    "ht_p21_110h": lambda: dish(110.0),
    "mtor_gain": lambda: dish(60.0, environment={"mtor_gain": 3.0}),
    "rapamycin": lambda: dish(72.0, environment={"rapamycin_nM": 500.0}),
    # cells die in culture too: colonies reach the counting size and lose cells again
    "deaths": lambda: dish(48.0, cells={"death_per_h": 0.02, "senescent_death_per_h": 0.05}),
    # ... and colonies of two cells count: every colony soon reaches it, many die out again
    "deaths_small_colonies": lambda: dish(48.0, cells={"death_per_h": 0.02}, colony_min_cells=2),
    # senescent neighbours secrete, die and leave their site to a growing colony
    "dying_senescent_neighbours": lambda: dish(
        72.0, cells={"sasp_secretion_per_h": 0.2, "senescent_death_per_h": 0.05}, tile_sites=3
    ),
    # arrested cells resume slowly, while the field still raises their p21
    "slow_p21": lambda: dish(
        60.0, cells={"p21_tau_h": 20.0, "sasp_to_p21": 0.9, "sasp_diffusion_per_h": 2.0}, tile_sites=4
    ),
    # the field arrests cells in the regrowth (76 arrests; not diffusing it changes the count)
    "paracrine": lambda: dish(60.0, cells=PARACRINE, tile_sites=5),
    # the field raises p21 without arresting anyone
    "paracrine_weak": lambda: dish(60.0, cells={**PARACRINE, "sasp_to_p21": 1.0}, tile_sites=5),
    "replication_stress": lambda: dish(24.0, cells={"damage_per_division": 0.2, "damage_p21_jump": 0.6}),
    "clearance": lambda: dish(80.0, cells={"clearance_beta_per_h": 0.3, "senescent_death_per_h": 0.01}),
    "g0_rest": lambda: dish(30.0, cells={"rest_mean_h": 6.0}),
    # p16 rises with age towards 0.67, past its threshold: cycling cells arrest late in the regrowth
    "p16_rises": lambda: dish(40.0, cells={"p16_rise_age_per_h": 0.01}),
    "topical_dose": lambda: dish(50.0).with_changes(dosing={"topical_uM": 10.0, "topical_interval_h": 24.0}),
    "fewer_cells_than_asked": lambda: dish(20.0, max_cells=5000),
    "short_regrowth": lambda: dish(70.0, replate_hours=30.0, colony_min_cells=4),
}


@pytest.fixture(scope="module")
def scenario_rows():
    """Per scenario: (fast row, reference row) of an assay of its grown dish."""
    rows = {}
    for name, make in SCENARIOS.items():
        params = make()
        rows[name] = both(grown(params), params.simulation.hours)
    return rows


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_fast_assay_counts_what_the_simulation_counts(name, scenario_rows):
    fast, reference = scenario_rows[name]
    assert reference[2] > 0
    assert fast == reference


def test_the_scenarios_span_the_curve(scenario_rows):
    """Not all full, not all empty: RPP itself is compared, not only 0 and 1."""
    values = [reference[1] for _, reference in scenario_rows.values()]
    assert min(values) < 0.2 and max(values) == 1.0 and sum(0.2 < v < 0.9 for v in values) >= 3, values


def test_no_cells():
    sim = grown(dish(10.0).with_changes(simulation={"initial_density": 0.0}))
    assert sim.n_cells == 0
    fast, reference = both(sim, 10.0)
    assert fast[2:] == reference[2:] == (0, 0) and math.isnan(fast[1])


def test_every_cell_senescent():
    sim = grown(dish(48.0))
    live = sim.state.phase != L.EMPTY
    sim.state.phase[live] = L.SENESCENT
    assert assert_same(sim, 48.0)[3] == 0


def test_every_cell_differentiated_or_senescent():
    sim = grown(dish(48.0))
    live = np.flatnonzero(sim.state.phase != L.EMPTY)
    sim.state.kind[live[::2]] = L.DIFFERENTIATED
    sim.state.phase[live[1::2]] = L.SENESCENT
    assert assert_same(sim, 48.0)[3] == 0


def test_some_cells_differentiated():
    sim = grown(dish(30.0))
    live = np.flatnonzero(sim.state.phase != L.EMPTY)
    sim.state.kind[live[::3]] = L.DIFFERENTIATED
    sim.state.arrest_h[live[::3]] = 5.0
    assert_same(sim, 30.0)


def test_epidermal_cells():
    """Stem, progenitor, differentiated and dermal cells replated: all but the differentiated
    become a cell line; the differentiated are shed from the dish in time."""
    params = epidermis(hours=400.0).with_changes(assays={**SMALL_ASSAY, "replate_hours": 60.0})
    sim = grown(params)
    kinds = set(np.unique(sim.state.kind[sim.state.phase != L.EMPTY]).tolist())
    assert {L.STEM, L.PROGENITOR, L.DIFFERENTIATED, L.FIBROBLAST} <= kinds
    assert_same(sim, 400.0)


def test_a_run_records_the_same_rpp_table(monkeypatch):
    params = dish(96.0).with_changes(assays={"rpp_times_h": (0.0, 24.0, 48.0, 72.0, 96.0)})
    fast = Simulation(params, seed=5).run()
    monkeypatch.setattr(assays, "rpp_assay", assays._rpp_assay_by_simulation)
    reference = Simulation(params, seed=5).run()
    for name in reference.rpp:
        np.testing.assert_array_equal(fast.rpp[name], reference.rpp[name], err_msg=name)
    assert fast.summary.keys() == reference.summary.keys()
    assert all(
        fast.summary[key] == reference.summary[key] or key in ("wall_s", "compile_s") for key in reference.summary
    )


# ---- the shortcuts are taken, and only when they may be ----------------------------------------
def regrow_outcomes(monkeypatch, sim, time_h) -> list[tuple[int, int]]:
    """(steps taken, why) of every regrow call of an assay."""
    seen = []
    real = assays.regrow

    def spy(*args):
        out = real(*args)
        seen.append((int(out[3]), int(out[5])))
        return out

    monkeypatch.setattr(assays, "regrow", spy)
    assays.rpp_assay(sim, time_h)
    return seen


def test_a_settled_count_stops_the_regrowth(monkeypatch):
    sim = grown(dish(72.0))
    [(taken, why)] = regrow_outcomes(monkeypatch, sim, 72.0)
    assert why == K.SETTLED and taken < 120


def test_death_of_cycling_cells_keeps_counting_colonies_unsettled(monkeypatch):
    """Background death can take any cell: a colony at the counting size is never certain."""
    sim = grown(dish(0.0, cells={"death_per_h": 0.01}))
    [(taken, why)] = regrow_outcomes(monkeypatch, sim, 0.0)
    assert (taken, why) == (120, K.DONE)


def reference_regrowth(sim, time_h):
    """The reference regrowth of an assay, step by step: (sizes after every step, its Simulation)."""
    sites = assays.sample_cells(sim.state, sim.seed, sim.params.assays.max_cells)
    plate = assays.replate(sim.state, sites, sim.params.assays.tile_sites)
    params = assays.regrowth_params(sim, plate.width)
    regrowth = Simulation(params, seed=assays._regrowth_seed(sim, time_h), state=plate, record=False)
    history = []
    for _ in range(int(round(params.simulation.hours / params.simulation.dt_h))):
        regrowth.step()
        history.append(assays.colony_sizes(regrowth.state, sites.size))
    return np.array(history), regrowth


def test_a_naive_early_stop_would_miscount_shrinking_colonies():
    """Stopping a colony once it has reached the counting size would count colonies that the
    full regrowth ends without: the "deaths" scenario has them, and the fast assay, which
    does not stop there, agrees with the full regrowth (test above)."""
    params = SCENARIOS["deaths"]()
    sim = grown(params)
    history, _ = reference_regrowth(sim, params.simulation.hours)
    least = params.assays.colony_min_cells
    reached = (history >= least).any(axis=0)
    final = history[-1] >= least
    assert np.count_nonzero(reached & ~final) > 0  # colonies that reached the size and lost it
    fast = assays.rpp_assay(sim, params.simulation.hours)
    assert fast[3] == np.count_nonzero(final) != np.count_nonzero(reached)


def test_the_paracrine_field_arrests_cells_in_the_regrowth():
    params = SCENARIOS["paracrine"]()
    _, regrowth = reference_regrowth(grown(params), params.simulation.hours)
    assert regrowth.events[L.E_ARRESTS] > 10


def claims_along(plate, params: Params, seed: int, n_clones: int):
    """What ``shortcuts_now`` claims after every step of a Simulation regrowing ``plate``
    under ``params``, and what then happened: (count claims [(step, count)], freeze claims
    [step], final count, (arrests, resumes, conversions) so far after each step)."""
    n_steps = int(round(params.simulation.hours / params.simulation.dt_h))
    k, drive, inducer, damage_p, _, s6k, e4bp, _, diffusion = kernel_inputs(params, n_steps, plate.rows)
    secretion = K.largest_sasp_step(k, drive, s6k, e4bp)
    regrowth = Simulation(params, seed=seed, state=plate, record=False)
    s = regrowth.state
    counts, freezes, arrests = [], [], []
    least = params.assays.colony_min_cells
    for step in range(n_steps):
        regrowth.step()
        arrests.append(tuple(int(regrowth.events[e]) for e in (L.E_ARRESTS, L.E_RESUMES, L.E_CONVERSIONS)))
        left = n_steps - step - 1
        damage_free = bool(np.all(damage_p[step + 1 :] <= 0.0)) and k[L.K_DAMAGE_PER_DIVISION] == 0.0
        count, freeze, _ = K.shortcuts_now(
            s.phase, s.kind, s.clone, s.p21, s.p16, s.sasp, k, n_clones, least, left, damage_free, secretion,
            diffusion, inducer, False,
        )  # fmt: skip
        if count >= 0:
            counts.append((step, int(count)))
        if freeze:
            freezes.append(step)
    final = int(np.count_nonzero(assays.colony_sizes(s, n_clones) >= least))
    return counts, freezes, final, arrests


@functools.cache
def claims_along_the_reference(name):
    """:func:`claims_along` the reference regrowth of scenario ``name``'s assay."""
    params = SCENARIOS[name]()
    sim = grown(params)
    sites = assays.sample_cells(sim.state, sim.seed, params.assays.max_cells)
    plate = assays.replate(sim.state, sites, params.assays.tile_sites)
    seed = assays._regrowth_seed(sim, params.simulation.hours)
    return claims_along(plate, assays.regrowth_params(sim, plate.width), seed, sites.size)


def hand_made_plate(sim: Simulation, width: int, cells: dict[int, list[tuple[int, int, int]]]):
    """A plate with cells of ``sim`` (its first live ones, as donors) placed by hand:
    clone -> [(row, column, phase)], every cell a line cell with p21 0."""
    plate = assays.CellState.empty(width, width)
    placed = [(clone, row * width + column, phase) for clone, where in cells.items() for row, column, phase in where]
    donors = np.flatnonzero(sim.state.phase != L.EMPTY)[: len(placed)]
    sites = [site for _, site, _ in placed]
    for name in CELL_FIELDS:
        if name != "sasp":
            getattr(plate, name)[sites] = getattr(sim.state, name)[donors]
    plate.pending[sites] = L.NONE
    plate.kind[sites] = L.LINE
    plate.clone[sites] = [clone for clone, _, _ in placed]
    plate.phase[sites] = [phase for _, _, phase in placed]
    plate.p21[sites] = 0.0
    plate.next_uid = sim.state.next_uid
    return plate


def test_colonies_of_dying_cells_are_not_counted_as_certain():
    """Clone 0: three senescent cells that die fast; clone 1: three cycling cells that cannot
    die; clone 2: one senescent cell.  The count ends at 1, and no claim along the way may
    count clone 0 (its cells are done, not safe)."""
    sim = grown(dish(0.0, cells={"senescent_death_per_h": 0.1}))
    params = assays.regrowth_params(sim, 20).with_changes(assays={"colony_min_cells": 3})
    S, C = L.SENESCENT, L.CYCLING
    plate = hand_made_plate(
        sim, 20, {0: [(2, 2, S), (2, 3, S), (2, 4, S)], 1: [(10, 10, C), (10, 11, C), (11, 10, C)], 2: [(16, 16, S)]}
    )
    counts, _, final, _ = claims_along(plate, params, 5, 3)
    assert final == 1 and counts and all(count == 1 for _, count in counts), (final, counts)


def test_colonies_of_cells_that_may_die_are_not_counted_as_certain():
    """Three colonies of three cycling cells, under background death: all are at the
    counting size from the start, and end below it; no count may be claimed before."""
    sim = grown(dish(0.0, cells={"death_per_h": 0.08}))
    params = assays.regrowth_params(sim, 24).with_changes(simulation={"hours": 40.0}, assays={"colony_min_cells": 3})
    C = L.CYCLING
    plate = hand_made_plate(
        sim, 24, {clone: [(8 * clone + 2, 2, C), (8 * clone + 2, 3, C), (8 * clone + 3, 2, C)] for clone in range(3)}
    )
    counts, _, final, _ = claims_along(plate, params, 8, 3)
    assert final < 3, final
    assert all(count == final for _, count in counts), (final, counts)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_what_the_shortcuts_claim_comes_true(name):
    """After every step of the reference regrowth: a count said to be certain is the count
    at the end, and once the field is said to decide nothing, no cell arrests, resumes or
    turns senescent any more (the field acts only through arrests: every cell that is not
    senescent or differentiated must be cycling, never to be blocked again)."""
    counts, freezes, final, changes = claims_along_the_reference(name)
    assert all(count == final for _, count in counts), (final, counts)
    for step in freezes:
        assert changes[-1] == changes[step], (step, changes)


def test_the_shortcuts_are_claimed_and_refused():
    claims = {name: claims_along_the_reference(name) for name in ("ht_p21_72h", "deaths", "paracrine")}
    counts, freezes, _, _ = claims["ht_p21_72h"]
    assert counts and freezes and freezes[0] < counts[0][0]
    counts, freezes, _, _ = claims["deaths"]
    assert not counts and freezes  # death can take any cell: no count is certain
    counts, freezes, _, changes = claims["paracrine"]
    arrests = [changed[0] for changed in changes]
    assert arrests[-1] > 10 and (not freezes or arrests[freezes[0]] == arrests[-1]), (freezes, arrests)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_frozen_field_changes_no_decision(name):
    """The regrowth with the field frozen once it decides nothing (and no early stop) ends
    with the lattice of the Simulation, every array but p21 and the field the same."""
    params = SCENARIOS[name]()
    sim = grown(params)
    _, reference = reference_regrowth(sim, params.simulation.hours)
    sites = assays.sample_cells(sim.state, sim.seed, params.assays.max_cells)
    plate = assays.replate(sim.state, sites, params.assays.tile_sites)
    regrowth_params = assays.regrowth_params(sim, plate.width)
    n_steps = int(round(regrowth_params.simulation.hours / regrowth_params.simulation.dt_h))
    k, drive, inducer, damage_p, row_set, s6k, e4bp, clearance, diffusion = kernel_inputs(
        regrowth_params, n_steps, plate.rows
    )
    out = K.regrow(
        plate.width, plate.rows, plate.cell_arrays(), k, drive, inducer, damage_p, row_set, s6k, e4bp, clearance,
        diffusion, assays._regrowth_seed(sim, params.simulation.hours), 0, n_steps, plate.next_uid, MAX_UID,
        np.zeros(L.N_EVENTS, np.int64), sites.size, params.assays.colony_min_cells, False, True, True,
        np.zeros(plate.capacity, np.float32),
    )  # fmt: skip
    assert out[3] == n_steps and out[5] == K.DONE
    for field in CELL_FIELDS:
        if field not in ("p21", "sasp"):
            np.testing.assert_array_equal(getattr(plate, field), getattr(reference.state, field), err_msg=field)
    if out[6] < 0:  # never frozen: the field and p21 too
        np.testing.assert_array_equal(plate.sasp, reference.state.sasp)
        np.testing.assert_array_equal(plate.p21, reference.state.p21)


def test_the_field_is_frozen_in_most_scenarios():
    frozen = []
    for name in SCENARIOS:
        _, freezes, _, _ = claims_along_the_reference(name)
        frozen.append(bool(freezes))
    assert sum(frozen) >= len(frozen) // 2, frozen


# ---- the kernel, step by step ------------------------------------------------------------------
def kernel_inputs(params: Params, n_steps: int, rows: int):
    cells, dt = params.cells, params.simulation.dt_h
    substeps, coef, keep = sasp_substeps(cells, dt)
    return (
        kernel_constants(cells, dt),
        *assays.regrowth_inputs(params, n_steps, rows),
        np.array([cells.clearance_beta_per_h, cells.clearance_kappa, cells.clearance_burden_ref, dt]),
        np.array([float(substeps), coef, keep]),
    )


class KernelRun:
    """``regrow`` (no shortcuts) called one step at a time, with what ``snapshot`` reads."""

    def __init__(self, params: Params, seed: int, state, n_steps: int, serial_field: bool):
        self.state = state.copy()
        self.seed = seed
        self.inputs = kernel_inputs(params, n_steps, state.rows)
        self.events = np.zeros(L.N_EVENTS, np.int64)
        self.step_index = 0
        self.serial_field = serial_field
        self.buffer = np.full(state.capacity, np.float32(7.0))  # its contents must not matter
        self.n_cells = self.n_senescent = -1

    def step(self):
        s = self.state
        k, drive, inducer, damage_p, row_set, s6k, e4bp, clearance, diffusion = self.inputs
        out = K.regrow(
            s.width,
            s.rows,
            s.cell_arrays(),
            k,
            drive,
            inducer,
            damage_p,
            row_set,
            s6k,
            e4bp,
            clearance,
            diffusion,
            self.seed,
            self.step_index,
            1,
            s.next_uid,
            MAX_UID,
            self.events,
            1,
            2,
            False,
            False,
            self.serial_field,
            self.buffer,
        )
        s.next_uid, self.n_cells, self.n_senescent = int(out[0]), int(out[1]), int(out[2])
        assert (out[3], out[5]) == (1, K.DONE)
        self.step_index += 1


def lively_dish() -> Params:
    """A 12 x 10 dish where every fate happens within 60 steps (as the oracle's dish scenario),
    with the environment constant, as in a regrowth."""
    cells = paramsets.cells(
        "ht_p21",
        {
            "senescent_death_per_h": 0.03,
            "clearance_beta_per_h": 0.01,
            "death_per_h": 0.002,
            "gero_rate_per_h": 0.5,
            "damage_per_division": 0.2,
            "sasp_secretion_per_h": 0.2,
            "rest_mean_h": 3.0,
            "contact_inhibition_max": 0.75,
            "sasp_diffusion_per_h": 0.7,  # four sub-steps
        },
    )
    return Params(
        simulation={"geometry": "dish", "width": 12, "height": 10, "dt_h": 1.0, "initial_density": 0.6},
        environment={"damage_rate_per_h": 0.01, "inducer": 0.3, "rapamycin_nM": 2.0},
        cells=cells,
    ).with_changes(dosing={"topical_uM": 5.0, "topical_interval_h": 7.0})


TINY = Params(
    simulation={"geometry": "dish", "width": 3, "height": 2, "dt_h": 0.7, "initial_density": 0.5},
    environment={"damage_rate_per_h": 0.02, "inducer": 0.5},
    cells=paramsets.cells("ht_p21", {"rest_mean_h": 2.0, "senescent_death_per_h": 0.05, "gero_rate_per_h": 0.1}),
)


def with_some_senescent_and_arrested(sim: Simulation) -> Simulation:
    """Every 4th cell senescent, every 5th arrested near its geroconversion threshold: so that
    clearance, senescent death and conversion happen within the steps compared."""
    s = sim.state
    live = np.flatnonzero(s.phase != L.EMPTY)
    s.phase[live[::4]] = L.SENESCENT
    arrested = live[1::5]
    s.phase[arrested] = L.ARRESTED
    s.p21[arrested] = 0.95
    s.gero[arrested] = 0.9 * s.gero_threshold[arrested]
    sim.n_cells, sim.n_senescent = sim._count_live()
    return sim


@pytest.mark.parametrize("serial_field", [True, False])
@pytest.mark.parametrize("case", ["lively", "tiny"])
def test_regrow_steps_as_the_simulation_and_the_reference(case, serial_field):
    params, steps = (lively_dish(), 60) if case == "lively" else (TINY, 40)
    sim = with_some_senescent_and_arrested(Simulation(params, seed=7, record=False))
    kernel = KernelRun(params, 7, sim.state, steps, serial_field)
    reference = ReferenceSimulation(params, 7, sim.state)
    for step in range(steps):
        sim.step()
        kernel.step()
        reference.step()
        for name in CELL_FIELDS:
            np.testing.assert_array_equal(
                getattr(kernel.state, name), getattr(sim.state, name), err_msg=f"step {step}: {name}"
            )
        assert (kernel.n_cells, kernel.n_senescent, kernel.state.next_uid) == (
            sim.n_cells,
            sim.n_senescent,
            sim.state.next_uid,
        )
        np.testing.assert_array_equal(kernel.events, sim.events)
        problem = mismatch(snapshot(kernel), reference)
        assert problem is None, f"step {step}: {problem}"
    fates = (L.E_DIVISIONS, L.E_ARRESTS, L.E_RESUMES, L.E_CONVERSIONS, L.E_DEATHS, L.E_CLEARANCES)
    for fate in fates if case == "lively" else (L.E_DIVISIONS, L.E_ARRESTS, L.E_DEATHS):
        assert sim.events[fate] > 0, (case, L.EVENT_NAMES[fate], sim.events)
    assert np.count_nonzero(sim.state.sasp) > 0


def test_regrow_in_one_call_without_shortcuts_ends_as_the_simulation():
    params = lively_dish()
    sim = with_some_senescent_and_arrested(Simulation(params, seed=2, record=False))
    state = sim.state.copy()
    for _ in range(50):
        sim.step()
    k, drive, inducer, damage_p, row_set, s6k, e4bp, clearance, diffusion = kernel_inputs(params, 50, state.rows)
    events = np.zeros(L.N_EVENTS, np.int64)
    out = K.regrow(
        state.width,
        state.rows,
        state.cell_arrays(),
        k,
        drive,
        inducer,
        damage_p,
        row_set,
        s6k,
        e4bp,
        clearance,
        diffusion,
        2,
        0,
        50,
        state.next_uid,
        MAX_UID,
        events,
        1,
        2,
        False,
        False,
        True,
        np.zeros(state.capacity, np.float32),
    )
    assert (int(out[0]), int(out[1]), int(out[2]), int(out[3])) == (
        sim.state.next_uid,
        sim.n_cells,
        sim.n_senescent,
        50,
    )
    np.testing.assert_array_equal(events, sim.events)
    for name in CELL_FIELDS:
        np.testing.assert_array_equal(getattr(state, name), getattr(sim.state, name), err_msg=name)


@pytest.mark.parametrize("geometry", [L.DISH, L.EPIDERMIS])
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (2, 2), (3, 7), (64, 33), (216, 216)])
def test_diffuse_into_gives_the_values_of_the_parallel_kernel(geometry, shape):
    width, rows = shape
    rng = np.random.default_rng(width * 1000 + rows)
    field = (rng.random(width * rows) ** 3 * 0.1).astype(np.float32)
    field[rng.random(field.size) < 0.3] = 0.0
    expected = field.copy()
    got = np.empty_like(field)
    for coef, keep in ((0.2, 0.9048374180359595), (0.175, 0.99), (0.0, 0.5)):
        diffuse(geometry, width, width, rows, expected, coef, keep)
        K.diffuse_into(geometry, width, rows, field, got, coef, keep)
        np.testing.assert_array_equal(got, expected)
        field[:] = got


@pytest.mark.parametrize("counts", [(0, 0), (10, 0), (10, 3), (7, 7), (12345, 678)])
def test_clearance_probability_is_the_engines(counts):
    from geroconvert.core.inputs import step_inputs

    params = lively_dish().with_changes(cells={"clearance_beta_per_h": 0.37})
    c = params.cells
    expected = step_inputs(params, params.environment, 0.0, counts[0], counts[1], 10, 0).clear_p
    got = K.clearance_probability(c.clearance_beta_per_h, c.clearance_kappa, c.clearance_burden_ref, 1.0, *counts)
    assert got == expected


@pytest.mark.parametrize("dosed", [False, True])
def test_regrowth_inputs_are_the_engines_at_every_step(dosed):
    params = lively_dish()
    if not dosed:
        params = params.with_changes(dosing={"topical_uM": 0.0})
    sim = Simulation(params, seed=1, record=False)
    drive, inducer, damage_p, row_set, s6k_sets, e4bp_sets = assays.regrowth_inputs(params, 30, sim.state.rows)
    for step in range(30):
        sim.step_index = step
        p, s6k, e4bp, damage = sim.step_inputs()
        assert (p[L.P_DRIVE], p[L.P_INDUCER], p[L.P_DAMAGE_P]) == (drive, inducer, damage_p[step])
        np.testing.assert_array_equal(s6k_sets[row_set[step]], s6k)
        np.testing.assert_array_equal(e4bp_sets[row_set[step]], e4bp)
        assert (damage == damage_p[step]).all()  # a dish has no UV: every row the step's value
    assert (len(s6k_sets) > 1) == dosed


# ---- the rest of the contract ------------------------------------------------------------------
def test_the_uid_limit_is_the_engines():
    assert assays.MAX_UID == MAX_UID


def test_running_out_of_uids_fails_as_the_engine_does():
    sim = grown(dish(10.0))
    sim.state.next_uid = MAX_UID - 1000
    messages = []
    for way in (assays.rpp_assay, assays._rpp_assay_by_simulation):
        with pytest.raises(RuntimeError, match="cell ids") as caught:
            way(sim, 10.0)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_a_plate_too_large_fails_before_it_is_made(monkeypatch):
    """5,625 cells on tiles of 100 x 100 sites: a plate of 56 million sites, more than a run
    may have.  The parameters are refused (as before), now before 2.9 GB of plate is made."""
    sim = grown(dish(1.0, max_cells=50_000, tile_sites=100).with_changes(simulation={"width": 150, "height": 150}))
    assert sim.n_cells > 4900
    made = []
    monkeypatch.setattr(assays.CellState, "empty", classmethod(lambda cls, w, r: made.append(w * r)))
    with pytest.raises(ValueError, match="sites"):
        assays.rpp_assay(sim, 1.0)
    assert made == []


def test_assays_in_threads_count_as_one_at_a_time():
    """Each thread regrows on its own plate (Dask may run runs in threads of one process)."""
    sims = [grown(dish(hours), seed=seed) for hours, seed in ((40.0, 1), (70.0, 2), (90.0, 3))]
    alone = [assays.rpp_assay(sim, sim.params.simulation.hours) for sim in sims]
    together: dict[int, list] = {}

    def work(j):
        together[j] = [assays.rpp_assay(sims[j], sims[j].params.simulation.hours) for _ in range(3)]

    threads = [threading.Thread(target=work, args=(j,)) for j in range(len(sims))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for j, rows in together.items():
        assert rows == [alone[j]] * 3


def test_the_assay_leaves_the_thread_count_and_the_cells_alone():
    sim = grown(dish(50.0))
    before = {name: getattr(sim.state, name).copy() for name in CELL_FIELDS}
    threads = numba.get_num_threads()
    assays.rpp_assay(sim, 50.0)
    assert numba.get_num_threads() == threads
    for name, values in before.items():
        np.testing.assert_array_equal(getattr(sim.state, name), values, err_msg=name)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs a machine with 2 or more numba threads")
def test_a_large_plate_regrows_on_every_thread_to_the_same_count(monkeypatch):
    """Plates from REGROWTH_ONE_THREAD_BELOW_SITES on use every thread and ``field.diffuse``."""
    monkeypatch.setattr(assays, "REGROWTH_ONE_THREAD_BELOW_SITES", 0)
    seen = []
    real = assays.regrow

    def spy(*args):
        seen.append((numba.get_num_threads(), args[-2]))  # (threads, serial_field)
        return real(*args)

    monkeypatch.setattr(assays, "regrow", spy)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for name in ("ht_p21_72h", "paracrine"):
        params = SCENARIOS[name]()
        assert_same(grown(params), params.simulation.hours)
    assert seen and all(threads == numba.config.NUMBA_NUM_THREADS and not serial for threads, serial in seen), seen
