"""The numba kernels against the plain-Python reference (geroconvert.oracle.reference).

Each scenario runs ``Simulation`` (numba) and ``ReferenceSimulation`` side by side from
the same initial lattice and seed, and requires at every step:

* the same occupancy and, on every occupied site, the same ``kind``, ``uid``,
  ``divisions_left`` and ``clone``; ``pending`` is empty everywhere after the pass;
* float arrays close (rtol 1e-5, atol 1e-6).  In practice they are bit-identical: the
  reference does the float64 arithmetic in the kernels' order and stores to float32
  where they store, and numba and CPython call the same libm for exp/log/cos.  The
  tolerance is only there so that a libm with a different last bit would not fail
  the test while every discrete decision still agrees;
* the same event counters and the same live / senescent counts.

The scenarios are tuned so that every fate happens in a few dozen steps, and each test
asserts that it did, fates and rule branches both (otherwise agreement would prove
little).  The last test alters one rule of the reference at a time (most of them live in
geroconvert.oracle.rules) and checks the comparison notices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest

from geroconvert.core import layout as L
from geroconvert.core.engine import Simulation
from geroconvert.core.inputs import step_inputs
from geroconvert.oracle import reference as R
from geroconvert.oracle import rules
from geroconvert.oracle.reference import ReferenceSimulation
from geroconvert.parameters import paramsets
from geroconvert.parameters.models import Params, ScheduleEvent

DISCRETE = ("kind", "uid", "divisions_left", "clone")
FLOATS = ("mass", "cycle", "p21", "p16", "gero", "gero_threshold", "age_h", "arrest_h")
RTOL, ATOL = 1e-5, 1e-6


# ---- scenarios ----------------------------------------------------------------------------
def dish_params() -> Params:
    """HT-p21 on a 10x10 torus: inducer on at 15 h, rapamycin at 40 h, inducer off at 55 h."""
    cells = paramsets.cells(
        "ht_p21",
        {
            "senescent_death_per_h": 0.03,  # removals happen within the run
            "clearance_beta_per_h": 0.01,  # and clearance, though there are no immune cells in a dish
            "death_per_h": 0.002,
            "gero_rate_per_h": 0.06,  # conversions before the inducer goes off
            "damage_per_division": 0.2,
            "sasp_secretion_per_h": 0.2,
            "rest_mean_h": 3.0,  # exercises the G0 rest draw
            "contact_inhibition_max": 0.75,
        },
    )
    return Params(
        simulation={"geometry": "dish", "width": 10, "height": 10, "dt_h": 1.0, "initial_density": 0.6},
        environment={"damage_rate_per_h": 0.01},
        cells=cells,
        schedule=(
            ScheduleEvent(time_h=15.0, set={"inducer": 1.0}),
            ScheduleEvent(time_h=40.0, set={"rapamycin_nM": 2.0}),
            ScheduleEvent(time_h=55.0, set={"inducer": 0.0}),
        ),
    )


def epidermis_params() -> Params:
    """Epidermis 16 columns x (2 dermis + basal + 4 suprabasal) rows, every fate sped up."""
    cells = paramsets.cells(
        "human_epidermis",
        {
            "cycle_h": 8.0,
            "rest_mean_h": 4.0,
            "stem_fraction": 0.5,
            "stem_symmetric_loss": 0.2,
            "stem_renew_into_gap": 0.9,
            "progenitor_divisions_min": 0,
            "progenitor_divisions_max": 2,
            "transit_h": 40.0,  # shedding at the top by transit time
            "fibroblast_cycle_h": 15.0,  # dermal divisions
            "clearance_beta_per_h": 0.05,
            "senescent_death_per_h": 0.01,
            "death_per_h": 0.02,  # gaps in the basal row, where a stem daughter may stay a stem
            "gero_rate_per_h": 0.08,
            "hypertrophy_rate_per_h": 0.05,
            "damage_p16_jump": 0.3,
            "damage_per_division": 0.05,
            "contact_inhibition_max": 0.5,  # exercises the epidermal neighbour count
            "stem_mtor_factor": 0.5,  # stem cells signal differently from progenitors
            # pinned, so that re-tuning the skin set does not quietly remove a fate from the run
            "clearance_burden_ref": 0.1,
            "p16_rise_arrested_per_h": 0.001,
            "damage_p21_jump": 0.8,
        },
    )
    # height 5 with 4 suprabasal rows filled: columns start full, so a push sheds the top cell
    return Params(
        simulation={
            "geometry": "epidermis",
            "width": 16,
            "height": 5,
            "dermis_rows": 2,
            "dt_h": 0.5,
            "initial_density": 0.8,
            "initial_thickness_rows": 4,
        },
        environment={"damage_rate_per_h": 0.03},
        cells=cells,
    )


def melanocyte_params(width: int = 48) -> Params:
    """The epidermis scenario, 48 columns wide, with melanocytes that divide within the run
    and damaged progenitors that leave by differentiating (the two rules of skin tissue v2)."""
    base = epidermis_params()
    # damage arrests for long (p16 above its threshold), so that arrested progenitors leave
    cells = base.cells.model_copy(
        update={
            "melanocyte_fraction": 0.3,
            "melanocyte_reach_sites": 3,  # 7 sites: two other melanocytes there stop a division
            "melanocyte_cycle_h": 10.0,
            "damaged_exit_per_h": 0.15,
            "damage_p16_jump": 0.6,
            "stem_fraction": 0.2,
            "melanocyte_removal_factor": 0.5,
        }
    )
    simulation = base.simulation.model_copy(update={"width": width})
    return base.model_copy(update={"cells": cells, "simulation": simulation})


def stem_niche_params() -> Params:
    """The epidermis scenario, 24 columns wide, with stem cells that commit often and a niche
    that refills them (basal dynamics of skin tissue v2): divisions that give two stem cells
    into free basal sites and into progenitors' sites, and niches full of stem cells."""
    base = epidermis_params()
    cells = base.cells.model_copy(
        update={
            "stem_fraction": 0.6,
            "stem_niche_reach_sites": 2,  # 5 sites: three stem cells there fill the niche
            "stem_renew_into_gap": 0.0,  # only the niche makes stem cells
            "stem_symmetric_loss": 0.3,
            "stem_mtor_factor": 1.0,  # stem cells divide as often as progenitors
            "contact_inhibition_max": 0.0,
        }
    )
    simulation = base.simulation.model_copy(update={"width": 24})
    return base.model_copy(update={"cells": cells, "simulation": simulation})


