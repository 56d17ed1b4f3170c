"""Readouts that are experiments in their own right: the virtual colony-formation assay.

RPP (re-proliferative potential): take the cells at time t, lift the block (inducer
off, drugs washed out, fresh serum), replate them sparsely, let them grow for
``replate_hours`` and count the fraction that form colonies of at least
``colony_min_cells`` cells.  It is a simulation with the same kernels, not a formula.
"""

from __future__ import annotations

import math

import numpy as np

from geroconvert.core import layout as L
from geroconvert.core.kernels.rng import derive_seed, uniforms
from geroconvert.core.state import MOVING_FIELDS, CellState
from geroconvert.parameters.models import Environment


def sample_cells(state: CellState, seed: int, max_cells: int) -> np.ndarray:
    """Sites of up to ``max_cells`` live cells, chosen by a hash of their uid.

    Choosing by uid (not by site) keeps the sample the same cells in two arms that
    share a seed, so paired arms compare like with like.
    """
    sites = np.flatnonzero(state.phase != L.EMPTY)
    if sites.size <= max_cells:
        return sites
    keys = uniforms(seed, L.S_SAMPLE, state.uid[sites], 0)
    order = np.lexsort((state.uid[sites], keys))
    return np.sort(sites[order[:max_cells]])


def replate(state: CellState, sites: np.ndarray, tile: int) -> CellState:
    """A sparse dish with one of the given cells at the centre of each tile.

    The replated cell's clone label becomes its index in ``sites``.
    """
    per_side = max(1, math.ceil(math.sqrt(sites.size)))
    width = per_side * tile
    plate = CellState.empty(width, width)
    j = np.arange(sites.size)
    dest = (j // per_side * tile + tile // 2) * width + (j % per_side) * tile + tile // 2
    for name in MOVING_FIELDS:
        getattr(plate, name)[dest] = getattr(state, name)[sites]
    plate.pending[dest] = L.NONE
    plate.clone[dest] = j
    # basal keratinocytes in culture are a cell line; differentiated cells stay post-mitotic
    kinds = plate.kind[dest]
    plate.kind[dest] = np.where(kinds == L.DIFFERENTIATED, L.DIFFERENTIATED, L.LINE).astype(np.uint8)
    plate.next_uid = state.next_uid
    return plate


def colony_sizes(plate: CellState, n_clones: int) -> np.ndarray:
    live = plate.phase != L.EMPTY
    return np.bincount(plate.clone[live], minlength=n_clones)[:n_clones]


def rpp_assay(sim, time_h: float) -> tuple[float, float, int, int]:
    """Run the assay on ``sim``'s cells now; returns (time_h, rpp, n_replated, n_colonies).

    The replated plate regrows as a simulation of the same class as ``sim`` (so this module
    needs no import of the engine, which calls it).
    """
    assays = sim.params.assays
    sites = sample_cells(sim.state, sim.seed, assays.max_cells)
    if sites.size == 0:
        return (time_h, math.nan, 0, 0)
    plate = replate(sim.state, sites, assays.tile_sites)
    # washout: default culture conditions, but the genotype (mTOR gain) stays
    culture = Environment(mtor_gain=sim.environment.mtor_gain)
    params = sim.params.with_changes(
        simulation={
            "geometry": "dish",
            "width": plate.width,
            "height": plate.rows,
            "dermis_rows": 0,
            "hours": assays.replate_hours,
            "snapshot_every_h": 0.0,
        },
        environment=culture.model_dump(),
        schedule=(),
        assays={"rpp_times_h": ()},
    )
    regrowth = type(sim)(params, seed=derive_seed(sim.seed, int(round(time_h * 1000))), state=plate, record=False)
    regrowth.run()
    sizes = colony_sizes(regrowth.state, sites.size)
    colonies = int(np.count_nonzero(sizes >= assays.colony_min_cells))
    return (time_h, colonies / sites.size, int(sites.size), colonies)
