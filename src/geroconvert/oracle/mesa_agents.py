"""The model's rules in plain Mesa: one agent per cell on a Mesa grid, in one file.

This is the version to read.  Each cell is a :class:`TissueCell` (a Mesa ``CellAgent``)
on a ``mesa.discrete_space.OrthogonalVonNeumannGrid``; the SASP field is a property
layer of that grid.  The fast engine (:mod:`geroconvert.core.engine`, numba kernels over
arrays) follows exactly the same rules, and ``tests/test_mesa_agents.py`` checks, step by
step on small lattices, that both give the same cells at the same sites with the same
events.  It is also the baseline the engine's speed is measured against.

    model = MesaCellModel(params, seed=1)      # params: geroconvert.parameters.models.Params
    model.step()                               # one step of params.simulation.dt_h hours
    model.snapshot()["phase"]                  # the lattice as 2-D arrays, as the engine gives

One step (the order of ``geroconvert.core.engine``'s docstring):

1. Environment: apply the schedule; compute the mTOR drive of the environment, what the
   drugs leave of the S6K and 4E-BP1 branches, the damage and clearance probabilities;
   diffuse and decay the SASP field.
2.-7. Every cell, in site order (``TissueCell.update``): signalling, p21/p16, then the
   rules of its phase: a cycling cell grows and may ask to divide, an arrested cell grows
   (hypertrophy) and geroconverts, a senescent cell secretes SASP and may be cleared.  A
   cell only reads itself, its site's SASP and whether its neighbours are occupied, so
   the order of this pass does not matter.  Anything that changes who sits where
   (division, death, clearance, shedding, differentiation) is only *decided* here
   (``pending``) ...
8. ... and carried out in a second pass in site order (``TissueCell.act``): a division
   takes a free neighbour, and when two cells want the same free site the one with the
   lower site index (row * width + column) gets it.

Random numbers are never drawn from a shared stream: each is a hash of (seed, stream,
cell uid, step) (:func:`geroconvert.oracle.reference.uniform`), so a cell's luck does not depend
on the order in which cells are visited, and the same seed gives the same cells here as
in the engine.

Numbers: the engine stores cell values as float32 and computes in float64.  So do the
agents: every stored value passes through :func:`f32`, and decisions compare the same
values the engine compares (see :mod:`geroconvert.oracle.reference`).  Without this the two
would drift apart in the last bits and, after many steps, take different decisions.

Geometry: the ``dish`` (a torus seen from above) is built here from the seed; for the
``epidermis`` (a cross-section: dermis, basal row, suprabasal rows; columns push up) the
initial lattice is taken from the engine's seeding and the rules then run here.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalVonNeumannGrid

from geroconvert.core.inputs import sasp_substeps, step_inputs
from geroconvert.core.layout import ARRESTED, CLEAR, CYCLING, DIE, DIFFERENTIATED, DISH, DIVIDE, E_ARRESTS, E_BIRTHS, E_CLEARANCES, E_CONVERSIONS, E_DEATHS, E_DIFFERENTIATIONS, E_DIVISIONS, E_RESUMES, E_SENESCENT_LOST, E_SHED, EMPTY, EPIDERMIS, FIBROBLAST, LINE, NONE, PROGENITOR, S_DIRECTION, S_EVENTS, S_DIVISIONS, S_FATE, S_INIT, S_RENEW, S_REPLICATION, S_REST, S_THRESHOLD_A, S_THRESHOLD_B, SENESCENT, SHED, STEM
from geroconvert.parameters.models import Params
from geroconvert.oracle.reference import RunSetup, draw, normal, stream_key, uniform
from geroconvert.core.state import CELL_FIELDS, CellState
from geroconvert.units import LN2


# the values a cell carries (the engine's per-cell arrays, less the site's SASP)
CELL_VALUES = ("uid", "kind", "phase", "divisions_left", "pending", "mass", "cycle", "p21", "p16", "gero",
               "gero_threshold", "age_h", "arrest_h", "clone")

# neighbour order of the engine: left, right, down (row - 1), up (row + 1)
LEFT, RIGHT, DOWN, UP = (0, -1), (0, 1), (-1, 0), (1, 0)


def f32(x: float) -> float:
    """``x`` rounded to float32, as the engine stores it (kept as a Python float)."""
    return float(np.float32(x))


class TissueCell(CellAgent):
    """One cell.  Its values are the engine's per-cell arrays (``uid``, ``mass``, ``p21``...)."""

    def __init__(self, model: MesaCellModel, site, **values):
        super().__init__(model)
        self.uid = int(values["uid"])             # the engine's uid (Mesa's unique_id is separate)
        self.kind = int(values["kind"])           # STEM, PROGENITOR, DIFFERENTIATED, FIBROBLAST, LINE
        self.phase = int(values["phase"])         # CYCLING, ARRESTED, SENESCENT
        self.divisions_left = int(values.get("divisions_left", 0))
        self.pending = NONE                       # the action decided this step
        self.mass = f32(values["mass"])           # newborn = 1
        self.cycle = f32(values["cycle"])         # < 0: G0 rest still to go; 0..1: through the cycle
        self.p21 = f32(values.get("p21", 0.0))
        self.p16 = f32(values.get("p16", 0.0))
        self.gero = f32(values.get("gero", 0.0))  # geroconversion progress
        self.gero_threshold = f32(values["gero_threshold"])
        self.age_h = f32(values.get("age_h", 0.0))
        self.arrest_h = f32(values.get("arrest_h", 0.0))
        self.clone = int(values.get("clone", self.uid))
        self.cell = site                          # Mesa puts the agent on that grid site

    # ---- steps 2-7: decide ------------------------------------------------------------
    def update(self, inputs: dict) -> None:
        """Signalling, p21/p16 and the rules of this cell's phase; sets ``self.pending``."""
        model = self.model
        phase = self.phase  # at the start of the step
        gero_drive, growth_drive = self.signalling(inputs)
        blocked = self.cdk_inhibitors(inputs, phase, gero_drive)
        self.age_h = f32(self.age_h + model.dt)
        if self.kind == DIFFERENTIATED:
            action = self.differentiated_fate()
        elif phase == CYCLING:
            action = self.cycling_fate(blocked, growth_drive)
        elif phase == ARRESTED:
            action = self.arrested_fate(blocked, gero_drive, growth_drive)
        else:
            action = self.senescent_fate(gero_drive, growth_drive, inputs)
        if action == NONE and phase != SENESCENT and model.death_p > 0.0 and \
                0.0 <= self.event_draw - inputs["damage_p"] < model.death_p:
            action = DIE  # background death of any cell that is not senescent
        self.pending = action

    def signalling(self, inputs: dict) -> tuple[float, float]:
        """2. mTOR drive x contact inhibition (x stem factor) -> S6K and 4E-BP1 -> (gero drive, growth drive)."""
        cells = self.model.cells
        drive = inputs["drive"]
        if cells.contact_inhibition_max > 0.0:
            crowd = self.model.occupied_neighbours(self.cell) / 4.0
            drive *= 1.0 - cells.contact_inhibition_max * crowd * crowd
        if self.kind == STEM:
            drive *= cells.stem_mtor_factor
        row = self.cell.coordinate[0]
        s6k = drive * inputs["s6k"][row]
        e4bp = drive * inputs["e4bp"][row]
        gero_drive = cells.w_gero * s6k + (1.0 - cells.w_gero) * e4bp
        growth_drive = cells.w_grow * s6k + (1.0 - cells.w_grow) * e4bp
        return gero_drive, growth_drive

    def cdk_inhibitors(self, inputs: dict, phase: int, gero_drive: float) -> bool:
        """3. p21 and p16 relax to their drivers, p16 rises slowly, damage kicks both; blocked?"""
        model, cells = self.model, self.model.cells
        x21 = self.p21
        target21 = min(1.0, inputs["inducer"] * cells.inducer_to_p21 + cells.sasp_to_p21 * float(self.cell.sasp))
        x21 += (target21 - x21) * model.p21_relax
        x16 = self.p16
        x16 += (min(1.0, inputs["inducer"] * cells.inducer_to_p16) - x16) * model.p16_relax
        rise = cells.p16_rise_age_per_h
        if phase == SENESCENT:
            rise += cells.p16_rise_senescent_per_h
        elif phase == ARRESTED and self.kind != DIFFERENTIATED:
            rise += cells.p16_rise_arrested_per_h * gero_drive  # late marker, mTOR-driven
        x16 += rise * model.dt * (1.0 - x16)
        # one uniform per cell and step: [0, damage) a DNA-damage hit, then clearance, death
        self.event_draw = 1.0
        if inputs["damage_p"] > 0.0 or model.death_p > 0.0 or phase == SENESCENT:
            self.event_draw = model.uniform(S_EVENTS, self.uid)
        if self.event_draw < inputs["damage_p"]:
            x21 = min(1.0, x21 + cells.damage_p21_jump)
            x16 = min(1.0, x16 + cells.damage_p16_jump)
        self.p21 = f32(x21)
        self.p16 = f32(x16)
        return x21 > cells.p21_threshold or x16 > cells.p16_threshold  # the unrounded values decide

    def differentiated_fate(self) -> int:
        """7. a differentiated cell is shed when its transit time is up."""
        self.arrest_h = f32(self.arrest_h + self.model.dt)
        return SHED if self.arrest_h >= self.model.cells.transit_h else NONE

    def cycling_fate(self, blocked: bool, growth_drive: float) -> int:
        """4. arrest, G0 rest, or growth and cycle progress; at the end of the cycle, ask to divide."""
        model, cells, dt = self.model, self.model.cells, self.model.dt
        if blocked:
            self.phase = ARRESTED
            self.arrest_h = 0.0
            model.events[E_ARRESTS] += 1
            return NONE
        c = self.cycle
        if c < 0.0:  # resting in G0 after a division ...
            if model.geometry != DISH and self.kind in (STEM, PROGENITOR) and model.basal_gap(self.cell):
                c = 0.0  # ... unless a free basal neighbour wakes the cell: the basal layer refills
            else:
                c = min(0.0, c + dt / cells.rest_mean_h)
        elif c < 1.0:
            hours = model.cycle_hours(self.kind)
            c += growth_drive * dt / hours
            self.mass = f32(min(self.mass * math.exp(LN2 * growth_drive * dt / hours), cells.mass_max))
        self.cycle = f32(c)
        if c >= 1.0 and self.mass >= cells.division_mass:
            if self.kind == PROGENITOR and self.divisions_left <= 0:
                return NONE  # exhausted: waits until a dividing neighbour displaces it (delaminate)
            if model.geometry == DISH and model.occupied_neighbours(self.cell) == 4:
                return NONE  # contact-inhibited: no free neighbour, so it does not ask
            return DIVIDE
        return NONE

    def arrested_fate(self, blocked: bool, gero_drive: float, growth_drive: float) -> int:
        """5. resume when the block is lifted (RPP kept); else hypertrophy and geroconversion."""
        model, cells, dt = self.model, self.model.cells, self.model.dt
        if not blocked:
            self.phase = CYCLING
            self.arrest_h = 0.0
            model.events[E_RESUMES] += 1
            return NONE
        self.arrest_h = f32(self.arrest_h + dt)
        self.mass = f32(model.hypertrophy(self.mass, growth_drive))
        g = self.gero + cells.gero_rate_per_h * gero_drive * dt
        self.gero = f32(g)
        if g >= self.gero_threshold:
            self.phase = SENESCENT  # irreversible
            model.events[E_CONVERSIONS] += 1
        return NONE

    def senescent_fate(self, gero_drive: float, growth_drive: float, inputs: dict) -> int:
        """6. hypertrophy, SASP secretion in proportion to mTOR, immune clearance, rare death."""
        model, cells, dt = self.model, self.model.cells, self.model.dt
        self.arrest_h = f32(self.arrest_h + dt)
        self.mass = f32(model.hypertrophy(self.mass, growth_drive))
        self.cell.sasp = float(self.cell.sasp) + cells.sasp_secretion_per_h * gero_drive * dt
        v = self.event_draw - inputs["damage_p"]
        if 0.0 <= v < inputs["clear_p"]:
            return CLEAR
        if 0.0 <= v - inputs["clear_p"] < model.senescent_death_p:
            return DIE
        return NONE

    # ---- the ordered pass: act ----------------------------------------------------------
    def act(self) -> None:
        """Carry out the pending action (called in site order)."""
        action, self.pending = self.pending, NONE
        if action in (CLEAR, DIE, SHED):
            self.leave(action)
        elif action == DIVIDE:
            self.divide()

    def leave(self, action: int) -> None:
        """Clearance, death or shedding: the cell is gone and its site is free."""
        events = self.model.events
        if self.phase == SENESCENT:
            events[E_SENESCENT_LOST] += 1
        events[{CLEAR: E_CLEARANCES, DIE: E_DEATHS, SHED: E_SHED}[action]] += 1
        self.remove()

    def delaminate(self) -> None:
        """An exhausted progenitor leaves the basal row for the suprabasal site above it
        (pushing that column up) and differentiates; its basal site is left free."""
        model = self.model
        self.kind = DIFFERENTIATED
        self.phase = ARRESTED
        self.arrest_h = 0.0
        self.cycle = 0.0
        model.events[E_DIFFERENTIATIONS] += 1
        row, col = self.cell.coordinate
        if row + 1 < model.rows:
            self.move_to(model.push_column(col, row + 1))

    def divide(self) -> None:
        """Division into a free neighbour (or, at the epidermal base, by pushing the column up)."""
        model, cells = self.model, self.model.cells
        row, col = self.cell.coordinate
        mother_kind = self.kind
        direction = model.uniform(S_DIRECTION, self.uid)
        daughter_kind, daughter_phase = mother_kind, CYCLING
        if model.geometry == DISH:
            target = model.free_neighbour(self.cell, direction)
        elif mother_kind == FIBROBLAST:
            target = model.free_neighbour(self.cell, direction, 0, model.basal_row)
        else:
            target, daughter_kind, daughter_phase = self.basal_division(row, col, direction)
        if target is None:
            return  # no room: the cell waits at the end of its cycle
        model.events[E_DIVISIONS] += 1
        model.events[E_BIRTHS] += 1
        child = model.new_uid()
        half = self.mass * 0.5
        self.mass = f32(half)
        self.gero = 0.0
        self.age_h = 0.0
        self.cycle = f32(model.newborn_cycle(self.uid))
        if daughter_kind == PROGENITOR:
            budget = self.divisions_left if mother_kind == PROGENITOR else model.progenitor_budget(child)
        else:
            budget = 0
        daughter = TissueCell(
            model, target, uid=child, kind=daughter_kind, phase=daughter_phase, divisions_left=budget,
            mass=half, p21=self.p21, p16=self.p16, gero_threshold=model.gero_threshold_at_birth(child),
            clone=self.clone,
            cycle=model.newborn_cycle(child) if daughter_phase == CYCLING else 0.0)
        # exhausted progenitors leave the cycle at once and wait to delaminate
        for cell in (self, daughter):
            if cell.kind == PROGENITOR and cell.divisions_left <= 0:
                cell.cycle = f32(1.0)
        # replication stress: each of the two cells may take a DNA-damage hit
        for cell in (self, daughter):
            if model.uniform(S_REPLICATION, cell.uid) < cells.damage_per_division:
                cell.p21 = f32(min(1.0, cell.p21 + cells.damage_p21_jump))
                cell.p16 = f32(min(1.0, cell.p16 + cells.damage_p16_jump))

    def basal_division(self, row: int, col: int, direction: float):
        """Epidermal basal division: (daughter's site or None, daughter kind, daughter phase).

        A free basal neighbour keeps the daughter basal (a stem's daughter stays a stem with
        probability ``stem_renew_into_gap``); else the daughter takes the place of an
        exhausted progenitor neighbour, which delaminates; else she differentiates and
        pushes the column above the mother up by one.  A stem may first become a progenitor
        (symmetric loss); a progenitor mother spends one division.
        """
        model, cells = self.model, self.model.cells
        mother_kind = self.kind
        target = model.free_neighbour(self.cell, direction, row, row + 1)
        if target is None and row + 1 >= model.rows:
            return None, mother_kind, CYCLING  # no room at all: nothing changes
        if target is None:  # crowding: an exhausted progenitor neighbour makes way
            exhausted = model.exhausted_neighbour(self.cell, direction)
            if exhausted is not None:
                target = exhausted.cell
                exhausted.delaminate()
        fate = model.uniform(S_FATE, self.uid)
        if mother_kind == STEM and fate < cells.stem_symmetric_loss:
            self.kind = PROGENITOR
            self.divisions_left = model.progenitor_budget(self.uid)
        if self.kind == PROGENITOR:
            self.divisions_left -= 1
        if target is not None:
            if mother_kind == STEM and fate >= cells.stem_symmetric_loss and \
                    model.uniform(S_RENEW, self.uid) < cells.stem_renew_into_gap:
                return target, STEM, CYCLING
            return target, PROGENITOR, CYCLING
        return model.push_column(col, row + 1), DIFFERENTIATED, ARRESTED


