"""Readouts that are experiments in their own right: the virtual colony-formation assay.

RPP (re-proliferative potential): take the cells at time t, lift the block (inducer
off, drugs washed out, fresh serum), replate them sparsely, let them grow for
``replate_hours`` and count the fraction that form colonies of at least
``colony_min_cells`` cells.  It is a simulation with the same kernels, not a formula.

The replated dish regrows in one kernel call (``kernels.regrowth.regrow``), which takes the
steps a ``Simulation`` of the dish would take and stops once the count is certain; the
counts are bit-identical to regrowing it as a ``Simulation``, the way before, which
:func:`_rpp_assay_by_simulation` keeps as the reference (tests/core/test_rpp_assay.py,
benchmarks/rpp_assay.py: 5-10x faster on configs/ht_p21.toml).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from geroconvert import interrupts
from geroconvert.core import layout as L
from geroconvert.core.inputs import kernel_constants, sasp_substeps, step_inputs
from geroconvert.core.kernels import one_thread
from geroconvert.core.kernels.regrowth import OUT_OF_UIDS, regrow
from geroconvert.core.kernels.rng import derive_seed, uniforms
from geroconvert.core.state import CELL_FIELDS, MOVING_FIELDS, CellState
from geroconvert.parameters.models import Environment, Params, UVExposure

MAX_UID = int(np.iinfo(CELL_FIELDS["uid"]).max)  # the engine's limit (engine.MAX_UID): uid is uint32
# Plates below this size regrow on one thread (the default plate, 300 cells x 12 x 12 sites,
# has 46,656): a step's work is too little to share, and waking threads on a busy machine
# costs milliseconds (core.engine.Simulation._kernel_threads).  Larger ones use every thread.
REGROWTH_ONE_THREAD_BELOW_SITES = 1_000_000
MAX_KEPT_SITES = 1_000_000  # a plate up to this size (52 MB) is kept for the next assay


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
    width = plate_width(sites.size, tile)
    plate = CellState.empty(width, width)
    _place(plate, state, sites, tile)
    return plate


def plate_width(n_cells: int, tile: int) -> int:
    """Sites per side of the square plate that holds ``n_cells`` tiles of ``tile`` sites."""
    return max(1, math.ceil(math.sqrt(n_cells))) * tile


def _place(plate: CellState, state: CellState, sites: np.ndarray, tile: int) -> None:
    """Put the cells at ``sites`` of ``state`` on the empty ``plate``, one per tile (see :func:`replate`)."""
    per_side = plate.width // tile
    width = plate.width
    j = np.arange(sites.size)
    dest = (j // per_side * tile + tile // 2) * width + (j % per_side) * tile + tile // 2
    for name in MOVING_FIELDS:
        getattr(plate, name)[dest] = getattr(state, name)[sites]
    plate.pending[dest] = L.NONE
    plate.clone[dest] = j
    # basal keratinocytes (and fibroblasts, melanocytes) in culture grow as a cell line at the
    # line's cycle: the assay asks whether a cell can still form a colony, not how fast;
    # differentiated cells stay post-mitotic
    kinds = plate.kind[dest]
    plate.kind[dest] = np.where(kinds == L.DIFFERENTIATED, L.DIFFERENTIATED, L.LINE).astype(np.uint8)
    plate.next_uid = state.next_uid


def colony_sizes(plate: CellState, n_clones: int) -> np.ndarray:
    live = plate.phase != L.EMPTY
    return np.bincount(plate.clone[live], minlength=n_clones)[:n_clones]


def rpp_assay(sim, time_h: float) -> tuple[float, float, int, int]:
    """Run the assay on ``sim``'s cells now; returns (time_h, rpp, n_replated, n_colonies)."""
    assays = sim.params.assays
    sites = sample_cells(sim.state, sim.seed, assays.max_cells)
    if sites.size == 0:
        return (time_h, math.nan, 0, 0)
    regrowth = _regrowth_for(sim, plate_width(sites.size, assays.tile_sites))
    plate = regrowth.empty_plate()
    _place(plate, sim.state, sites, assays.tile_sites)
    interrupts.check()  # as the regrowth's run would before its first step
    colonies = regrowth.colonies(plate, _regrowth_seed(sim, time_h), int(sites.size))
    return (time_h, colonies / sites.size, int(sites.size), colonies)


