"""Invariants that hold for every geometry and parameter set, after every step."""

import numpy as np
import pytest

from geroconvert.core import layout as L
from geroconvert.core.engine import Simulation
from geroconvert.core.recorder import series_for
from tests.helpers import epidermis, ht_p21

# every fate switched on: damage, SASP, clearance, death, division, hypertrophy
CASES = {
    # growth first, then the inducer at 30 h: arrest, conversion, clearance
    "ht_p21_dish": lambda: ht_p21(
        environment={"inducer": 0.0, "damage_rate_per_h": 0.01},
        cells={
            "clearance_beta_per_h": 0.02,
            "death_per_h": 0.002,
            "senescent_death_per_h": 0.01,
            "gero_rate_per_h": 0.05,
        },
    ).with_changes(schedule=[{"time_h": 30.0, "set": {"inducer": 1.0}}]),
    "ht_p16_dish": lambda: ht_p21(
        environment={"inducer": 0.5, "damage_rate_per_h": 0.01},
        cells={"inducer_to_p21": 0.0, "inducer_to_p16": 1.0, "death_per_h": 0.002},
    ),
    "dense_dish": lambda: ht_p21(
        simulation={"initial_density": 1.0}, environment={"damage_rate_per_h": 0.01}, cells={"death_per_h": 0.01}
    ),
    "human_epidermis": lambda: epidermis(
        cells={
            "cycle_h": 40.0,
            "rest_mean_h": 30.0,
            "transit_h": 120.0,
            "stem_symmetric_loss": 0.1,
            "gero_rate_per_h": 0.05,
            "clearance_beta_per_h": 0.05,
            "fibroblast_cycle_h": 60.0,
        },
        environment={"damage_rate_per_h": 0.005},
    ),
    # melanocytes in the basal row; damaged keratinocytes arrest for long and leave by differentiating
    "epidermis_melanocytes": lambda: epidermis(
        cells={
            "cycle_h": 40.0,
            "transit_h": 120.0,
            "melanocyte_fraction": 0.1,
            "melanocyte_cycle_h": 60.0,
            "damaged_exit_per_h": 0.05,
            "damage_p16_jump": 0.6,
            "gero_rate_per_h": 0.01,
        },
        environment={"damage_rate_per_h": 0.01},
    ),
}


def check_state(sim: Simulation) -> None:
    s = sim.state
    live = s.phase != L.EMPTY
    assert sim.n_cells == int(live.sum()), "live-cell counter drifted from the lattice"
    assert sim.n_senescent == int((s.phase == L.SENESCENT).sum()), "senescent counter drifted"
    uids = s.uid[live]
    assert np.unique(uids).size == uids.size, "two sites hold the same cell"
    assert uids.size == 0 or uids.max() < s.next_uid
    for name in ("mass", "cycle", "p21", "p16", "gero", "gero_threshold", "age_h", "arrest_h"):
        assert np.isfinite(getattr(s, name)[live]).all(), f"{name} is not finite"
    assert (s.mass[live] > 0).all()
    for name in ("p21", "p16"):
        values = getattr(s, name)[live]
        assert ((values >= 0) & (values <= 1)).all(), f"{name} left [0, 1]"
    assert np.isfinite(s.sasp).all() and (s.sasp >= 0).all()
    assert set(np.unique(s.phase)) <= {L.EMPTY, L.CYCLING, L.ARRESTED, L.SENESCENT}
    assert set(np.unique(s.kind[live])) <= set(range(L.N_KINDS))
    if sim.geometry == L.EPIDERMIS:
        rows = np.arange(s.capacity) // s.width
        kinds = s.kind
        basal = live & (rows == sim.basal_row)
        assert np.isin(kinds[basal], (L.STEM, L.PROGENITOR, L.MELANOCYTE)).all(), "non-basal kind in the basal row"
        assert (kinds[live & (rows > sim.basal_row)] == L.DIFFERENTIATED).all(), "a dividing kind above the basal row"
        assert (kinds[live & (rows < sim.basal_row)] == L.FIBROBLAST).all(), "epidermal cell in the dermis"
        assert (s.phase[live & (kinds == L.DIFFERENTIATED)] != L.CYCLING).all()


@pytest.mark.parametrize("case", sorted(CASES))
def test_invariants_every_step(case):
    sim = Simulation(CASES[case](), seed=11)
    start = sim.n_cells
    check_state(sim)
    for _ in range(150):
        sim.step()
        check_state(sim)
    e = dict(zip(L.EVENT_NAMES, sim.events))
    # start + births - deaths - clearances - shed = end
    assert start + e["births"] - e["deaths"] - e["clearances"] - e["shed"] == sim.n_cells
    assert e["births"] == e["divisions"]
    assert e["divisions"] > 0 and e["arrests"] > 0, "the case must exercise the fates it claims to"


@pytest.mark.parametrize("case", sorted(CASES))
def test_recorded_series_are_sane(case):
    params = CASES[case]().with_changes(simulation={"hours": 200.0, "record_every_h": 10.0})
    results = Simulation(params, seed=5).run()
    ts = results.timeseries
    assert tuple(ts) == series_for(params.simulation.geometry)  # a dish records no skin series, nor zeros
    for name, values in ts.items():
        if name == "melanocyte_share_of_p16_positive":  # NaN by definition while no cell is p16-high
            assert ((values[np.isfinite(values)] >= 0) & (values[np.isfinite(values)] <= 1)).all()
            continue
        if name == "senescent_half_life_h":  # NaN by definition while no senescent cell is lost
            assert (values[np.isfinite(values)] > 0).all()
            continue
        assert np.isfinite(values).all(), name
    for name in (
        "p16_positive_fraction",
        "senescent_fraction",
        "p16_positive_fraction_epidermis",
        "p16_positive_fraction_dermis",
        "p16_positive_fraction_keratinocyte",
        "p16_positive_fraction_melanocyte",
        "basal_in_cycle_fraction",
    ):
        if name in ts:
            assert ((ts[name] >= 0) & (ts[name] <= 1)).all(), name
    # counts per kind x phase add up to the totals: the kinds a geometry leaves out hold no cell
    per_phase = sum(ts[f"n_{k}_{p}"] for k in L.KIND_NAMES for p in L.PHASE_NAMES[1:] if f"n_{k}_{p}" in ts)
    np.testing.assert_array_equal(per_phase, ts["n_cells"])
    assert ts["time_h"][0] == 0.0 and ts["time_h"][-1] == pytest.approx(200.0)
    # events recorded per interval add up to the run's totals
    for name, total in results.events.items():
        assert ts[f"events_{name}"].sum() == total, name


def test_events_cases_cover_every_fate():
    """Across the cases every kind of event happens, so the invariants are not vacuous."""
    seen = np.zeros(L.N_EVENTS, np.int64)
    for make in CASES.values():
        sim = Simulation(make(), seed=2)
        for _ in range(150):
            sim.step()
        seen += sim.events
    missing = [name for name, n in zip(L.EVENT_NAMES, seen) if n == 0]
    assert not missing, f"no {missing} events in any case"