def stem_niche_exit_params() -> Params:
    """The stem niche scenario with the differentiation exit: with a niche to refill them,
    arrested stem cells leave the basal row too."""
    base = stem_niche_params()
    return base.model_copy(update={"cells": base.cells.model_copy(update={"damaged_exit_per_h": 0.1})})


def sheet_params(width: int = 6, depth: int = 5) -> Params:
    """The stem niche scenario on a 2-D basal sheet (width x depth basal sites under stacked
    layers: six neighbours, a square niche), with melanocytes and contact inhibition, so that
    every rule that looks at a neighbour looks in front and behind too."""
    base = stem_niche_params()
    cells = base.cells.model_copy(
        update={
            "stem_niche_reach_sites": 1,  # a 3 x 3 square of the sheet
            "melanocyte_fraction": 0.25,  # seeded at a quarter of basal sites; 3 of 9 stop a division
            "melanocyte_reach_sites": 1,
            "melanocyte_cycle_h": 10.0,
            "contact_inhibition_max": 0.2,
            "sasp_diffusion_per_h": 0.4,  # two sub-steps of the six-neighbour stencil (limit 0.133)
        }
    )
    simulation = base.simulation.model_copy(update={"width": width, "depth": depth})
    return base.model_copy(update={"cells": cells, "simulation": simulation})


def sunlit_params() -> Params:
    """The epidermis scenario in the sun: a 2-hour window from 03:15 each day, so steps of
    0.5 h begin and end inside it, and a dose that does a damage hit somewhere most steps;
    the hits fall with depth into the dermis."""
    base = epidermis_params()
    uv = {"sed_per_day": 4.0, "exposure_start_h": 3.25, "exposure_hours": 2.0, "damage_per_sed": 0.1}
    return base.with_changes(uv=uv)