def regrowth_params(sim, width: int) -> Params:
    """The replated dish's parameters: ``width`` x ``width`` sites, ``replate_hours`` long,
    default culture conditions (washout) but the genotype (mTOR gain), no schedule, no assays,
    and no sun (a plate in an incubator)."""
    culture = Environment(mtor_gain=sim.environment.mtor_gain)
    return sim.params.with_changes(
        simulation={
            "geometry": "dish",
            "width": width,
            "height": width,
            "depth": 1,  # a plate from a basal sheet is a dish like any other
            "dermis_rows": 0,
            "hours": sim.params.assays.replate_hours,
            "snapshot_every_h": 0.0,
        },
        environment=culture.model_dump(),
        schedule=(),
        assays={"rpp_times_h": ()},
        uv=UVExposure().model_dump(),
    )


def _regrowth_seed(sim, time_h: float) -> int:
    return derive_seed(sim.seed, int(round(time_h * 1000)))


def _rpp_assay_by_simulation(sim, time_h: float) -> tuple[float, float, int, int]:
    """The assay as it was before the one-call regrowth (the reference of the tests and the
    benchmark): the plate regrows as a simulation of the same class as ``sim`` (so this
    module needs no import of the engine, which calls it)."""
    assays = sim.params.assays
    sites = sample_cells(sim.state, sim.seed, assays.max_cells)
    if sites.size == 0:
        return (time_h, math.nan, 0, 0)
    plate = replate(sim.state, sites, assays.tile_sites)
    params = regrowth_params(sim, plate.width)
    regrowth = type(sim)(params, seed=_regrowth_seed(sim, time_h), state=plate, record=False)
    regrowth.run()
    sizes = colony_sizes(regrowth.state, sites.size)
    colonies = int(np.count_nonzero(sizes >= assays.colony_min_cells))
    return (time_h, colonies / sites.size, int(sites.size), colonies)


# ---- the one-call regrowth -------------------------------------------------------------------
class Regrowth:
    """Everything a regrowth of a ``width`` x ``width`` plate under ``params`` (from
    :func:`regrowth_params`) needs but the plate's cells and the seed, made once.

    The assays of a run share it (:func:`_regrowth_for`): validating the parameters, the
    step inputs and a fresh plate (mapping its pages: 0.7 ms at 216 x 216) would otherwise
    be a fifth of each assay.
    """

    def __init__(self, params: Params):
        sim, cells = params.simulation, params.cells
        self.params = params
        self.width = sim.width
        dt = sim.dt_h
        self.n_steps = int(round(sim.hours / dt))
        self.k = kernel_constants(cells, dt)
        self.inputs = regrowth_inputs(params, self.n_steps, sim.height)
        self.clearance = np.array([cells.clearance_beta_per_h, cells.clearance_kappa, cells.clearance_burden_ref, dt])
        substeps, coef, keep = sasp_substeps(cells, dt)
        self.diffusion = np.array([float(substeps), coef, keep])
        self.one_thread = self.width * self.width < REGROWTH_ONE_THREAD_BELOW_SITES
        self._plate: CellState | None = None
        self._field_buffer: np.ndarray | None = None

    def empty_plate(self) -> CellState:
        """An empty plate, as ``CellState.empty`` makes it (this regrowth's last one, emptied)."""
        plate = self._plate
        if plate is None:
            plate = CellState.empty(self.width, self.width)
            if plate.capacity <= MAX_KEPT_SITES:
                self._plate = plate
            return plate
        for array in plate.cell_arrays():
            array.fill(0)
        plate.next_uid = 0
        return plate

    def colonies(self, plate: CellState, seed: int, n_clones: int, shortcuts: bool = True) -> int:
        """Clones 0 .. n_clones - 1 with at least ``colony_min_cells`` cells once ``plate``
        has regrown (its arrays are changed; see ``kernels.regrowth`` for ``shortcuts``)."""
        if self._field_buffer is None or self._field_buffer.size != plate.capacity:
            self._field_buffer = np.empty(plate.capacity, np.float32)
        drive, inducer, damage_p, row_set, s6k_sets, e4bp_sets = self.inputs
        with one_thread(self.one_thread):
            next_uid, _, _, _, colonies, why, _ = regrow(
                plate.width,
                plate.rows,
                plate.cell_arrays(),
                self.k,
                drive,
                inducer,
                damage_p,
                row_set,
                s6k_sets,
                e4bp_sets,
                self.clearance,
                self.diffusion,
                seed,
                0,
                self.n_steps,
                plate.next_uid,
                MAX_UID,
                np.zeros(L.N_EVENTS, np.int64),
                n_clones,
                self.params.assays.colony_min_cells,
                shortcuts,
                shortcuts,
                self.one_thread,
                self._field_buffer,
            )
        plate.next_uid = next_uid
        if why == OUT_OF_UIDS:  # the engine's refusal, word for word
            raise RuntimeError(
                f"this run has used {next_uid:,} cell ids, the most a run can hold "
                f"({MAX_UID:,}); split it into shorter runs or use a smaller lattice"
            )
        return int(colonies)


