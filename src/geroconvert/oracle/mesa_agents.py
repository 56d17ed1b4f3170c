"""The model's rules on plain Mesa: one agent per cell on a Mesa grid.

Each cell is a :class:`TissueCell` (a Mesa ``CellAgent``) on a
``mesa.discrete_space.OrthogonalVonNeumannGrid``; the SASP field is a property layer of
that grid.  The rules every cell follows are the functions of
:mod:`geroconvert.oracle.rules` (shared with the array reference,
:mod:`geroconvert.oracle.reference`); a ``TissueCell`` is the cell those functions expect
and :class:`MesaCellModel` is their world: it answers their lattice questions and makes
their moves with Mesa's grid.  The fast engine (:mod:`geroconvert.core.engine`, numba
kernels over arrays) follows exactly the same rules, and ``tests/oracle/test_mesa_agents.py``
checks, step by step on small lattices, that both give the same cells at the same sites
with the same events.  It is also the baseline the engine's speed is measured against.

    model = MesaCellModel(params, seed=1)      # params: geroconvert.parameters.models.Params
    model.step()                               # one step of params.simulation.dt_h hours
    model.snapshot()["phase"]                  # the lattice as 2-D arrays, as the engine gives

One step (the order of ``geroconvert.core.engine``'s docstring):

1. Environment: apply the schedule; compute the mTOR drive of the environment, what the
   drugs leave of the S6K and 4E-BP1 branches, the damage and clearance probabilities;
   diffuse and decay the SASP field.
2.-7. Every cell, in site order (``TissueCell.update``, i.e. ``rules.decide``):
   signalling, p21/p16, then the rules of its phase: a cycling cell grows and may ask to
   divide, an arrested cell grows (hypertrophy) and geroconverts, a senescent cell
   secretes SASP and may be cleared.  A cell only reads itself, its site's SASP and
   whether its neighbours are occupied, so the order of this pass does not matter.
   Anything that changes who sits where (division, death, clearance, shedding,
   differentiation) is only *decided* here (``pending``) ...
8. ... and carried out in a second pass in site order (``TissueCell.act``, i.e.
   ``rules.act``): a division takes a free neighbour, and when two cells want the same
   free site the one with the lower site index (row * width + column) gets it.

Random numbers are never drawn from a shared stream: each is a hash of (seed, stream,
cell uid, step) (:func:`geroconvert.oracle.reference.uniform`; docs/design.md, random
streams section), so a cell's luck does not depend on the order in which cells are
visited, and the same seed gives the same cells here as in the engine.

Numbers: the engine stores cell values as float32 and computes in float64.  So do the
agents: the rules pass every stored value through :func:`~geroconvert.oracle.rules.f32`
(so does ``TissueCell``'s constructor), and decisions compare the same values the engine
compares (see :mod:`geroconvert.oracle.rules`).  Without this the two would drift apart
in the last bits and, after many steps, take different decisions.

Geometry: the ``dish`` (a torus seen from above) is built here from the seed; for the
``epidermis`` (a cross-section: dermis, basal row, suprabasal rows; columns push up; or, with
``simulation.depth`` > 1, the same on a 2-D basal sheet, on a 3-D grid of rows x depth x
width) the initial lattice is taken from the engine's seeding and the rules then run here.
"""

from __future__ import annotations

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalVonNeumannGrid

from geroconvert.core.inputs import sasp_substeps
from geroconvert.core.layout import CYCLING, DISH, EMPTY, EPIDERMIS, LINE, NONE, S_INIT, SENESCENT
from geroconvert.core.state import CELL_FIELDS, CellState
from geroconvert.oracle import rules
from geroconvert.oracle.reference import RunSetup, uniform
from geroconvert.oracle.rules import f32
from geroconvert.parameters.models import Params

# the values a cell carries: the engine's per-cell arrays, less the site's SASP
CELL_VALUES = tuple(name for name in CELL_FIELDS if name != "sasp")

# neighbour order of the engine: left, right, (front, back on a sheet), down (row - 1), up (row + 1);
# a grid's connections are keyed by these offsets: (row, column) on a row, (row, y, x) on a sheet
OFFSETS_ROW = {"left": (0, -1), "right": (0, 1), "down": (-1, 0), "up": (1, 0)}
OFFSETS_SHEET = {
    "left": (0, 0, -1),
    "right": (0, 0, 1),
    "front": (0, -1, 0),
    "back": (0, 1, 0),
    "down": (-1, 0, 0),
    "up": (1, 0, 0),
}