def tiny_torus_params() -> Params:
    """A 3x2 torus (left/right distinct, up == down: a site listed twice) and dt = 0.7 h."""
    cells = paramsets.cells(
        "ht_p21",
        {"rest_mean_h": 2.0, "senescent_death_per_h": 0.05, "gero_rate_per_h": 0.1, "contact_inhibition_max": 0.5},
    )
    return Params(
        simulation={"geometry": "dish", "width": 3, "height": 2, "dt_h": 0.7, "initial_density": 0.4},
        environment={"damage_rate_per_h": 0.02},
        cells=cells,
        schedule=(ScheduleEvent(time_h=10.0, set={"inducer": 1.0}),),
    )


@dataclass
class Scenario:
    params: Params
    seed: int
    steps: int


SCENARIOS = {
    "dish": Scenario(dish_params(), seed=7, steps=100),
    "epidermis": Scenario(epidermis_params(), seed=4, steps=120),
    "tiny_torus": Scenario(tiny_torus_params(), seed=11, steps=60),
    "sunlit": Scenario(sunlit_params(), seed=4, steps=120),
    # 300 steps: long enough that a progenitor with an action pending sits beside a dividing melanocyte
    "melanocytes": Scenario(melanocyte_params(), seed=6, steps=300),
    # 5 columns: the melanocytes' reach is clamped to 2 sites either side, each site counted once
    "narrow_melanocytes": Scenario(melanocyte_params(width=5), seed=3, steps=200),
    "stem_niche": Scenario(stem_niche_params(), seed=1, steps=200),
    "stem_niche_exit": Scenario(stem_niche_exit_params(), seed=1, steps=200),
    "sheet": Scenario(sheet_params(), seed=2, steps=300),
    # two sites deep: the site in front is the one behind (listed once), and a 5-wide row clamps the reach
    "thin_sheet": Scenario(sheet_params(width=5, depth=2), seed=5, steps=150),
}

# the rule branches (``branches`` counters, counted in geroconvert.oracle.rules) each
# scenario must take at least once; the Mesa-agent tests require the same
BRANCHES = {
    "dish": ("contact_inhibited", "contact_crowded", "damage_event", "replication_damage", "g0_rest"),
    "epidermis": (
        "push",
        "push_shed_top",
        "stem_renewal",
        "stem_symmetric_loss",
        "contact_inhibited",
        "contact_crowded",
        "damage_event",
        "g0_rest",
        "g0_woken_by_gap",
        "exhausted_waiting",
        "delamination_by_crowding",
        "replication_damage",
        f"division_kind_{L.STEM}",
        f"division_kind_{L.PROGENITOR}",
        f"division_kind_{L.FIBROBLAST}",
    ),
    "tiny_torus": ("contact_crowded", "damage_event", "g0_rest", f"division_kind_{L.LINE}"),
    "sunlit": ("damage_event", "sunlit_damage_event", f"division_kind_{L.FIBROBLAST}"),
    "narrow_melanocytes": ("melanocyte_at_density", f"division_kind_{L.MELANOCYTE}"),
    "stem_niche": (
        "stem_niche_open",
        "stem_refills_niche",
        "stem_displaces_progenitor",
        "stem_symmetric_loss",
        "delamination_by_crowding",
        f"division_kind_{L.STEM}",
    ),
    "stem_niche_exit": ("damage_exit_stem", "stem_refills_niche", "stem_symmetric_loss"),
    "sheet": (
        "push",
        "push_shed_top",
        "stem_niche_open",
        "stem_refills_niche",
        "stem_displaces_progenitor",
        "delamination_by_crowding",
        "melanocyte_at_density",
        "contact_crowded",
        "g0_woken_by_gap",
        f"division_kind_{L.STEM}",
        f"division_kind_{L.PROGENITOR}",
        f"division_kind_{L.MELANOCYTE}",
        f"division_kind_{L.FIBROBLAST}",
    ),
    "thin_sheet": ("push", "stem_refills_niche", "delamination_by_crowding", f"division_kind_{L.STEM}"),
    "melanocytes": (
        "damage_exit",
        "melanocyte_at_density",
        "melanocyte_displaces_progenitor",
        "push",
        "damage_event",
        f"division_kind_{L.MELANOCYTE}",
        f"division_kind_{L.STEM}",
        f"division_kind_{L.PROGENITOR}",
    ),
}


def untaken_branches(name: str, branches) -> list[str]:
    """The branches scenario ``name`` must take that a run's counters say it never took."""
    return [branch for branch in BRANCHES[name] if branches[branch] <= 0]


