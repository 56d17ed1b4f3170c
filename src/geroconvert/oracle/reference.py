"""A slow, plain-Python reference of one simulation step, for testing the numba kernels.

It follows the step order of :mod:`geroconvert.core.engine` (written once, in that module's
docstring) with the same rules and the same random-number keys (DESIGN 3), but in
ordinary Python: one cell at a time, one small function per rule, no numba.  It is
meant for lattices of a few hundred sites; ``tests/test_reference.py`` runs it side by
side with :class:`geroconvert.core.engine.Simulation` and requires the same lattice at every
step.

Numbers: every quantity is computed in Python floats (IEEE float64) and stored to the
float32 arrays of :class:`~geroconvert.core.state.CellState` exactly where the kernels store,
and decisions compare the unrounded float64 value where the kernels do (``p21``, ``p16``,
cycle progress, ``gero``) and the stored float32 value where they re-read the array
(``mass``, ``arrest_h``, thresholds).  The one place where the kernels compute in
float32 is the sum of the four neighbours in the SASP diffusion stencil (float32 array
elements added to each other stay float32 in numba); the reference does the same with
NumPy float32 scalars.

Random numbers come from :func:`uniform` / :func:`normal` below: splitmix64 on Python
integers masked to 64 bits, the same function as :func:`geroconvert.core.kernels.rng.uniform` (a
test checks it bit for bit).

Parameters are read by name from :class:`~geroconvert.parameters.models.CellParams` (not from
``params.kernel_constants``), so a mix-up in that vector would show as a mismatch.
Step 1's scalar inputs (the environmental mTOR drive and the drug factors of each
branch) are shared with the engine through :mod:`geroconvert.core.pharmacology`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from geroconvert.core.inputs import sasp_substeps, step_inputs
from geroconvert.core.layout import ARRESTED, CLEAR, CYCLING, DIE, DIFFERENTIATED, DISH, DIVIDE, E_ARRESTS, E_BIRTHS, E_CLEARANCES, E_CONVERSIONS, E_DEATHS, E_DIFFERENTIATIONS, E_DIVISIONS, E_RESUMES, E_SENESCENT_LOST, E_SHED, EMPTY, EPIDERMIS, FIBROBLAST, N_EVENTS, NONE, PROGENITOR, S_DIRECTION, S_EVENTS, S_DIVISIONS, S_FATE, S_RENEW, S_REPLICATION, S_REST, S_THRESHOLD_A, S_THRESHOLD_B, SENESCENT, SHED, STEM
from geroconvert.parameters.models import Environment, Params
from geroconvert.core.state import MOVING_FIELDS, CellState
from geroconvert.units import LN2

# ---------------------------------------------------------------------------------------
# Counter-based random numbers: splitmix64 on Python integers (DESIGN 3)
# ---------------------------------------------------------------------------------------
MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0



def mix64(x: int) -> int:
    """splitmix64's finaliser on a 64-bit integer."""
    z = (x + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def stream_key(seed: int, stream: int, step: int) -> int:
    """Hash of the three integers of a key shared by every cell: seed, stream, step."""
    h = mix64(int(seed) & MASK64)
    h = mix64(h ^ (int(stream) & MASK64))
    return mix64(h ^ (int(step) & MASK64))


def draw(key: int, uid: int) -> float:
    """A float in [0, 1) for one cell: the top 53 bits of splitmix64 of ``key + uid * golden``."""
    z = mix64((key + (int(uid) & MASK64) * GOLDEN) & MASK64)
    return float(z >> 11) * TWO_POW_MINUS_53


def uniform(seed: int, stream: int, uid: int, step: int) -> float:
    """A float in [0, 1) keyed by (seed, stream, uid, step)."""
    return draw(stream_key(seed, stream, step), uid)


def normal(seed: int, stream_a: int, stream_b: int, uid: int, step: int) -> float:
    """A standard normal by Box-Muller from two keyed uniforms."""
    u1 = 1.0 - uniform(seed, stream_a, uid, step)  # in (0, 1]
    u2 = uniform(seed, stream_b, uid, step)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def rate_to_probability(rate_per_h: float, dt_h: float) -> float:
    """Probability of at least one event of a Poisson process in one step."""
    return -math.expm1(-rate_per_h * dt_h)


# ---------------------------------------------------------------------------------------
# Lattice geometry
# ---------------------------------------------------------------------------------------
def neighbour_sites(i: int, width: int, rows: int, geometry: int, row_lo: int = 0, row_hi: int | None = None):
    """Von Neumann neighbours of site ``i`` in the order left, right, down, up.

    Sideways always wraps.  The dish wraps vertically too; in the epidermis a vertical
    neighbour exists only inside the row band ``[row_lo, row_hi)``, and only when the
    band is more than one row high.  A site may appear twice on a lattice two sites wide
    or high (left == right), as in the kernels.
    """
    row_hi = rows if row_hi is None else row_hi
    row, col = divmod(i, width)
    sites = [row * width + (col - 1) % width, row * width + (col + 1) % width]
    if geometry == DISH:
        sites += [((row - 1) % rows) * width + col, ((row + 1) % rows) * width + col]
    elif row_hi - row_lo > 1:
        if row - 1 >= row_lo:
            sites.append((row - 1) * width + col)
        if row + 1 < row_hi:
            sites.append((row + 1) * width + col)
    return sites


def count_occupied_neighbours(i: int, width: int, rows: int, geometry: int, phase) -> int:
    """Occupied neighbours for contact inhibition (the whole lattice, no row band)."""
    return sum(1 for j in neighbour_sites(i, width, rows, geometry) if phase[j] != EMPTY)


def choose_free_neighbour(i: int, width: int, rows: int, geometry: int, row_lo: int, row_hi: int, phase,
                          draw: float):
    """The ``int(draw * n_free)``-th free neighbour in neighbour order, or None."""
    free = [j for j in neighbour_sites(i, width, rows, geometry, row_lo, row_hi) if phase[j] == EMPTY]
    if not free:
        return None
    return free[int(draw * len(free))]


# ---------------------------------------------------------------------------------------
# Small per-cell rules
# ---------------------------------------------------------------------------------------
def gero_threshold_at_birth(cells, seed: int, uid: int) -> float:
    """Lognormal geroconversion threshold, keyed by the cell's uid at step 0."""
    z = normal(seed, S_THRESHOLD_A, S_THRESHOLD_B, uid, 0)
    return cells.gero_threshold_median * math.exp(cells.gero_threshold_sigma * z)


def progenitor_division_budget(cells, seed: int, uid: int, step: int) -> int:
    """Transit-amplifying divisions, uniform on [min, max]."""
    lo, hi = cells.progenitor_divisions_min, cells.progenitor_divisions_max
    return lo + int(uniform(seed, S_DIVISIONS, uid, step) * (hi - lo + 1))


def newborn_cycle_position(cells, seed: int, uid: int, step: int) -> float:
    """0, or minus an exponential G0 rest in units of its mean."""
    if cells.rest_mean_h <= 0.0:
        return 0.0
    return math.log(1.0 - uniform(seed, S_REST, uid, step))


def cycle_hours(kind: int, cells) -> float:
    if kind == STEM:
        return cells.cycle_h * cells.stem_cycle_factor
    if kind == FIBROBLAST:
        return cells.fibroblast_cycle_h
    return cells.cycle_h


def logistic_hypertrophy(mass: float, growth_drive: float, cells, dt: float) -> float:
    """Exact logistic growth over one step towards ``mass_max``."""
    m_max = cells.mass_max
    if mass >= m_max:
        return mass
    decay = math.exp(-cells.hypertrophy_rate_per_h * growth_drive * dt)
    return m_max / (1.0 + (m_max / mass - 1.0) * decay)


@dataclass(frozen=True)
class StepInputs:
    """Step 1 in numbers."""

    drive: float           # environmental mTOR drive (before contact and drugs)
    inducer: float
    damage_p: float        # per-cell damage probability this step
    clear_p: float         # per-senescent-cell clearance probability this step
    s6k_row: np.ndarray    # remaining S6K activity per row (drugs)
    e4bp_row: np.ndarray   # remaining 4E-BP1 activity per row


# ---------------------------------------------------------------------------------------
# The reference simulation
# ---------------------------------------------------------------------------------------
class RunSetup:
    """What the two plain-Python rule sets (this reference and ``mesa_agents``) share that is
    not a rule: the run's constants, the clock and the schedule of environment changes."""

    def setup_run(self, params: Params, seed: int) -> None:
        sim = params.simulation
        self.params = params
        self.cells = params.cells
        self.seed = int(seed)
        self.dt = float(sim.dt_h)
        self.geometry = DISH if sim.geometry == "dish" else EPIDERMIS
        self.basal_row = sim.dermis_rows if self.geometry == EPIDERMIS else 0
        self.environment = params.environment
        self.schedule = sorted(params.schedule, key=lambda event: event.time_h)
        self.next_event = 0
        self.step_index = 0
        self.events = np.zeros(N_EVENTS, np.int64)
        cells = self.cells
        self.p21_relax = 1.0 - math.exp(-self.dt / cells.p21_tau_h)
        self.p16_relax = 1.0 - math.exp(-self.dt / cells.p16_tau_h)
        self.senescent_death_p = rate_to_probability(cells.senescent_death_per_h, self.dt)
        self.death_p = rate_to_probability(cells.death_per_h, self.dt)

    @property
    def time_h(self) -> float:
        return self.step_index * self.dt

    def set_environment(self, **changes) -> None:
        """Change environment values now, e.g. ``set_environment(rapamycin_nM=500)``; validated
        before it replaces the old environment, so a bad value changes nothing."""
        self.environment = Environment.model_validate({**self.environment.model_dump(), **changes})

    def apply_schedule(self) -> None:
        while self.next_event < len(self.schedule) and self.schedule[self.next_event].time_h <= self.time_h + 1e-9:
            self.set_environment(**self.schedule[self.next_event].set)
            self.next_event += 1


class ReferenceSimulation(RunSetup):
    """``ReferenceSimulation(params, seed, state)``; ``.step()`` advances one ``dt_h``.

    ``state`` is copied (take it from ``Simulation(params, seed).state``).  The counters
    ``events``, ``n_cells`` and ``n_senescent`` mean what they mean on the engine; in
    addition ``branches`` counts the rule branches taken (pushes, contact inhibition,
    stem renewal, ...) so tests can tell that a comparison exercised them.
    """

    def __init__(self, params: Params, seed: int, state: CellState):
        self.setup_run(params, seed)
        self.state = state.copy()
        self.branches: Counter = Counter()
        self.n_cells, self.n_senescent = self.count_cells()

    # ---- bookkeeping ----------------------------------------------------------------
    def count_cells(self) -> tuple[int, int]:
        """Live and senescent cells, counted on the lattice."""
        phase = self.state.phase
        return int(np.count_nonzero(phase != EMPTY)), int(np.count_nonzero(phase == SENESCENT))

    # ---- one step ---------------------------------------------------------------------
    def step(self) -> None:
        self.apply_schedule()
        inputs = self.environment_inputs()
        self.diffuse_sasp()
        self.update_all_cells(inputs)
        self.ordered_pass()
        self.n_cells, self.n_senescent = self.count_cells()
        self.step_index += 1

    # 1. environment ----------------------------------------------------------------------
    def environment_inputs(self) -> StepInputs:
        """Step 1's numbers come from the shared ``inputs.step_inputs`` (not under test here)."""
        shared = step_inputs(self.params, self.environment, self.time_h, self.n_cells, self.n_senescent,
                             self.state.rows, self.basal_row)
        return StepInputs(drive=shared.drive, inducer=shared.inducer, damage_p=shared.damage_p,
                          clear_p=shared.clear_p, s6k_row=shared.s6k_row, e4bp_row=shared.e4bp_row)

    def diffuse_sasp(self) -> None:
        """Explicit diffusion with decay, in the shared sub-step plan (inputs.sasp_substeps)."""
        substeps, coef, keep = sasp_substeps(self.cells, self.dt)
        for _ in range(substeps):
            self.state.sasp = self.diffusion_substep(self.state.sasp, coef, keep)

    def diffusion_substep(self, field: np.ndarray, coef: float, keep: float) -> np.ndarray:
        """``keep * (centre + coef * laplacian)``; the epidermis has no-flux top and bottom."""
        s = self.state
        width, rows = s.width, s.rows
        out = np.empty_like(field)
        for row in range(rows):
            if self.geometry == DISH:
                below, above = (row - 1) % rows, (row + 1) % rows
            else:
                below = row - 1 if row > 0 else row
                above = row + 1 if row < rows - 1 else row
            for col in range(width):
                centre = field[row * width + col]
                # float32 + float32 stays float32 in the kernel: same here with NumPy scalars
                around = (field[row * width + (col - 1) % width] + field[row * width + (col + 1) % width]
                          + field[below * width + col] + field[above * width + col])
                laplacian = float(around) - 4.0 * float(centre)
                out[row * width + col] = keep * (float(centre) + coef * laplacian)
        return out

    # 2-7. per-cell rules (each cell reads only itself, its site and its neighbours' occupancy)
    def update_all_cells(self, inputs: StepInputs) -> None:
        s = self.state
        for i in range(s.capacity):
            if s.phase[i] == EMPTY:
                continue
            s.pending[i] = self.update_cell(i, inputs)

    def update_cell(self, i: int, inputs: StepInputs) -> int:
        """Steps 2-7 for the cell at site ``i``; returns its pending action."""
        s = self.state
        phase, kind = int(s.phase[i]), int(s.kind[i])
        gero_drive, growth_drive = self.signalling(i, inputs)
        blocked = self.cdk_inhibitors(i, phase, kind, inputs, gero_drive)
        s.age_h[i] = float(s.age_h[i]) + self.dt
        if kind == DIFFERENTIATED:
            action = self.differentiated_fate(i)
        elif phase == CYCLING:
            action = self.cycling_fate(i, kind, blocked, growth_drive)
        elif phase == ARRESTED:
            action = self.arrested_fate(i, blocked, gero_drive, growth_drive)
        else:
            action = self.senescent_fate(i, gero_drive, growth_drive, inputs)
        if action == NONE and phase != SENESCENT and self.death_p > 0.0 and \
                0.0 <= self.event_draw - inputs.damage_p < self.death_p:
            action = DIE  # background death of any cell that is not senescent
        return action

    def signalling(self, i: int, inputs: StepInputs) -> tuple[float, float]:
        """2. drive x contact (x stem factor) -> s6k, e4bp -> (gero drive, growth drive)."""
        s, cells = self.state, self.cells
        drive = inputs.drive
        if cells.contact_inhibition_max > 0.0:
            crowd = count_occupied_neighbours(i, s.width, s.rows, self.geometry, s.phase) / 4.0
            drive *= 1.0 - cells.contact_inhibition_max * crowd * crowd
            self.branches["contact_crowded"] += crowd > 0.0
        if int(s.kind[i]) == STEM:
            drive *= cells.stem_mtor_factor
        row = i // s.width
        s6k = drive * float(inputs.s6k_row[row])
        e4bp = drive * float(inputs.e4bp_row[row])
        gero_drive = cells.w_gero * s6k + (1.0 - cells.w_gero) * e4bp
        growth_drive = cells.w_grow * s6k + (1.0 - cells.w_grow) * e4bp
        return gero_drive, growth_drive

    def cdk_inhibitors(self, i: int, phase: int, kind: int, inputs: StepInputs, gero_drive: float) -> bool:
        """3. p21 and p16 relax to their drivers, rise slowly, jump on damage; blocked?"""
        s, cells = self.state, self.cells
        x21 = float(s.p21[i])
        target21 = min(1.0, inputs.inducer * cells.inducer_to_p21 + cells.sasp_to_p21 * float(s.sasp[i]))
        x21 += (target21 - x21) * self.p21_relax
        x16 = float(s.p16[i])
        x16 += (min(1.0, inputs.inducer * cells.inducer_to_p16) - x16) * self.p16_relax
        rise = cells.p16_rise_age_per_h
        if phase == SENESCENT:
            rise += cells.p16_rise_senescent_per_h
        elif phase == ARRESTED and kind != DIFFERENTIATED:
            rise += cells.p16_rise_arrested_per_h * gero_drive  # late marker, mTOR-driven
        x16 += rise * self.dt * (1.0 - x16)
        # one uniform per cell and step: [0, damage) a DNA-damage hit, then clearance, death
        self.event_draw = 1.0
        if inputs.damage_p > 0.0 or self.death_p > 0.0 or phase == SENESCENT:
            self.event_draw = uniform(self.seed, S_EVENTS, int(s.uid[i]), self.step_index)
        if self.event_draw < inputs.damage_p:
            x21 = min(1.0, x21 + cells.damage_p21_jump)
            x16 = min(1.0, x16 + cells.damage_p16_jump)
            self.branches["damage_event"] += 1
        s.p21[i] = x21
        s.p16[i] = x16
        # the decision reads the unrounded values, as the kernel does
        return x21 > cells.p21_threshold or x16 > cells.p16_threshold

    def differentiated_fate(self, i: int) -> int:
        """7. shed when the transit time is reached (compared on the stored float32)."""
        s = self.state
        s.arrest_h[i] = float(s.arrest_h[i]) + self.dt
        return SHED if float(s.arrest_h[i]) >= self.cells.transit_h else NONE

    def cycling_fate(self, i: int, kind: int, blocked: bool, growth_drive: float) -> int:
        """4. arrest, G0 rest, or growth and cycle progress; ask to divide at the end."""
        s, cells, dt = self.state, self.cells, self.dt
        if blocked:
            s.phase[i] = ARRESTED
            s.arrest_h[i] = 0.0
            self.events[E_ARRESTS] += 1
            return NONE
        c = float(s.cycle[i])
        if c < 0.0:
            row, col = divmod(i, s.width)
            left, right = row * s.width + (col - 1) % s.width, row * s.width + (col + 1) % s.width
            if self.geometry != DISH and kind in (STEM, PROGENITOR) and \
                    (s.phase[left] == EMPTY or s.phase[right] == EMPTY):
                c = 0.0  # a free basal neighbour wakes a resting basal cell
                self.branches["g0_woken_by_gap"] += 1
            else:
                c = min(0.0, c + dt / cells.rest_mean_h)
                self.branches["g0_rest"] += 1
        elif c < 1.0:
            hours = cycle_hours(kind, cells)
            c += growth_drive * dt / hours
            s.mass[i] = min(float(s.mass[i]) * math.exp(LN2 * growth_drive * dt / hours), cells.mass_max)
        s.cycle[i] = c
        if c >= 1.0 and float(s.mass[i]) >= cells.division_mass:
            if kind == PROGENITOR and int(s.divisions_left[i]) <= 0:
                self.branches["exhausted_waiting"] += 1
                return NONE  # waits until a dividing neighbour displaces it
            if self.geometry == DISH and count_occupied_neighbours(i, s.width, s.rows, DISH, s.phase) == 4:
                # contact-inhibited in the dish: no free neighbour now, so it does not ask
                # (a site freed later in this step's ordered pass is not taken)
                self.branches["contact_inhibited"] += 1
                return NONE
            return DIVIDE
        return NONE

    def arrested_fate(self, i: int, blocked: bool, gero_drive: float, growth_drive: float) -> int:
        """5. resume if unblocked (RPP kept); else hypertrophy and geroconversion."""
        s, cells, dt = self.state, self.cells, self.dt
        if not blocked:
            s.phase[i] = CYCLING
            s.arrest_h[i] = 0.0
            self.events[E_RESUMES] += 1
            return NONE
        s.arrest_h[i] = float(s.arrest_h[i]) + dt
        s.mass[i] = logistic_hypertrophy(float(s.mass[i]), growth_drive, cells, dt)
        g = float(s.gero[i]) + cells.gero_rate_per_h * gero_drive * dt
        s.gero[i] = g
        if g >= float(s.gero_threshold[i]):  # unrounded progress against the stored threshold
            s.phase[i] = SENESCENT
            self.events[E_CONVERSIONS] += 1
        return NONE

    def senescent_fate(self, i: int, gero_drive: float, growth_drive: float, inputs: StepInputs) -> int:
        """6. hypertrophy, SASP secretion in proportion to mTOR, clearance, death."""
        s, cells, dt = self.state, self.cells, self.dt
        s.arrest_h[i] = float(s.arrest_h[i]) + dt
        s.mass[i] = logistic_hypertrophy(float(s.mass[i]), growth_drive, cells, dt)
        s.sasp[i] = float(s.sasp[i]) + cells.sasp_secretion_per_h * gero_drive * dt
        v = self.event_draw - inputs.damage_p
        if 0.0 <= v < inputs.clear_p:
            return CLEAR
        if 0.0 <= v - inputs.clear_p < self.senescent_death_p:
            return DIE
        return NONE

    # the ordered pass -------------------------------------------------------------------
    def ordered_pass(self) -> None:
        """Carry out pending actions in site-index order (the lower index wins a site).

        Pushes move cells only to higher indices, with their pending action, so every
        cell is visited once.
        """
        s = self.state
        for i in range(s.capacity):
            action = int(s.pending[i])
            if action == NONE:
                continue
            s.pending[i] = NONE
            if action in (CLEAR, DIE, SHED):
                self.remove(i, action)
            else:
                self.divide(i)

    def remove(self, i: int, action: int) -> None:
        s = self.state
        if s.phase[i] == SENESCENT:
            self.events[E_SENESCENT_LOST] += 1
        self.events[{CLEAR: E_CLEARANCES, DIE: E_DEATHS, SHED: E_SHED}[action]] += 1
        s.phase[i] = EMPTY

    def move(self, src: int, dst: int) -> None:
        """A cell (with its pending action) moves; its old site becomes free."""
        s = self.state
        for name in MOVING_FIELDS:
            array = getattr(s, name)
            array[dst] = array[src]
        s.phase[src] = EMPTY
        s.pending[src] = NONE

    def push_column(self, col: int, first_row: int) -> int:
        """Free site (first_row, col): the stack above moves up one; a full column sheds its top."""
        s = self.state
        top = first_row
        while top < s.rows and s.phase[top * s.width + col] != EMPTY:
            top += 1
        self.branches["push"] += 1
        if top == s.rows:
            top = s.rows - 1
            shed = top * s.width + col
            if s.phase[shed] == SENESCENT:
                self.events[E_SENESCENT_LOST] += 1
            self.events[E_SHED] += 1
            s.phase[shed] = EMPTY
            s.pending[shed] = NONE
            self.branches["push_shed_top"] += 1
        for r in range(top, first_row, -1):
            self.move((r - 1) * s.width + col, r * s.width + col)
        return first_row * s.width + col

    def delaminate(self, i: int) -> None:
        """An exhausted progenitor leaves the basal row for the first suprabasal site."""
        s = self.state
        s.kind[i] = DIFFERENTIATED
        s.phase[i] = ARRESTED
        s.arrest_h[i] = 0.0
        s.cycle[i] = 0.0
        self.events[E_DIFFERENTIATIONS] += 1
        row, col = divmod(i, s.width)
        if row + 1 < s.rows:
            self.move(i, self.push_column(col, row + 1))

    def basal_division(self, i: int, row: int, col: int, draw: float):
        """Epidermal basal division: (daughter site or None, daughter kind, daughter phase).

        A free basal neighbour keeps the daughter basal (a stem's daughter stays a stem
        with probability ``stem_renew_into_gap``); otherwise the daughter differentiates
        and pushes the column above the mother up by one.  A stem may first turn into a
        progenitor (symmetric loss); a progenitor mother spends one division.
        """
        s, cells, seed, step = self.state, self.cells, self.seed, self.step_index
        mother, kind = int(s.uid[i]), int(s.kind[i])
        dst = choose_free_neighbour(i, s.width, s.rows, self.geometry, row, row + 1, s.phase, draw)
        if dst is None and row + 1 >= s.rows:
            return None, kind, CYCLING  # no room at all: the mother is left unchanged
        if dst is None:  # crowding: an exhausted progenitor neighbour makes way
            candidates = []
            for j in (row * s.width + (col - 1) % s.width, row * s.width + (col + 1) % s.width):
                if s.kind[j] == PROGENITOR and s.phase[j] == CYCLING and int(s.divisions_left[j]) <= 0 \
                        and j not in candidates:
                    candidates.append(j)
            if candidates:
                dst = candidates[0] if len(candidates) == 1 or draw < 0.5 else candidates[1]
                self.delaminate(dst)
                self.branches["delamination_by_crowding"] += 1
        fate = uniform(seed, S_FATE, mother, step)
        if kind == STEM and fate < cells.stem_symmetric_loss:
            s.kind[i] = PROGENITOR
            s.divisions_left[i] = progenitor_division_budget(cells, seed, mother, step)
            self.branches["stem_symmetric_loss"] += 1
        if s.kind[i] == PROGENITOR:
            s.divisions_left[i] = int(s.divisions_left[i]) - 1
        if dst is not None:
            if kind == STEM and fate >= cells.stem_symmetric_loss and \
                    uniform(seed, S_RENEW, mother, step) < cells.stem_renew_into_gap:
                self.branches["stem_renewal"] += 1
                return dst, STEM, CYCLING
            return dst, PROGENITOR, CYCLING
        return self.push_column(col, row + 1), DIFFERENTIATED, ARRESTED

    def divide(self, i: int) -> None:
        s, cells, seed, step = self.state, self.cells, self.seed, self.step_index
        mother, kind = int(s.uid[i]), int(s.kind[i])
        row, col = divmod(i, s.width)
        draw = uniform(seed, S_DIRECTION, mother, step)
        daughter_kind, daughter_phase = kind, CYCLING
        if self.geometry == DISH:
            dst = choose_free_neighbour(i, s.width, s.rows, DISH, 0, s.rows, s.phase, draw)
        elif kind == FIBROBLAST:
            dst = choose_free_neighbour(i, s.width, s.rows, EPIDERMIS, 0, self.basal_row, s.phase, draw)
        else:
            dst, daughter_kind, daughter_phase = self.basal_division(i, row, col, draw)
        if dst is None:
            self.branches["contact_inhibited"] += 1  # waits at the end of its cycle
            return
        self.branches[f"division_kind_{kind}"] += 1
        child = s.next_uid
        s.next_uid += 1
        self.events[E_DIVISIONS] += 1
        self.events[E_BIRTHS] += 1
        half = float(s.mass[i]) * 0.5
        # the mother
        s.mass[i] = half
        s.gero[i] = 0.0
        s.age_h[i] = 0.0
        s.cycle[i] = newborn_cycle_position(cells, seed, mother, step)
        # the daughter
        s.uid[dst] = child
        s.kind[dst] = daughter_kind
        s.phase[dst] = daughter_phase
        s.pending[dst] = NONE
        s.mass[dst] = half
        s.p21[dst] = s.p21[i]
        s.p16[dst] = s.p16[i]
        s.gero[dst] = 0.0
        s.gero_threshold[dst] = gero_threshold_at_birth(cells, seed, child)
        s.age_h[dst] = 0.0
        s.arrest_h[dst] = 0.0
        s.clone[dst] = s.clone[i]
        if daughter_kind == PROGENITOR:
            s.divisions_left[dst] = (s.divisions_left[i] if kind == PROGENITOR
                                     else progenitor_division_budget(cells, seed, child, step))
        else:
            s.divisions_left[dst] = 0
        s.cycle[dst] = newborn_cycle_position(cells, seed, child, step) if daughter_phase == CYCLING else 0.0
        # exhausted progenitors leave the cycle at once and wait to delaminate
        for site in (i, dst):
            if s.kind[site] == PROGENITOR and int(s.divisions_left[site]) <= 0:
                s.cycle[site] = 1.0
        # replication stress: each of the two cells may take a DNA-damage hit
        for cell, site in ((mother, i), (child, dst)):
            if uniform(seed, S_REPLICATION, cell, step) < cells.damage_per_division:
                s.p21[site] = min(1.0, float(s.p21[site]) + cells.damage_p21_jump)
                s.p16[site] = min(1.0, float(s.p16[site]) + cells.damage_p16_jump)
                self.branches["replication_damage"] += 1