class TissueCell(CellAgent):
    """One cell.  Its values are the engine's per-cell arrays (``uid``, ``mass``, ``p21``...)."""

    def __init__(self, model: MesaCellModel, site, **values):
        super().__init__(model)
        self.uid = int(values["uid"])  # the engine's uid (Mesa's unique_id is separate)
        self.kind = int(values["kind"])  # STEM, PROGENITOR, DIFFERENTIATED, FIBROBLAST, LINE
        self.phase = int(values["phase"])  # CYCLING, ARRESTED, SENESCENT
        self.divisions_left = int(values.get("divisions_left", 0))
        self.pending = NONE  # the action decided this step
        self.mass = f32(values["mass"])  # newborn = 1
        self.cycle = f32(values["cycle"])  # < 0: G0 rest still to go; 0..1: through the cycle
        self.p21 = f32(values.get("p21", 0.0))
        self.p16 = f32(values.get("p16", 0.0))
        self.gero = f32(values.get("gero", 0.0))  # geroconversion progress
        self.gero_threshold = f32(values["gero_threshold"])
        self.age_h = f32(values.get("age_h", 0.0))
        self.arrest_h = f32(values.get("arrest_h", 0.0))
        self.clone = int(values.get("clone", self.uid))
        self.cell = site  # Mesa puts the agent on that grid site

    # what the rules read besides the cell's own values
    @property
    def site(self):
        return self.cell

    @property
    def row(self) -> int:
        return self.cell.coordinate[0]

    @property
    def sasp(self) -> float:
        """The SASP field at the cell's site (the grid's property layer, float32)."""
        return float(self.cell.sasp)

    @sasp.setter
    def sasp(self, value: float) -> None:
        self.cell.sasp = value

    def update(self, inputs) -> None:
        """Steps 2-7: signalling, p21/p16 and the rules of this cell's phase; sets ``pending``."""
        rules.decide(self, self.model, inputs)

    def act(self) -> None:
        """Step 8: carry out the pending action (called in site order)."""
        rules.act(self, self.model)