# ---- running and comparing ----------------------------------------------------------------
def snapshot(sim) -> dict:
    s = sim.state
    out = {name: getattr(s, name).copy() for name in ("phase", "pending", "sasp", *DISCRETE, *FLOATS)}
    out.update(events=sim.events.copy(), n_cells=sim.n_cells, n_senescent=sim.n_senescent, next_uid=s.next_uid)
    return out


@pytest.fixture(scope="module")
def numba_runs():
    """Per scenario: the initial lattice and the numba lattice after every step."""
    runs = {}
    for name, sc in SCENARIOS.items():
        sim = Simulation(sc.params, seed=sc.seed, record=False)
        initial = sim.state.copy()
        history = []
        for _ in range(sc.steps):
            sim.step()
            history.append(snapshot(sim))
        runs[name] = (initial, history)
    return runs


def mismatch(expected: dict, ref: ReferenceSimulation) -> str | None:
    """The first difference between a numba snapshot and the reference, or None."""
    got = snapshot(ref)
    if not np.array_equal(expected["phase"], got["phase"]):
        sites = np.flatnonzero(expected["phase"] != got["phase"])
        return f"phase differs at sites {sites.tolist()}"
    if np.any(got["pending"] != L.NONE) or np.any(expected["pending"] != L.NONE):
        return "pending actions left after the ordered pass"
    live = expected["phase"] != L.EMPTY
    for name in DISCRETE:
        if not np.array_equal(expected[name][live], got[name][live]):
            return f"{name} differs at sites {np.flatnonzero(live & (expected[name] != got[name])).tolist()}"
    for name in FLOATS:
        a, b = expected[name][live].astype(np.float64), got[name][live].astype(np.float64)
        if not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            return f"{name} differs: max |diff| {np.max(np.abs(a - b)):.3g}"
    if not np.allclose(expected["sasp"], got["sasp"], rtol=RTOL, atol=ATOL):
        return f"sasp field differs: max |diff| {np.max(np.abs(expected['sasp'] - got['sasp'])):.3g}"
    if not np.array_equal(expected["events"], got["events"]):
        return f"events differ: numba {expected['events'].tolist()} reference {got['events'].tolist()}"
    for key in ("n_cells", "n_senescent", "next_uid"):
        if expected[key] != got[key]:
            return f"{key}: numba {expected[key]} reference {got[key]}"
    return None


def run_reference(name: str, runs, ref_setup=None):
    """Step the reference along the numba history; returns (reference, first mismatch or None, max diff)."""
    sc = SCENARIOS[name]
    initial, history = runs[name]
    ref = ReferenceSimulation(sc.params, sc.seed, initial)
    if ref_setup is not None:
        ref_setup(ref)
    max_diff = 0.0
    for step, expected in enumerate(history):
        ref.step()
        problem = mismatch(expected, ref)
        if problem is not None:
            return ref, f"step {step}: {problem}", max_diff
        live = expected["phase"] != L.EMPTY
        for f in FLOATS:
            diff = np.abs(expected[f][live].astype(np.float64) - getattr(ref.state, f)[live])
            max_diff = max(max_diff, float(diff.max(initial=0.0)))
    return ref, None, max_diff


def events(ref) -> dict:
    return {n: int(ref.events[i]) for i, n in enumerate(L.EVENT_NAMES)}


# ---- the comparisons --------------------------------------------------------------------------
def test_reference_does_not_share_the_initial_state(numba_runs):
    initial, _ = numba_runs["dish"]
    before = initial.phase.copy()
    ref = ReferenceSimulation(SCENARIOS["dish"].params, SCENARIOS["dish"].seed, initial)
    for _ in range(5):
        ref.step()
    assert np.array_equal(initial.phase, before)


def test_dish_matches_reference(numba_runs):
    ref, problem, max_diff = run_reference("dish", numba_runs)
    assert problem is None, problem
    ev = events(ref)
    for fate in ("divisions", "arrests", "resumes", "conversions", "clearances", "deaths"):
        assert ev[fate] > 0, f"the dish run never exercised {fate}: {ev}"
    missing = untaken_branches("dish", ref.branches)
    assert not missing, f"the dish run never took {missing}: {ref.branches}"
    assert ref.events[L.E_SENESCENT_LOST] > 0
    print(f"dish: events {ev}, max float difference {max_diff:.3g}")


