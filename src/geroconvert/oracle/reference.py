"""A slow, plain-Python reference of one simulation step, for testing the numba kernels.

It follows the step order of :mod:`geroconvert.core.engine` (written once, in that module's
docstring) with the same rules and the same random-number keys (docs/design.md, random
streams section), but in ordinary Python, one cell at a time, no numba.  The rules
themselves live in :mod:`geroconvert.oracle.rules` (shared with the Mesa agents of
:mod:`geroconvert.oracle.mesa_agents`); this module holds the lattice as the engine's
arrays (:class:`~geroconvert.core.state.CellState`), shows the rules one site of it at a
time (:class:`SiteView`) and does what is particular to arrays: neighbour indices,
moving a cell's values from one index to another, pushing a column, diffusing the SASP
field.  It is meant for lattices of a few hundred sites; ``tests/oracle/test_reference.py`` runs
it side by side with :class:`geroconvert.core.engine.Simulation` and requires the same
lattice at every step.

Numbers: every quantity is computed in Python floats (IEEE float64) and stored to the
float32 arrays exactly where the kernels store (the rules round with ``rules.f32``,
which an assignment into a float32 array repeats without change), and decisions compare
the unrounded float64 value where the kernels do (``p21``, ``p16``, cycle progress,
``gero``) and the stored float32 value where they re-read the array (``mass``,
``arrest_h``, thresholds).  The one place where the kernels compute in float32 is the
sum of the four neighbours in the SASP diffusion stencil (float32 array elements added
to each other stay float32 in numba); the reference does the same with NumPy float32
scalars.

Random numbers come from :func:`uniform` / :func:`normal` below: splitmix64 on Python
integers masked to 64 bits, written independently of
:func:`geroconvert.core.kernels.rng.uniform` and equal to it (a test checks it bit for bit).

Parameters are read by name from :class:`~geroconvert.parameters.models.CellParams` (not from
``params.kernel_constants``), so a mix-up in that vector would show as a mismatch.
Step 1's scalar inputs (the environmental mTOR drive and the drug factors of each
branch) are shared with the engine through :mod:`geroconvert.core.inputs`.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from geroconvert.core.inputs import StepInputs, neighbour_count, rate_to_probability, sasp_substeps, step_inputs
from geroconvert.core.layout import DIFFERENTIATED, DISH, EMPTY, EPIDERMIS, N_EVENTS, NONE, PROGENITOR, SENESCENT, STEM
from geroconvert.core.schedule import Schedule
from geroconvert.core.state import CELL_FIELDS, MOVING_FIELDS, CellState
from geroconvert.oracle import rules
from geroconvert.parameters.models import Environment, Params

# ---------------------------------------------------------------------------------------
# Counter-based random numbers: splitmix64 on Python integers (docs/design.md, random streams)
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


# ---------------------------------------------------------------------------------------
# Lattice geometry
# ---------------------------------------------------------------------------------------
def lateral_sites(i: int, plane: int, width: int) -> list[int]:
    """Site ``i``'s neighbours in its layer, in the order left, right, front, back.

    A layer is a row of ``plane`` sites (``width == plane``: left and right only) or a sheet
    ``width`` sites wide and ``plane // width`` deep; both wrap.  Left and right may be one
    site (a row two sites wide), as in the kernels; front and back, on a sheet two sites
    deep, are given once.
    """
    row, col = divmod(i, plane)
    y, x = divmod(col, width)
    start = row * plane + y * width
    sites = [start + (x - 1) % width, start + (x + 1) % width]
    depth = plane // width
    if depth > 1:
        front = row * plane + ((y - 1) % depth) * width + x
        back = row * plane + ((y + 1) % depth) * width + x
        sites += [front] if back == front else [front, back]
    return sites


def neighbour_sites(
    i: int, plane: int, width: int, rows: int, geometry: int, row_lo: int = 0, row_hi: int | None = None
):
    """Von Neumann neighbours of site ``i`` in the order left, right (front, back), down, up.

    Sideways always wraps.  The dish wraps vertically too; in the epidermis a vertical
    neighbour exists only inside the row band ``[row_lo, row_hi)``, and only when the
    band is more than one row high.
    """
    row_hi = rows if row_hi is None else row_hi
    row, col = divmod(i, plane)
    sites = lateral_sites(i, plane, width)
    if geometry == DISH:
        sites += [((row - 1) % rows) * plane + col, ((row + 1) % rows) * plane + col]
    elif row_hi - row_lo > 1:
        if row - 1 >= row_lo:
            sites.append((row - 1) * plane + col)
        if row + 1 < row_hi:
            sites.append((row + 1) * plane + col)
    return sites


def window_sites(i: int, plane: int, width: int, reach: int) -> tuple[list[int], int]:
    """(the other sites within ``reach`` of site ``i`` in its layer, each once; the number
    of sites in the window, ``i`` included): a stretch of the row, a square of a sheet."""
    row, col = divmod(i, plane)
    y, x = divmod(col, width)
    depth = plane // width
    reach_x, reach_y = min(reach, (width - 1) // 2), min(reach, (depth - 1) // 2)
    sites = [
        row * plane + ((y + dy) % depth) * width + (x + dx) % width
        for dy in range(-reach_y, reach_y + 1)
        for dx in range(-reach_x, reach_x + 1)
        if (dx, dy) != (0, 0)
    ]
    return sites, (2 * reach_x + 1) * (2 * reach_y + 1)


# ---------------------------------------------------------------------------------------
# One site of the arrays, as the cell the rules expect
# ---------------------------------------------------------------------------------------
class SiteView:
    """The cell at site ``site`` of a :class:`CellState`, with one attribute per array.

    Reading gives a Python number (a float32 element widens exactly to a float);
    assigning writes into the array, so a float is stored rounded to float32 there.
    ``sasp`` is the site's field value; ``row`` and ``site`` say where the cell is.
    """

    __slots__ = ("state", "site")

    def __init__(self, state: CellState, site: int):
        self.state = state
        self.site = site

    @property
    def row(self) -> int:
        return self.site // self.state.plane


def _array_attribute(name: str) -> property:
    def read(view: SiteView):
        return getattr(view.state, name)[view.site].item()

    def write(view: SiteView, value) -> None:
        getattr(view.state, name)[view.site] = value

    return property(read, write, doc=f"``state.{name}`` at this site")


for _name in CELL_FIELDS:
    setattr(SiteView, _name, _array_attribute(_name))
del _name


# ---------------------------------------------------------------------------------------
# The reference simulation
# ---------------------------------------------------------------------------------------
class RunSetup:
    """What the two plain-Python oracles (this reference and ``mesa_agents``) share that is
    not a rule: the run's constants, the clock, the schedule of environment changes, the
    random numbers, step 1's inputs and the counters (the "world" of :mod:`.rules`).
    A subclass provides ``rows``, ``n_cells``, ``n_senescent`` and the lattice operations."""

    rows: int
    n_cells: int
    n_senescent: int

    def setup_run(self, params: Params, seed: int) -> None:
        sim = params.simulation
        self.params = params
        self.cells = params.cells
        self.seed = int(seed)
        self.dt = float(sim.dt_h)
        self.geometry = DISH if sim.geometry == "dish" else EPIDERMIS
        self.basal_row = sim.dermis_rows if self.geometry == EPIDERMIS else 0
        self.n_neighbours = neighbour_count(sim)
        self.environment = params.environment
        self.schedule = Schedule(params.schedule)  # the engine's rule for when events take effect
        self.step_index = 0
        self.events = np.zeros(N_EVENTS, np.int64)
        self.branches: Counter = Counter()  # rule branches taken (see rules.py), for the tests
        cells = self.cells
        self.p21_relax = 1.0 - math.exp(-self.dt / cells.p21_tau_h)
        self.p16_relax = 1.0 - math.exp(-self.dt / cells.p16_tau_h)
        self.senescent_death_p = rate_to_probability(cells.senescent_death_per_h, self.dt)
        self.death_p = rate_to_probability(cells.death_per_h, self.dt)
        self.damaged_exit_p = rate_to_probability(cells.damaged_exit_per_h, self.dt)
        self._keys: dict[int, int] = {}  # this step's stream keys, by stream
        self._keys_step = -1

    @property
    def time_h(self) -> float:
        return self.step_index * self.dt

    def set_environment(self, **changes) -> None:
        """Change environment values now, e.g. ``set_environment(rapamycin_nM=500)``; validated
        before it replaces the old environment, so a bad value changes nothing."""
        self.environment = Environment.model_validate({**self.environment.model_dump(), **changes})

    def apply_schedule(self) -> None:
        for changes in self.schedule.due(self.time_h):
            self.set_environment(**changes)

    def environment_inputs(self) -> StepInputs:
        """Step 1's numbers, from the function the engine uses (``core.inputs``, not under test here)."""
        return step_inputs(
            self.params, self.environment, self.time_h, self.n_cells, self.n_senescent, self.rows, self.basal_row
        )

    def uniform(self, stream: int, uid: int) -> float:
        """This step's random number for one cell and one kind of decision."""
        if self._keys_step != self.step_index:  # a stream's key hashes (seed, stream, step) once a step
            self._keys, self._keys_step = {}, self.step_index
        key = self._keys.get(stream)
        if key is None:
            key = self._keys[stream] = stream_key(self.seed, stream, self.step_index)
        return draw(key, uid)

    def normal(self, stream_a: int, stream_b: int, uid: int, step: int) -> float:
        return normal(self.seed, stream_a, stream_b, uid, step)


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
        self.rows = self.state.rows
        self.width = self.state.width
        self.n_cells, self.n_senescent = self.count_cells()

    def count_cells(self) -> tuple[int, int]:
        """Live and senescent cells, counted on the lattice."""
        phase = self.state.phase
        return int(np.count_nonzero(phase != EMPTY)), int(np.count_nonzero(phase == SENESCENT))

    # ---- one step ---------------------------------------------------------------------
    def step(self) -> None:
        self.apply_schedule()
        inputs = self.environment_inputs()
        self.diffuse_sasp()
        s = self.state
        for i in range(s.capacity):  # 2-7. every cell decides
            if s.phase[i] != EMPTY:
                rules.decide(SiteView(s, i), self, inputs)
        # 8. in site order (the lower index wins a site); pushes move cells only to higher
        # indices, with their pending action, so every cell is visited once
        for i in range(s.capacity):
            if s.pending[i] != NONE:
                rules.act(SiteView(s, i), self)
        self.n_cells, self.n_senescent = self.count_cells()
        self.step_index += 1

    def diffuse_sasp(self) -> None:
        """Explicit diffusion with decay, in the shared sub-step plan (inputs.sasp_substeps)."""
        substeps, coef, keep = sasp_substeps(self.cells, self.dt, self.n_neighbours)
        for _ in range(substeps):
            self.state.sasp = self.diffusion_substep(self.state.sasp, coef, keep)

    def diffusion_substep(self, field: np.ndarray, coef: float, keep: float) -> np.ndarray:
        """``keep * (centre + coef * laplacian)``; the epidermis has no-flux top and bottom.

        Every layer neighbour counts, a site twice where it is on both sides (a row or a
        sheet two sites across), as in the kernel's stencil."""
        s = self.state
        plane, width, rows = s.plane, s.width, s.rows
        depth = plane // width
        out = np.empty_like(field)
        for row in range(rows):
            if self.geometry == DISH:
                below, above = (row - 1) % rows, (row + 1) % rows
            else:
                below = row - 1 if row > 0 else row
                above = row + 1 if row < rows - 1 else row
            for col in range(plane):
                y, x = divmod(col, width)
                centre = field[row * plane + col]
                # float32 + float32 stays float32 in the kernel: same here with NumPy scalars
                around = (
                    field[row * plane + y * width + (x - 1) % width] + field[row * plane + y * width + (x + 1) % width]
                )
                if depth > 1:
                    around = around + field[row * plane + ((y - 1) % depth) * width + x]
                    around = around + field[row * plane + ((y + 1) % depth) * width + x]
                around = around + field[below * plane + col] + field[above * plane + col]
                laplacian = float(around) - self.n_neighbours * float(centre)
                out[row * plane + col] = keep * (float(centre) + coef * laplacian)
        return out

    # ---- the lattice, as the rules ask for it (sites are array indices) ----------------
    def occupied_neighbours(self, cell: SiteView) -> int:
        s = self.state
        sites = neighbour_sites(cell.site, s.plane, s.width, s.rows, self.geometry)
        return sum(1 for j in sites if s.phase[j] != EMPTY)

    def basal_gap(self, cell: SiteView) -> bool:
        s = self.state
        return any(s.phase[j] == EMPTY for j in lateral_sites(cell.site, s.plane, s.width))

    def free_neighbour(self, cell: SiteView, draw: float, row_lo: int = 0, row_hi: int | None = None):
        """The ``int(draw * n_free)``-th free neighbour in neighbour order, or None."""
        s = self.state
        sites = neighbour_sites(cell.site, s.plane, s.width, s.rows, self.geometry, row_lo, row_hi)
        free = [j for j in sites if s.phase[j] == EMPTY]
        return free[int(draw * len(free))] if free else None

    def sideways_neighbours(self, cell: SiteView) -> list[SiteView]:
        s = self.state  # dict.fromkeys: on a row two sites wide, left and right are one site
        sites = dict.fromkeys(lateral_sites(cell.site, s.plane, s.width))
        return [SiteView(s, j) for j in sites if s.phase[j] != EMPTY]

    def layer_window(self, cell: SiteView, reach: int) -> tuple[list[SiteView], int]:
        s = self.state
        sites, n_sites = window_sites(cell.site, s.plane, s.width, reach)
        return [SiteView(s, j) for j in sites if s.phase[j] != EMPTY], n_sites

    def new_uid(self) -> int:
        uid = self.state.next_uid
        self.state.next_uid += 1
        return uid

    def place_daughter(self, site: int, values: dict) -> SiteView:
        daughter = SiteView(self.state, site)
        for name, value in values.items():
            setattr(daughter, name, value)
        return daughter

    def remove(self, cell: SiteView) -> None:
        self.state.phase[cell.site] = EMPTY
        self.state.pending[cell.site] = NONE

    def move(self, cell: SiteView, dst: int) -> None:
        self.move_site(cell.site, dst)

    def move_site(self, src: int, dst: int) -> None:
        """A cell (with its pending action) moves; its old site becomes free."""
        s = self.state
        for name in MOVING_FIELDS:
            array = getattr(s, name)
            array[dst] = array[src]
        s.phase[src] = EMPTY
        s.pending[src] = NONE

    def push_column_above(self, cell: SiteView) -> int:
        """Free the site above ``cell``: the stack above moves up one; a full column sheds its top."""
        s = self.state
        plane = s.plane
        row, col = divmod(cell.site, plane)
        top = row + 1
        while top < s.rows and s.phase[top * plane + col] != EMPTY:
            top += 1
        if top == s.rows:
            top = s.rows - 1
            rules.shed_from_top(SiteView(s, top * plane + col), self)
        for r in range(top, row + 1, -1):
            self.move_site((r - 1) * plane + col, r * plane + col)
        return (row + 1) * plane + col


def clone_sizes(phase, kind, clone, labels) -> tuple[list[int], list[int]]:
    """Epidermal cells and basal cells (stem, progenitor) of each labelled clone, one cell at a
    time: the plain form of :func:`geroconvert.core.kernels.reduce.clone_sizes`."""
    position = {int(label): j for j, label in enumerate(labels)}
    cells, basal = [0] * len(labels), [0] * len(labels)
    for i in range(len(phase)):
        if phase[i] == EMPTY or kind[i] not in (STEM, PROGENITOR, DIFFERENTIATED):
            continue
        j = position.get(int(clone[i]))
        if j is not None:
            cells[j] += 1
            basal[j] += kind[i] != DIFFERENTIATED
    return cells, basal