class MesaCellModel(mesa.Model, RunSetup):
    """``MesaCellModel(params, seed)``: the rules with one Mesa agent per cell.

    Args:
        params: validated :class:`~geroconvert.parameters.models.Params` (dish or epidermis).
        seed: the counter-based seed (defaults to ``params.simulation.seed``); also seeds
            Mesa's own ``random``/``rng``, which the rules never use.
        state: start from this lattice (a :class:`~geroconvert.core.state.CellState`, copied)
            instead of seeding a new one, e.g. ``Simulation(params, seed).state``.

    ``step()`` advances ``dt_h`` hours; ``to_state()`` / ``snapshot()`` read the lattice
    back as the engine's arrays; ``events`` counts what happened, in the engine's layout,
    and ``branches`` the rule branches taken, as on the reference.
    """

    def __init__(self, params: Params, seed: int | None = None, state: CellState | None = None):
        sim = params.simulation
        seed = int(sim.seed if seed is None else seed)
        super().__init__(seed=seed)
        self.setup_run(params, seed)  # constants, clock, schedule, random numbers: shared with the reference
        if state is None and self.geometry == EPIDERMIS:
            from geroconvert.core.engine import Simulation

            state = Simulation(params, seed=seed, record=False).state
        self.rows = state.rows if state is not None else sim.height
        self.width = state.width if state is not None else sim.width
        self.depth = state.depth if state is not None else 1
        # the lattice: rows x columns (x depth on a sheet), wrapping sideways (and vertically in the
        # dish); a torus in every direction, so the epidermis leaves out the vertical wrap itself
        self.shape = (self.rows, self.width) if self.depth == 1 else (self.rows, self.depth, self.width)
        self.offsets = OFFSETS_ROW if self.depth == 1 else OFFSETS_SHEET
        self.grid = OrthogonalVonNeumannGrid(self.shape, torus=True, capacity=1, random=self.random)
        self.grid.create_property_layer("sasp", default_value=np.float32(0.0), dtype=np.float32)
        self.sites = [self.grid[coordinate] for coordinate in np.ndindex(*self.shape)]
        self.next_uid = 0
        if state is None:
            self.seed_dish(sim.initial_density)
        else:
            self.load_state(state)
        self.n_cells, self.n_senescent = self.count_cells()

    # ---- set-up -------------------------------------------------------------------------
    def seed_dish(self, density: float) -> None:
        """Scatter cultured-line cells over the dish, as the engine's ``seed_dish`` does."""
        for index, site in enumerate(self.sites):
            if uniform(self.seed, S_INIT, index, 0) < density:
                start = uniform(self.seed, S_INIT, index, 1)  # a random point in the cycle
                uid = self.new_uid()
                TissueCell(
                    self,
                    site,
                    uid=uid,
                    kind=LINE,
                    phase=CYCLING,
                    mass=2.0 ** max(start, 0.0),
                    cycle=start,
                    gero_threshold=rules.gero_threshold_at_birth(self, uid),
                    clone=uid,
                )

    def load_state(self, state: CellState) -> None:
        """Put one agent on every occupied site of ``state`` (and copy its SASP field)."""
        for index in np.flatnonzero(state.phase != EMPTY):
            values = {name: getattr(state, name)[index].item() for name in CELL_VALUES if name != "pending"}
            TissueCell(self, self.sites[index], **values)
        self.grid.sasp.data[:] = state.sasp.reshape(self.shape)
        self.next_uid = int(state.next_uid)

    # ---- the lattice, as the rules ask for it (sites are Mesa grid cells) ---------------
    @staticmethod
    def occupant(site) -> TissueCell | None:
        agents = site.agents
        return agents[0] if agents else None

    @staticmethod
    def resident(site) -> TissueCell:
        """The cell at a site known to be occupied."""
        return site.agents[0]

    def lateral(self, site) -> list:
        """The sites beside ``site`` in its layer, in the engine's order: left, right (front,
        back on a sheet; on a sheet two sites deep front and back are one site, given once)."""
        links, o = site.connections, self.offsets
        around = [links[o["left"]], links[o["right"]]]
        if self.depth > 1:
            around.append(links[o["front"]])
            if links[o["back"]] is not links[o["front"]]:
                around.append(links[o["back"]])
        return around

    def neighbours(self, site, row_lo: int = 0, row_hi: int | None = None) -> list:
        """Von Neumann neighbours in the engine's order: the layer's (:meth:`lateral`), down, up.

        Sideways always wraps.  The dish wraps vertically too; in the epidermis a vertical
        neighbour counts only inside the row band [row_lo, row_hi) and only when the band
        is more than one row high.
        """
        row_hi = self.rows if row_hi is None else row_hi
        links, o = site.connections, self.offsets
        around = self.lateral(site)
        if self.geometry == DISH:
            around += [links[o["down"]], links[o["up"]]]
        elif row_hi - row_lo > 1:
            row = site.coordinate[0]
            if row - 1 >= row_lo:
                around.append(links[o["down"]])
            if row + 1 < row_hi:
                around.append(links[o["up"]])
        return around

    def occupied_neighbours(self, cell: TissueCell) -> int:
        return sum(1 for other in self.neighbours(cell.cell) if not other.is_empty)

    def basal_gap(self, cell: TissueCell) -> bool:
        return any(other.is_empty for other in self.lateral(cell.cell))

    def free_neighbour(self, cell: TissueCell, direction: float, row_lo: int = 0, row_hi: int | None = None):
        """The ``int(direction * n_free)``-th free neighbour, or None when there is none."""
        free = [other for other in self.neighbours(cell.cell, row_lo, row_hi) if other.is_empty]
        return free[int(direction * len(free))] if free else None

    def sideways_neighbours(self, cell: TissueCell) -> list[TissueCell]:
        sites = dict.fromkeys(self.lateral(cell.cell))  # a row two sites wide: left and right are one site
        return [self.resident(site) for site in sites if not site.is_empty]

    def layer_window(self, cell: TissueCell, reach: int) -> tuple[list[TissueCell], int]:
        """The other cells within ``reach`` sites of ``cell`` in its layer (each site once) and
        the number of sites there: a stretch of the row, or a square of the sheet."""
        row, *across = cell.cell.coordinate
        reach_x = min(reach, (self.width - 1) // 2)
        reach_y = min(reach, (self.depth - 1) // 2)
        x = across[-1]
        y = across[0] if self.depth > 1 else 0
        coordinates = [
            (row, (x + dx) % self.width) if self.depth == 1 else (row, (y + dy) % self.depth, (x + dx) % self.width)
            for dy in range(-reach_y, reach_y + 1)
            for dx in range(-reach_x, reach_x + 1)
            if (dx, dy) != (0, 0)
        ]
        cells = [self.resident(self.grid[c]) for c in coordinates if not self.grid[c].is_empty]
        return cells, (2 * reach_x + 1) * (2 * reach_y + 1)

    def new_uid(self) -> int:
        uid = self.next_uid
        self.next_uid += 1
        return uid

    def place_daughter(self, site, values: dict) -> TissueCell:
        return TissueCell(self, site, **values)

    def move(self, cell: TissueCell, site) -> None:
        cell.move_to(site)

    def remove(self, cell: TissueCell) -> None:
        cell.remove()

    def push_column_above(self, cell: TissueCell):
        """Free the site above ``cell``: the stack above moves up one; a full column sheds its top."""
        row, *across = cell.cell.coordinate

        def at(r: int):  # the column's site in row r
            return self.grid[(r, *across)]

        top = row + 1
        while top < self.rows and not at(top).is_empty:
            top += 1
        if top == self.rows:  # the column is full: its top cell leaves the tissue
            top = self.rows - 1
            rules.shed_from_top(self.resident(at(top)), self)
        for r in range(top, row + 1, -1):
            self.resident(at(r - 1)).move_to(at(r))
        return at(row + 1)

    # ---- one step -----------------------------------------------------------------------
    def count_cells(self) -> tuple[int, int]:
        cells = self.agents
        return len(cells), sum(1 for cell in cells if cell.phase == SENESCENT)

    def step(self) -> None:
        """One step of ``dt_h`` hours (the order is in the module docstring)."""
        # 1. environment
        self.apply_schedule()
        inputs = self.environment_inputs()
        self.diffuse_sasp()
        # 2.-7. every cell decides, in site order
        occupants = [self.occupant(site) for site in self.sites]
        for cell in occupants:
            if cell is not None:
                cell.update(inputs)
        # 8. the ordered pass: a pushed cell moves to a higher site and acts there
        for site in self.sites:
            cell = self.occupant(site)
            if cell is not None and cell.pending != NONE:
                cell.act()
        self.n_cells, self.n_senescent = self.count_cells()
        self.step_index += 1

    def diffuse_sasp(self) -> None:
        """Explicit diffusion with decay of the SASP property layer, in the shared sub-step plan."""
        substeps, coef, keep = sasp_substeps(self.cells, self.dt, self.n_neighbours)
        for _ in range(substeps):
            field = self.grid.sasp.data
            around = np.roll(field, 1, axis=-1) + np.roll(field, -1, axis=-1)  # float32 sums, as in the engine
            if self.depth > 1:  # a sheet: front and back (axis 1 is y)
                around = around + np.roll(field, 1, axis=1)
                around = around + np.roll(field, -1, axis=1)
            if self.geometry == DISH:
                below, above = np.roll(field, 1, axis=0), np.roll(field, -1, axis=0)
            else:  # no flux through the bottom and top edges
                below = np.concatenate([field[:1], field[:-1]])
                above = np.concatenate([field[1:], field[-1:]])
            around = around + below + above
            laplacian = around.astype(np.float64) - self.n_neighbours * field.astype(np.float64)
            self.grid.sasp.data[:] = keep * (field.astype(np.float64) + coef * laplacian)

    # ---- reading it back ----------------------------------------------------------------
    def to_state(self) -> CellState:
        """The lattice as the engine's arrays (a new :class:`CellState`)."""
        state = CellState.empty(self.width, self.rows, self.depth)
        for index, site in enumerate(self.sites):
            cell = self.occupant(site)
            if cell is None:
                continue
            for name in CELL_VALUES:
                getattr(state, name)[index] = getattr(cell, name)
        state.sasp[:] = self.grid.sasp.data.ravel()
        state.next_uid = self.next_uid
        return state

    def snapshot(self) -> dict[str, np.ndarray]:
        """The lattice as arrays of ``state.shape``, like ``Simulation.snapshot()``."""
        state = self.to_state()
        return {
            name: getattr(state, name).reshape(state.shape) for name in ("phase", "kind", "mass", "p16", "gero", "sasp")
        }

    def run(self, hours: float) -> None:
        for _ in range(int(round(hours / self.dt))):
            self.step()