def test_epidermis_matches_reference(numba_runs):
    ref, problem, max_diff = run_reference("epidermis", numba_runs)
    assert problem is None, problem
    ev = events(ref)
    for fate in ("divisions", "arrests", "resumes", "conversions", "shed", "differentiations"):
        assert ev[fate] > 0, f"the epidermis run never exercised {fate}: {ev}"
    assert ev["clearances"] + ev["deaths"] > 0, ev
    missing = untaken_branches("epidermis", ref.branches)
    assert not missing, f"the epidermis run never took {missing}: {ref.branches}"
    print(f"epidermis: events {ev}, max float difference {max_diff:.3g}")


def test_sunlit_epidermis_matches_reference(numba_runs):
    """UV adds damage by depth: every row's own probability, in the kernels as in the rules."""
    ref, problem, _ = run_reference("sunlit", numba_runs)
    assert problem is None, problem
    missing = untaken_branches("sunlit", ref.branches)
    assert not missing, f"the sunlit run never took {missing}: {ref.branches}"
    # inside the window every row has its own probability, the deepest the lowest; outside
    # it every row has the age-related one
    params = SCENARIOS["sunlit"].params
    for time_h, lit in ((3.0, True), (4.0, True), (5.25, False), (27.5, True), (12.0, False)):
        numbers = step_inputs(params, params.environment, time_h, 1, 0, ref.rows, ref.basal_row)
        if lit:
            assert np.all(np.diff(numbers.damage_p_row) > 0), time_h
        else:
            assert np.all(numbers.damage_p_row == numbers.damage_p), time_h


def test_tiny_torus_matches_reference(numba_runs):
    ref, problem, _ = run_reference("tiny_torus", numba_runs)
    assert problem is None, problem
    assert ref.events[L.E_DIVISIONS] > 0 and ref.events[L.E_ARRESTS] > 0
    missing = untaken_branches("tiny_torus", ref.branches)
    assert not missing, f"the tiny torus run never took {missing}: {ref.branches}"


def test_melanocytes_and_the_damage_exit_match_reference(numba_runs):
    initial, _ = numba_runs["melanocytes"]
    assert np.count_nonzero((initial.kind == L.MELANOCYTE) & (initial.phase != L.EMPTY)) > 0
    ref, problem, _ = run_reference("melanocytes", numba_runs)
    assert problem is None, problem
    ev = events(ref)
    assert ev["damage_exits"] > 0 and ev["differentiations"] >= ev["damage_exits"], ev
    missing = untaken_branches("melanocytes", ref.branches)
    assert not missing, f"the melanocyte run never took {missing}: {ref.branches}"
    melanocytes = (ref.state.kind == L.MELANOCYTE) & (ref.state.phase != L.EMPTY)
    rows = np.flatnonzero(melanocytes) // ref.state.width
    assert np.all(rows == ref.basal_row), "a melanocyte left the basal row"
    # a progenitor pushed out by a melanocyte never carries an action up with it
    assert ref.branches[f"division_kind_{L.DIFFERENTIATED}"] == 0, ref.branches


def test_narrow_melanocytes_match_reference(numba_runs):
    ref, problem, _ = run_reference("narrow_melanocytes", numba_runs)
    assert problem is None, problem
    missing = untaken_branches("narrow_melanocytes", ref.branches)
    assert not missing, f"the narrow melanocyte run never took {missing}: {ref.branches}"


def test_the_stem_niche_matches_reference(numba_runs):
    ref, problem, _ = run_reference("stem_niche", numba_runs)
    assert problem is None, problem
    missing = untaken_branches("stem_niche", ref.branches)
    assert not missing, f"the stem niche run never took {missing}: {ref.branches}"
    # the niche refills what commitment takes: the same run without a niche ends with fewer
    sc = SCENARIOS["stem_niche"]
    cells = sc.params.cells.model_copy(update={"stem_niche_reach_sites": 0})
    without = Simulation(sc.params.model_copy(update={"cells": cells}), seed=sc.seed, record=False)
    for _ in range(sc.steps):
        without.step()

    def stems(state) -> int:
        return int(np.count_nonzero((state.kind == L.STEM) & (state.phase != L.EMPTY)))

    assert stems(ref.state) > stems(without.state), (stems(ref.state), stems(without.state))