_made = threading.local()  # per thread: Dask may run several simulations in one process


def _regrowth_for(sim, width: int) -> Regrowth:
    """This thread's last Regrowth if it was made for the same parameters (the same frozen
    object), mTOR gain and width; else a new one (validating its parameters, as before)."""
    key = (sim.params, sim.environment.mtor_gain, width)
    made = getattr(_made, "regrowth", None)
    if made is not None and made[0][0] is key[0] and made[0][1:] == key[1:]:
        return made[1]
    regrowth = Regrowth(regrowth_params(sim, width))
    _made.regrowth = (key, regrowth)
    return regrowth


def regrowth_inputs(params: Params, n_steps: int, rows: int):
    """Step 1's numbers for every step of a regrowth, as ``Simulation.step_inputs`` gives
    them, but the clearance probability (it follows the counts; the kernel computes it):
    (drive, inducer, damage probability per step, row-factor set per step, S6K factor
    sets, 4E-BP1 factor sets; a set has a value per row).

    Of what ``inputs.step_inputs`` reads, only the time changes within a regrowth (and the
    counts, for the clearance); the time enters through the age-dependent damage rate and
    the topical dose alone, so without either one step's numbers are every step's.
    """
    env, dt, dosing = params.environment, params.simulation.dt_h, params.dosing
    varies = env.damage_increase_per_h_per_year != 0.0 or dosing.cream_nM * dosing.penetration_fraction != 0.0
    steps = max(n_steps, 1)
    found = [step_inputs(params, env, step * dt, 0, 0, rows, 0) for step in range(steps if varies else 1)]
    sets: dict[tuple[bytes, bytes], int] = {}
    row_set = np.zeros(steps, np.int64)
    damage_p = np.full(steps, found[0].damage_p, np.float64)
    for step, numbers in enumerate(found):
        key = (numbers.s6k_row.tobytes(), numbers.e4bp_row.tobytes())
        row_set[step] = sets.setdefault(key, len(sets))
        damage_p[step] = numbers.damage_p
    s6k_sets = np.array([np.frombuffer(s6k, np.float64) for s6k, _ in sets], np.float64)
    e4bp_sets = np.array([np.frombuffer(e4bp, np.float64) for _, e4bp in sets], np.float64)
    return found[0].drive, found[0].inducer, damage_p, row_set, s6k_sets, e4bp_sets
