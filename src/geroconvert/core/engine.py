"""Simulation: steps the cell arrays through the rules, in one fixed order.

Step order (written here once; the kernels and the reference follow it):

1. Environment: apply schedule events due at the current time; compute the
   environmental mTOR drive, the per-row drug factors of the S6K and 4E-BP1 branches,
   the per-step damage probability of each row (age-related, plus the step's sunlight
   at the row's depth in an epidermis with [uv]) and the clearance probability from the
   senescent burden (Karin et al. 2019); diffuse and decay the SASP field.
2. Signalling, per cell: drive x contact (x stem factor for stem cells) -> s6k, e4bp ->
   gero drive, growth drive.
3. p21/p16: relax to their drivers (inducer, SASP at the site), damage kicks, slow
   p16 rise with age, in senescent cells, and in arrested cells in proportion to the
   gero drive (a late, mTOR-driven marker); blocked = above threshold.
4. CYCLING: blocked -> ARRESTED; else G0 rest, or growth and cycle progress; at the
   end of the cycle with enough mass the cell asks to divide (or an exhausted
   progenitor to differentiate).
5. ARRESTED: unblocked -> CYCLING (RPP kept); else hypertrophy and gero progress;
   gero >= threshold -> SENESCENT (irreversible).
6. SENESCENT: hypertrophy, SASP secretion in proportion to mTOR, clearance, death.
7. DIFFERENTIATED: shed when the transit time is reached.
   Steps 2-7 run in parallel (kernels.cells); then one ordered pass carries out the
   decided divisions, removals and pushes (kernels.divisions).
8. Record (every ``record_every_h``): tallies and event counts; RPP assays and
   snapshots at their times.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np

from geroconvert import interrupts
from geroconvert.core import layout as L
from geroconvert.core.inputs import kernel_constants, neighbour_count, sasp_substeps, step_inputs
from geroconvert.core.kernels import one_thread
from geroconvert.core.kernels.cells import update_cells
from geroconvert.core.kernels.divisions import apply_pending
from geroconvert.core.kernels.field import diffuse
from geroconvert.core.kernels.reduce import clone_sizes, in_cycle_by_kind, tally
from geroconvert.core.kernels.seeding import seed_dish, seed_epidermis
from geroconvert.core.readouts import summarise
from geroconvert.core.recorder import SERIES_UNITS, Recorder, Results
from geroconvert.core.schedule import Schedule
from geroconvert.core.state import CellState
from geroconvert.parameters.models import Environment, Params

MAX_UID = 2**32 - 1  # uid is uint32 (4 bytes per cell instead of 8)
ONE_THREAD_BELOW_SITES = 20_000  # smaller lattices run on one thread: waking threads costs more than the work


class Simulation:
    """``Simulation(params, seed=...)``; ``.step()``, ``.run(hours)`` -> :class:`Results`."""

    def __init__(self, params: Params, seed: int | None = None, state: CellState | None = None, record: bool = True):
        self.params = params
        sim = params.simulation
        self.seed = int(sim.seed if seed is None else seed)
        self.dt = sim.dt_h
        self.geometry = L.DISH if sim.geometry == "dish" else L.EPIDERMIS
        self.basal_row = sim.dermis_rows if self.geometry == L.EPIDERMIS else 0
        self.neighbours = neighbour_count(sim)
        self.k = kernel_constants(params.cells, self.dt, self.neighbours)
        self.environment = params.environment
        self._schedule = Schedule(params.schedule)
        self.step_index = 0
        self.events = np.zeros(L.N_EVENTS, np.int64)
        self._events_at_record = self.events.copy()
        self.state = state if state is not None else self._seed_state()
        self.clone_labels = self._label_basal_clones(relabel=state is not None)
        self.one_thread = self.state.capacity < ONE_THREAD_BELOW_SITES
        self.n_cells, self.n_senescent = self._count_live()
        self._record = record
        self.recorder: Recorder | None = None
        self.rpp_rows: list[tuple[float, float, int, int]] = []
        self.snapshots: dict[float, dict[str, np.ndarray]] = {}

    # ---- set-up -------------------------------------------------------------------
    def _seed_state(self) -> CellState:
        sim = self.params.simulation
        rows = sim.height + (sim.dermis_rows if self.geometry == L.EPIDERMIS else 0)
        state = CellState.empty(sim.width, rows, sim.depth)
        arrays = state.cell_arrays()
        if self.geometry == L.DISH:
            state.next_uid = seed_dish(state.plane, rows, sim.initial_density, arrays, self.k, self.seed)
        else:
            cells = self.params.cells
            rest = cells.rest_mean_h / (cells.rest_mean_h + cells.cycle_h)
            state.next_uid = seed_epidermis(
                state.plane,
                rows,
                self.basal_row,
                sim.initial_thickness_rows,
                sim.initial_density,
                cells.stem_fraction,
                cells.melanocyte_fraction,
                rest,
                arrays,
                self.k,
                self.seed,
            )
        return state

    def _label_basal_clones(self, relabel: bool) -> np.ndarray:
        """The clones followed by the recorder: those of the basal cells at the start of this
        simulation, sorted.  A freshly seeded epidermis has them already (each cell its own
        label).  A given state (a copied skin) is relabelled, as a tracing starts: each basal
        cell founds a new clone 0, 1, ... and every other cell gets -1 (not traced), so
        neither earlier lineages nor the suprabasal cells present at the start are counted.
        Labels only mark lineages: no rule reads them, so the dynamics are unchanged."""
        s = self.state
        if self.geometry != L.EPIDERMIS:
            return np.zeros(0, s.clone.dtype)
        basal = (s.phase != L.EMPTY) & ((s.kind == L.STEM) | (s.kind == L.PROGENITOR))
        if relabel:
            s.clone[:] = -1
            s.clone[basal] = np.arange(int(basal.sum()), dtype=s.clone.dtype)
        return np.unique(s.clone[basal])

    def _count_live(self) -> tuple[int, int]:
        phase = self.state.phase
        return int(np.count_nonzero(phase)), int(np.count_nonzero(phase == L.SENESCENT))

    @property
    def time_h(self) -> float:
        return self.step_index * self.dt

    def set_environment(self, **changes) -> None:
        """Change environment values now (validated), e.g. ``set_environment(rapamycin_nM=500)``."""
        # validated before it replaces the old environment, so a bad value changes nothing
        self.environment = Environment.model_validate({**self.environment.model_dump(), **changes})

    # ---- one step -------------------------------------------------------------------
    def _apply_schedule(self) -> None:
        for changes in self._schedule.due(self.time_h):
            self.set_environment(**changes)

    def step_inputs(self):
        """Step 1 in numbers: (p vector, s6k factor per row, e4bp factor per row, damage
        probability per row)."""
        inputs = step_inputs(
            self.params, self.environment, self.time_h, self.n_cells, self.n_senescent, self.state.rows, self.basal_row
        )
        p = np.zeros(L.N_P, np.float64)
        p[L.P_DRIVE] = inputs.drive
        p[L.P_INDUCER] = inputs.inducer
        p[L.P_DAMAGE_P] = inputs.damage_p
        p[L.P_CLEAR_P] = inputs.clear_p
        return p, inputs.s6k_row, inputs.e4bp_row, inputs.damage_p_row

    def _diffuse_sasp(self) -> None:
        substeps, coef, keep = sasp_substeps(self.params.cells, self.dt, self.neighbours)
        s = self.state
        for _ in range(substeps):
            diffuse(self.geometry, s.plane, s.width, s.rows, s.sasp, coef, keep)

    def step(self) -> None:
        """Advance one step of ``dt_h`` hours (the order is in the module docstring)."""
        with self._kernel_threads():
            self._step()

    @contextlib.contextmanager
    def _kernel_threads(self) -> Iterator[None]:
        """Small lattices run every kernel (step, tally, record) on one thread: waking the
        others costs more than the work, and on a busy machine far more (a record of a 64 x 64
        dish took 8 ms instead of 0.02 ms).  Results do not depend on the thread count."""
        with one_thread(self.one_thread):
            yield

    def _step(self) -> None:
        if self.state.next_uid + self.state.capacity > MAX_UID:  # a step adds at most one cell per site
            raise RuntimeError(
                f"this run has used {self.state.next_uid:,} cell ids, the most a run can hold "
                f"({MAX_UID:,}); split it into shorter runs or use a smaller lattice"
            )
        self._apply_schedule()
        p, s6k, e4bp, damage = self.step_inputs()
        self._diffuse_sasp()
        s = self.state
        arrays = s.cell_arrays()
        arrests, resumes, conversions = update_cells(
            self.geometry, s.plane, s.width, s.rows, arrays, self.k, p, s6k, e4bp, damage, self.seed, self.step_index
        )
        before = self.events.copy()
        s.next_uid = apply_pending(
            self.geometry,
            s.plane,
            s.width,
            s.rows,
            self.basal_row,
            arrays,
            self.k,
            self.seed,
            self.step_index,
            s.next_uid,
            self.events,
        )
        self.events[L.E_ARRESTS] += arrests
        self.events[L.E_RESUMES] += resumes
        self.events[L.E_CONVERSIONS] += conversions
        delta = self.events - before
        removed = delta[L.E_CLEARANCES] + delta[L.E_DEATHS] + delta[L.E_SHED]
        self.n_cells += int(delta[L.E_BIRTHS] - removed)
        self.n_senescent += int(conversions - delta[L.E_SENESCENT_LOST])
        self.step_index += 1

    # ---- a run ------------------------------------------------------------------------
    def tally(self):
        s = self.state
        with self._kernel_threads():
            return tally(s.cell_arrays(), self.params.cells.p16_positive)

    def _record_now(self) -> None:
        counts, p16pos, sums = self.tally()
        s = self.state
        thickness = counts[L.DIFFERENTIATED].sum() / s.plane if self.geometry == L.EPIDERMIS else 0.0
        assert self.recorder is not None
        self.recorder.record(
            self.time_h,
            counts,
            p16pos,
            sums,
            s.capacity,
            thickness,
            self.events - self._events_at_record,
            self._in_cycle_by_kind(),
            clone_sizes(s.cell_arrays(), self.clone_labels) if self.geometry == L.EPIDERMIS else None,
        )
        self._events_at_record = self.events.copy()

    def _in_cycle_by_kind(self):
        with self._kernel_threads():
            return in_cycle_by_kind(self.state.cell_arrays())

    def _recorded_now(self) -> bool:
        """Whether the last record is of this very time (a continued run starts where one ended)."""
        recorder = self.recorder
        assert recorder is not None
        return recorder.n > 0 and recorder.data["time_h"][recorder.n - 1] == self.time_h

    def snapshot(self) -> dict[str, np.ndarray]:
        """The lattice as arrays of ``state.shape`` for plots and archives: rows x width on a
        row, rows x depth x width on a sheet."""
        s = self.state
        shape = s.shape
        return {
            name: getattr(s, name).reshape(shape).copy() for name in ("phase", "kind", "mass", "p16", "gero", "sasp")
        }

    def run(self, hours: float | None = None, progress=None) -> Results:
        """Run for ``hours`` (default: the config's), recording, assaying and snapshotting on schedule.

        ``progress(done_steps, total_steps)`` is called now and then for progress bars.
        """
        from geroconvert.core.assays import rpp_assay

        sim, assays = self.params.simulation, self.params.assays
        hours = sim.hours if hours is None else hours
        n_steps = int(round(hours / self.dt))
        record_stride = max(1, int(round(sim.record_every_h / self.dt)))
        snapshot_stride = int(round(sim.snapshot_every_h / self.dt)) if sim.snapshot_every_h > 0 else 0
        start = self.step_index
        end_h = (start + n_steps) * self.dt
        rpp_steps = {int(round(t / self.dt)): t for t in assays.rpp_times_h if self.time_h - 1e-9 <= t <= end_h + 1e-9}
        if self._record:
            if self.recorder is None:
                self.recorder = Recorder(0, sim.geometry)
            self.recorder.reserve(n_steps // record_stride + 2)
        wall = time.perf_counter()
        last_report = wall
        for n in range(n_steps + 1):
            here = start + n
            if self._record and (here % record_stride == 0 or n == n_steps) and not self._recorded_now():
                self._record_now()
            if snapshot_stride and here % snapshot_stride == 0:
                self.snapshots[self.time_h] = self.snapshot()
            if here in rpp_steps:
                self.rpp_rows.append(rpp_assay(self, rpp_steps[here]))
            if n == n_steps:
                break
            interrupts.check()  # a stop signal ends the run here, between steps, never inside a kernel
            self.step()
            if progress is not None and time.perf_counter() - last_report > 0.2:
                last_report = time.perf_counter()
                progress(n + 1, n_steps)
        if progress is not None:
            progress(n_steps, n_steps)
        return self.results(wall_s=time.perf_counter() - wall)

    def results(self, wall_s: float = 0.0) -> Results:
        series = self.recorder.series() if self.recorder is not None else {}
        rpp = {
            name: np.array([row[i] for row in self.rpp_rows], dtype)
            for i, (name, dtype) in enumerate(
                (("time_h", np.float64), ("rpp", np.float64), ("n_replated", np.int64), ("n_colonies", np.int64))
            )
        }
        events = {name: int(self.events[i]) for i, name in enumerate(L.EVENT_NAMES)}
        summary = summarise(series, rpp)
        summary["wall_s"] = wall_s
        return Results(
            timeseries=series,
            units=dict(SERIES_UNITS),
            rpp=rpp,
            summary=summary,
            events=events,
            snapshots=dict(self.snapshots),
        )


def run_timed(params: Params, seed: int | None = None, progress=None) -> Results:
    """Build and run one simulation; its summary's ``wall_s`` is the whole run (set-up included)
    without numba compilation, which is recorded apart as ``compile_s``.

    The first run in a process compiles every kernel, or loads it from numba's cache (about
    20 s and 0.3 s here); that cost belongs to the process, not to the model, so a timing
    study must not see it.  Both happen while numba holds its compiler lock, which it times.
    """
    from numba.core.event import install_timer

    compile_s = [0.0]

    def add(seconds: float) -> None:
        compile_s[0] += seconds

    started = time.perf_counter()
    with install_timer("numba:compiler_lock", add):
        results = Simulation(params, seed=seed).run(progress=progress)
    total_s = time.perf_counter() - started
    results.summary["wall_s"] = max(0.0, total_s - compile_s[0])
    results.summary["compile_s"] = compile_s[0]
    return results