@pytest.mark.parametrize("name", ["sheet", "thin_sheet"])
def test_a_basal_sheet_matches_reference(numba_runs, name):
    initial, _ = numba_runs[name]
    assert initial.depth > 1 and initial.capacity == initial.width * initial.depth * initial.rows
    ref, problem, _ = run_reference(name, numba_runs)
    assert problem is None, problem
    missing = untaken_branches(name, ref.branches)
    assert not missing, f"the {name} run never took {missing}: {ref.branches}"
    assert ref.events[L.E_SHED] > 0 and ref.events[L.E_DIFFERENTIATIONS] > 0


def test_stem_cells_with_a_niche_take_the_exit_as_the_reference_does(numba_runs):
    ref, problem, _ = run_reference("stem_niche_exit", numba_runs)
    assert problem is None, problem
    missing = untaken_branches("stem_niche_exit", ref.branches)
    assert not missing, f"the stem niche exit run never took {missing}: {ref.branches}"


# ---- the comparison can fail ------------------------------------------------------------------
def _reverse_free_neighbour(world, cell, draw, row_lo=0, row_hi=None):
    s = world.state
    sites = R.neighbour_sites(cell.site, s.plane, s.width, s.rows, world.geometry, row_lo, row_hi)
    free = [j for j in sites if s.phase[j] == L.EMPTY]
    return free[-1 - int(draw * len(free))] if free else None


def _shed_one_step_late(cell, world):
    cell.arrest_h = rules.f32(cell.arrest_h + world.dt)
    return L.SHED if cell.arrest_h >= world.cells.transit_h + world.dt else L.NONE


def _faster_p21(ref):
    ref.p21_relax *= 1.001


def _progenitors_never_spend(cell, world, direction):
    before, kind = cell.divisions_left, cell.kind
    result = ORIGINAL_BASAL_DIVISION(cell, world, direction)
    if kind == L.PROGENITOR:
        cell.divisions_left = before
    return result


ORIGINAL_BASAL_DIVISION = rules.basal_division


ORIGINAL_ARRESTED_FATE = rules.arrested_fate
ORIGINAL_MELANOCYTE_SITE = rules.melanocyte_division_site
ORIGINAL_AT_DENSITY = rules.at_density


def _niche_counts_live_stem_cells_only(cell, world, of_kind, reach_sites, fraction):
    """A niche that does not count its senescent stem cells (they would be replaced)."""
    if of_kind != L.STEM:
        return ORIGINAL_AT_DENSITY(cell, world, of_kind, reach_sites, fraction)
    others, n_sites = world.layer_window(cell, reach_sites)
    count = 1 + sum(other.kind == L.STEM and other.phase != L.SENESCENT for other in others)
    return count >= fraction * n_sites


def _niche_one_site_wider(cell, world, of_kind, reach_sites, fraction):
    return ORIGINAL_AT_DENSITY(cell, world, of_kind, reach_sites + (of_kind == L.STEM), fraction)


def _exit_before_death(cell, world, inputs, blocked, event_draw, gero_drive, growth_drive):
    """The exit's slice moved in front of background death's."""
    return ORIGINAL_ARRESTED_FATE(cell, world, inputs, blocked, event_draw + world.death_p, gero_drive, growth_drive)


def _other_progenitor(cell, world, direction):
    """A melanocyte that displaces the other progenitor of two."""
    return ORIGINAL_MELANOCYTE_SITE(cell, world, 1.0 - direction if direction != 0.5 else direction)


ORIGINAL_LATERAL = R.lateral_sites
ORIGINAL_WINDOW = R.window_sites


def _window_along_the_row(i, plane, width, reach):
    """The niche's square reduced to the stretch of the cell's own sheet row."""
    sites, _ = ORIGINAL_WINDOW(i, plane, width, reach)
    row_start = i - i % width
    along = [j for j in sites if row_start <= j < row_start + width]
    return along, len(along) + 1


def _exit_twice_as_often(ref):
    ref.damaged_exit_p *= 2.0


def _melanocytes_removed_like_others(ref):
    ref.cells = ref.cells.model_copy(update={"melanocyte_removal_factor": 1.0})