class MesaCellModel(mesa.Model, RunSetup):
    """``MesaCellModel(params, seed)``: the rules with one Mesa agent per cell.

    Args:
        params: validated :class:`~geroconvert.parameters.models.Params` (dish or epidermis).
        seed: the counter-based seed (defaults to ``params.simulation.seed``); also seeds
            Mesa's own ``random``/``rng``, which the rules never use.
        state: start from this lattice (a :class:`~geroconvert.core.state.CellState`, copied)
            instead of seeding a new one, e.g. ``Simulation(params, seed).state``.

    ``step()`` advances ``dt_h`` hours; ``to_state()`` / ``snapshot()`` read the lattice
    back as the engine's arrays; ``events`` counts what happened, in the engine's layout.
    """

    def __init__(self, params: Params, seed: int | None = None, state: CellState | None = None):
        sim = params.simulation
        seed = int(sim.seed if seed is None else seed)
        super().__init__(seed=seed)
        self.setup_run(params, seed)  # constants, clock, schedule: shared with the reference
        self._keys: dict[int, int] = {}
        if state is None and self.geometry == EPIDERMIS:
            from geroconvert.core.engine import Simulation

            state = Simulation(params, seed=seed, record=False).state
        self.rows = state.rows if state is not None else sim.height
        self.width = state.width if state is not None else sim.width
        # the lattice: rows x columns, wrapping sideways (and vertically in the dish)
        self.grid = OrthogonalVonNeumannGrid((self.rows, self.width), torus=True, capacity=1, random=self.random)
        self.grid.create_property_layer("sasp", default_value=np.float32(0.0), dtype=np.float32)
        self.sites = [self.grid[(row, col)] for row in range(self.rows) for col in range(self.width)]
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
                TissueCell(self, site, uid=uid, kind=LINE, phase=CYCLING, mass=2.0 ** max(start, 0.0), cycle=start,
                           gero_threshold=self.gero_threshold_at_birth(uid), clone=uid)

    def load_state(self, state: CellState) -> None:
        """Put one agent on every occupied site of ``state`` (and copy its SASP field)."""
        for index in np.flatnonzero(state.phase != EMPTY):
            values = {name: getattr(state, name)[index].item() for name in CELL_VALUES if name != "pending"}
            TissueCell(self, self.sites[index], **values)
        self.grid.sasp.data[:] = state.sasp.reshape(self.rows, self.width)
        self.next_uid = int(state.next_uid)

    # ---- small shared rules -------------------------------------------------------------
    def new_uid(self) -> int:
        uid = self.next_uid
        self.next_uid += 1
        return uid

    def uniform(self, stream: int, uid: int) -> float:
        """This step's random number for one cell and one kind of decision."""
        key = self._keys.get(stream)
        if key is None:
            key = self._keys[stream] = stream_key(self.seed, stream, self.step_index)
        return draw(key, uid)

    def gero_threshold_at_birth(self, uid: int) -> float:
        """Lognormal geroconversion threshold, drawn once from the cell's uid."""
        z = normal(self.seed, S_THRESHOLD_A, S_THRESHOLD_B, uid, 0)
        return f32(self.cells.gero_threshold_median * math.exp(self.cells.gero_threshold_sigma * z))

    def progenitor_budget(self, uid: int) -> int:
        """Transit-amplifying divisions, uniform on [min, max]."""
        lo, hi = self.cells.progenitor_divisions_min, self.cells.progenitor_divisions_max
        return lo + int(self.uniform(S_DIVISIONS, uid) * (hi - lo + 1))

    def newborn_cycle(self, uid: int) -> float:
        """0, or minus an exponential G0 rest (in units of its mean) when cells rest after dividing."""
        if self.cells.rest_mean_h <= 0.0:
            return 0.0
        return math.log(1.0 - self.uniform(S_REST, uid))

    def cycle_hours(self, kind: int) -> float:
        if kind == STEM:
            return self.cells.cycle_h * self.cells.stem_cycle_factor
        if kind == FIBROBLAST:
            return self.cells.fibroblast_cycle_h
        return self.cells.cycle_h

    def hypertrophy(self, mass: float, growth_drive: float) -> float:
        """Exact logistic growth over one step towards ``mass_max``."""
        m_max = self.cells.mass_max
        if mass >= m_max:
            return mass
        decay = math.exp(-self.cells.hypertrophy_rate_per_h * growth_drive * self.dt)
        return m_max / (1.0 + (m_max / mass - 1.0) * decay)

    # ---- the lattice --------------------------------------------------------------------
    @staticmethod
    def occupant(site) -> TissueCell | None:
        agents = site.agents
        return agents[0] if agents else None

    def neighbours(self, site, row_lo: int = 0, row_hi: int | None = None) -> list:
        """Von Neumann neighbours in the engine's order: left, right, down, up.

        Sideways always wraps.  The dish wraps vertically too; in the epidermis a vertical
        neighbour counts only inside the row band [row_lo, row_hi) and only when the band
        is more than one row high.
        """
        row_hi = self.rows if row_hi is None else row_hi
        links = site.connections
        around = [links[LEFT], links[RIGHT]]
        if self.geometry == DISH:
            around += [links[DOWN], links[UP]]
        elif row_hi - row_lo > 1:
            row = site.coordinate[0]
            if row - 1 >= row_lo:
                around.append(links[DOWN])
            if row + 1 < row_hi:
                around.append(links[UP])
        return around

    def basal_gap(self, site) -> bool:
        """Whether a sideways neighbour (same row, wrapping) is free."""
        return site.connections[LEFT].is_empty or site.connections[RIGHT].is_empty

    def exhausted_neighbour(self, site, direction: float) -> TissueCell | None:
        """A sideways neighbour that is an exhausted progenitor (cycling, no divisions left),
        chosen by ``direction`` when both are; or None."""
        candidates = []
        for other in (site.connections[LEFT], site.connections[RIGHT]):
            cell = self.occupant(other)
            if cell is not None and cell.kind == PROGENITOR and cell.phase == CYCLING and \
                    cell.divisions_left <= 0 and cell not in candidates:
                candidates.append(cell)
        if not candidates:
            return None
        return candidates[0] if len(candidates) == 1 or direction < 0.5 else candidates[1]

    def occupied_neighbours(self, site) -> int:
        return sum(1 for other in self.neighbours(site) if not other.is_empty)

    def free_neighbour(self, site, direction: float, row_lo: int = 0, row_hi: int | None = None):
        """The ``int(direction * n_free)``-th free neighbour, or None when there is none."""
        free = [other for other in self.neighbours(site, row_lo, row_hi) if other.is_empty]
        return free[int(direction * len(free))] if free else None

    def push_column(self, col: int, first_row: int):
        """Free the site (first_row, col): the stack above moves up one; a full column sheds its top."""
        top = first_row
        while top < self.rows and not self.grid[(top, col)].is_empty:
            top += 1
        if top == self.rows:  # the column is full: its top cell leaves the tissue
            top = self.rows - 1
            shed = self.occupant(self.grid[(top, col)])
            if shed.phase == SENESCENT:
                self.events[E_SENESCENT_LOST] += 1
            self.events[E_SHED] += 1
            shed.remove()
        for row in range(top, first_row, -1):
            self.occupant(self.grid[(row - 1, col)]).move_to(self.grid[(row, col)])
        return self.grid[(first_row, col)]

    # ---- one step -----------------------------------------------------------------------
    def count_cells(self) -> tuple[int, int]:
        cells = self.agents
        return len(cells), sum(1 for cell in cells if cell.phase == SENESCENT)

    def step(self) -> None:
        """One step of ``dt_h`` hours (the order is in the module docstring)."""
        self._keys = {}
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

    def environment_inputs(self) -> dict:
        """Step 1's numbers (drive, drug factors per row, damage and clearance probabilities),
        from the same function the engine uses (``geroconvert.core.inputs``)."""
        shared = step_inputs(self.params, self.environment, self.time_h, self.n_cells, self.n_senescent,
                             self.rows, self.basal_row)
        return {
            "drive": shared.drive,
            "inducer": shared.inducer,
            "damage_p": shared.damage_p,
            "clear_p": shared.clear_p,
            "s6k": [float(x) for x in shared.s6k_row],
            "e4bp": [float(x) for x in shared.e4bp_row],
        }

    def diffuse_sasp(self) -> None:
        """Explicit diffusion with decay of the SASP property layer, in the shared sub-step plan."""
        substeps, coef, keep = sasp_substeps(self.cells, self.dt)
        for _ in range(substeps):
            field = self.grid.sasp.data
            left, right = np.roll(field, 1, axis=1), np.roll(field, -1, axis=1)
            if self.geometry == DISH:
                below, above = np.roll(field, 1, axis=0), np.roll(field, -1, axis=0)
            else:  # no flux through the bottom and top edges
                below = np.concatenate([field[:1], field[:-1]])
                above = np.concatenate([field[1:], field[-1:]])
            around = left + right + below + above  # float32 sums, as in the engine
            laplacian = around.astype(np.float64) - 4.0 * field.astype(np.float64)
            self.grid.sasp.data[:] = keep * (field.astype(np.float64) + coef * laplacian)

    # ---- reading it back ----------------------------------------------------------------
    def to_state(self) -> CellState:
        """The lattice as the engine's arrays (a new :class:`CellState`)."""
        state = CellState.empty(self.width, self.rows)
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
        """The lattice as 2-D arrays (rows x width), like ``Simulation.snapshot()``."""
        state = self.to_state()
        return {name: getattr(state, name).reshape(self.rows, self.width)
                for name in ("phase", "kind", "mass", "p16", "gero", "sasp")}

    def run(self, hours: float) -> None:
        for _ in range(int(round(hours / self.dt))):
            self.step()


assert set(CELL_VALUES) <= set(CELL_FIELDS)