def _uv_the_same_at_every_depth(ref):
    """The reference sees the basal layer's sunlight in every row."""
    original = ref.environment_inputs

    def inputs():
        numbers = original()
        flat = np.full_like(numbers.damage_p_row, numbers.damage_p_row[ref.basal_row])
        return dataclasses.replace(numbers, damage_p_row=flat)

    ref.environment_inputs = inputs


MUTATIONS = {
    "uv_the_same_at_every_depth": ("sunlit", lambda mp: None, _uv_the_same_at_every_depth),
    "uv_ignored": ("sunlit", lambda mp: mp.setattr(rules, "row_damage_p", lambda cell, inputs: inputs.damage_p), None),
    "reversed_neighbour_choice": (
        "dish",
        lambda mp: mp.setattr(R.ReferenceSimulation, "free_neighbour", _reverse_free_neighbour),
        None,
    ),
    "p21_relaxes_0.1%_faster": ("dish", lambda mp: None, _faster_p21),
    "shedding_one_step_late": (
        "epidermis",
        lambda mp: mp.setattr(rules, "differentiated_fate", _shed_one_step_late),
        None,
    ),
    "progenitors_never_spend_divisions": (
        "epidermis",
        lambda mp: mp.setattr(rules, "basal_division", _progenitors_never_spend),
        None,
    ),
    "events_drawn_from_another_stream": ("tiny_torus", lambda mp: mp.setattr(rules, "S_EVENTS", L.S_FATE), None),
    "damage_exit_twice_as_often": ("melanocytes", lambda mp: None, _exit_twice_as_often),
    "damage_exit_before_death": (
        "melanocytes",
        lambda mp: mp.setattr(rules, "arrested_fate", _exit_before_death),
        None,
    ),
    "melanocyte_displaces_the_other_progenitor": (
        "melanocytes",
        lambda mp: mp.setattr(rules, "melanocyte_division_site", _other_progenitor),
        None,
    ),
    "senescent_melanocytes_removed_like_others": ("melanocytes", lambda mp: None, _melanocytes_removed_like_others),
    "stem_cells_and_melanocytes_leave_when_damaged_too": (
        "melanocytes",
        lambda mp: mp.setattr(rules, "leaves_when_damaged", lambda cell, world: cell.kind != L.DIFFERENTIATED),
        None,
    ),
    "melanocytes_ignore_their_density": (
        "melanocytes",
        lambda mp: mp.setattr(rules, "melanocytes_at_density", lambda cell, world: False),
        None,
    ),
    "stem_cells_never_leave_even_with_a_niche": (
        "stem_niche_exit",
        lambda mp: mp.setattr(rules, "leaves_when_damaged", lambda cell, world: cell.kind == L.PROGENITOR),
        None,
    ),
    "stem_niche_never_refills": (
        "stem_niche",
        lambda mp: mp.setattr(rules, "stem_niche_open", lambda cell, world: False),
        None,
    ),
    "stem_niche_ignores_senescent_stem_cells": (
        "stem_niche",
        lambda mp: mp.setattr(rules, "at_density", _niche_counts_live_stem_cells_only),
        None,
    ),
    "stem_niche_one_site_wider": (
        "stem_niche",
        lambda mp: mp.setattr(rules, "at_density", _niche_one_site_wider),
        None,
    ),
    "a_sheet_seen_as_rows": (  # every neighbour rule forgets the sites in front and behind
        "sheet",
        lambda mp: mp.setattr(R, "lateral_sites", lambda i, plane, width: ORIGINAL_LATERAL(i, plane, width)[:2]),
        None,
    ),
    "a_sheet_niche_counted_along_its_row": (
        "sheet",
        lambda mp: mp.setattr(R, "window_sites", _window_along_the_row),
        None,
    ),
    "melanocytes_cycle_like_keratinocytes": (
        "melanocytes",
        lambda mp: mp.setattr(rules, "MELANOCYTE", -1),
        None,
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_an_altered_rule_is_detected(numba_runs, monkeypatch, mutation):
    scenario, patch, setup = MUTATIONS[mutation]
    patch(monkeypatch)
    _, problem, _ = run_reference(scenario, numba_runs, ref_setup=setup)
    assert problem is not None, f"altering the reference ({mutation}) went unnoticed"
    print(f"{mutation}: {problem}")
