"""The Mesa wrapper: the numba engine as a :class:`mesa.Model`, for scenarios and teaching.

    model = GeroModel("configs/ht_p21.toml", seed=1)        # or GeroModel(params=Params(...))
    model.schedule(72.0, inducer=0.0)                        # scenario events at simulated times
    for _ in range(96):
        model.step()                                         # one engine step of dt_h hours
    frame = model.datacollector.get_model_vars_dataframe()   # counts per phase, p16+, mean mass, RPP
    model.lattice("phase")                                   # 2-D (rows x width) read-only view
    model.cell(uid)                                          # one cell's values, read-only

``step()`` is one :meth:`geroconvert.core.engine.Simulation.step` plus the model-level data
collection: no Python object per cell and no per-cell Python loop, so a 100 x 100 dish
steps in about a millisecond.  Cells are read through light views (:meth:`GeroModel.cell`,
:meth:`GeroModel.lattice`, :meth:`GeroModel.cells`).  The plain-Mesa implementation of the
same rules, one agent per cell, is :mod:`geroconvert.oracle.mesa_agents`.

Randomness (Mesa 3 semantics; random streams: docs/design.md): pass ``seed=`` (an integer; it *is* the engine's
counter-based seed, so ``GeroModel(params=p, seed=s)`` and ``Simulation(p, seed=s)`` give
the same cells) or ``rng=`` (a NumPy Generator or seed-like, from which the engine seed is
drawn once); with neither, the config's ``simulation.seed`` is used, so a config run is
reproducible by default.  Mesa's own ``model.random`` / ``model.rng`` are seeded from the
same value, but the engine never uses them.

Scenario events (inducer on/off, dose changes, hypoxia, serum) are applied at the start of
the first step whose start time has reached the event's time, exactly as the engine applies
a config's ``[[schedule]]`` (the config's own schedule still runs, inside the engine).
"""

from __future__ import annotations

import math
import types
from pathlib import Path

import mesa
import numpy as np

from geroconvert.core import layout as L
from geroconvert.core.engine import Simulation
from geroconvert.core.readouts import tally_readouts
from geroconvert.core.schedule import Schedule, TimedChange
from geroconvert.parameters.models import ENVIRONMENT_KEYS, Environment, Params

MAX_SEED = 2**63 - 1

# values a cell view holds (the engine's arrays that travel with a cell)
CELL_VIEW_FIELDS = (
    "uid",
    "kind",
    "phase",
    "divisions_left",
    "mass",
    "cycle",
    "p21",
    "p16",
    "gero",
    "gero_threshold",
    "age_h",
    "arrest_h",
    "clone",
)
LATTICE_FIELDS = (*CELL_VIEW_FIELDS, "sasp", "occupied")

# model-level reporters collected every step (name -> description); "rpp" is NaN except at assays
REPORTERS = {
    "time_h": "simulated time (h)",
    "n_cells": "live cells",
    "n_cycling": "cycling cells",
    "n_arrested": "arrested cells (blocked by p21/p16; reversible until they geroconvert)",
    "n_senescent": "senescent cells",
    "p16_positive_fraction": "fraction of live cells that are p16+",
    "senescent_fraction": "fraction of live cells that are senescent",
    "mean_mass": "mean cell mass (newborn = 1)",
    "mean_p16": "mean p16 (0-1)",
    "mean_sasp": "mean SASP per site",
    "rpp": "re-proliferative potential, at the steps where it was assayed (else NaN)",
    **{f"env_{key}": f"environment: {key}" for key in ENVIRONMENT_KEYS},
}


ScenarioEvent = TimedChange  # a scenario event: at ``time_h``, set ``changes`` ((key, value) pairs)


def engine_seed_from(value) -> int:
    """An engine seed (0 .. 2**63-1) from a Mesa ``seed`` value; refuses what is not an integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float)):
        raise ValueError(f"seed must be an integer, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"seed must be an integer, got {value!r}")
        value = int(value)
    value = int(value)
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and 2**63-1, got {value}")
    return value


def resolve_params(config=None, params: Params | None = None, overrides=None) -> Params:
    """Params from a config path (with ``overrides``) or as given; defaults when neither."""
    if config is not None and params is not None:
        raise ValueError("pass either a config path or params, not both")
    if isinstance(config, Params):
        config, params = None, config
    if params is not None:
        if overrides:
            raise ValueError("overrides apply to a config file; change Params with params.with_changes(...)")
        return params
    from geroconvert.config import load_config

    if config is None:
        return load_config(None, overrides).params
    return load_config(Path(config), overrides).params


class GeroModel(mesa.Model):
    """The engine as a Mesa model.

    Args:
        config: path of a TOML config (or a :class:`Params`).
        params: validated parameters (instead of ``config``).
        overrides: ``["section.key=value", ...]`` or ``{"section.key": value}`` for ``config``.
        seed: Mesa seed; an integer, used as the engine's counter-based seed.
        rng: Mesa rng (Generator or seed-like); the engine seed is drawn from it.
        events: scenario events, ``[(time_h, {"inducer": 0.0}), ...]``.
        state: start from this lattice (a :class:`~geroconvert.core.state.CellState`, copied),
            e.g. another model's ``model.sim.state``; default: seed a new one.
        rpp_every_h: also run the RPP assay every this many simulated hours (0 = only at
            the config's ``assays.rpp_times_h``).
        **environment: environment values that replace the config's at t = 0
            (``rapamycin_nM=500``, ``inducer=1``, ``oxygen=0.05``, ``mtor_gain=2``, ...).
    """

    def __init__(
        self,
        config=None,
        *,
        params: Params | None = None,
        overrides=None,
        seed=None,
        rng=None,
        events=(),
        rpp_every_h: float = 0.0,
        state=None,
        **environment,
    ):
        params = resolve_params(config, params, overrides)
        unknown = sorted(set(environment) - set(ENVIRONMENT_KEYS))
        if unknown:
            raise TypeError(
                f"unknown argument(s) {', '.join(unknown)}; environment keys: {', '.join(ENVIRONMENT_KEYS)}"
            )
        if environment:
            params = params.with_changes(environment=environment)
        if seed is not None and rng is not None:
            raise ValueError("pass either seed or rng, not both")
        if seed is None and rng is None:
            seed = params.simulation.seed
        if seed is not None:
            engine_seed = engine_seed_from(seed)
            super().__init__(seed=engine_seed)
        else:
            super().__init__(rng=rng)
            engine_seed = int(self.rng.integers(0, MAX_SEED, endpoint=True))
        if not (rpp_every_h >= 0.0 and math.isfinite(rpp_every_h)):
            raise ValueError("rpp_every_h must be a finite number >= 0")
        self.params = params
        self.engine_seed = engine_seed
        self.sim = Simulation(params, seed=engine_seed, record=False, state=state.copy() if state is not None else None)
        self.rpp_every_h = float(rpp_every_h)
        self.rpp_rows: list[tuple[float, float, int, int]] = []
        self._rpp_now = math.nan
        self._scenario = Schedule()
        for time_h, changes in events:
            self.schedule(time_h, **changes)
        self._readout_step = -1
        self._readout: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(model_reporters={name: _reporter(name) for name in REPORTERS})
        self._assay_if_due()
        self.datacollector.collect(self)

    # ---- time and the environment -------------------------------------------------------
    @property
    def time_h(self) -> float:
        """Simulated hours since the start."""
        return self.sim.time_h

    @property
    def dt_h(self) -> float:
        return self.sim.dt

    @property
    def environment(self) -> Environment:
        """The environment in force now (validated, frozen)."""
        return self.sim.environment

    def set_environment(self, **changes) -> None:
        """Change the environment now, e.g. ``set_environment(rapamycin_nM=50, inducer=0)``."""
        _check_environment_keys(changes)
        self.sim.set_environment(**changes)
        self._readout_step = -1

    def schedule(self, time_h: float, **changes) -> ScenarioEvent:
        """Set environment values at simulated time ``time_h`` (e.g. ``schedule(72, inducer=0)``)."""
        time_h = float(time_h)
        if not (time_h >= 0.0 and math.isfinite(time_h)):
            raise ValueError("event time must be a finite number of hours >= 0")
        if not changes:
            raise ValueError("an event must change at least one environment value")
        _check_environment_keys(changes)
        Environment(**changes)  # range checks now, not when the event fires
        if time_h < self.time_h - 1e-9:
            raise ValueError(f"event at {time_h} h is in the past (now {self.time_h} h)")
        return self._scenario.add(time_h, changes)

    def inducer(self, on: bool, at_h: float | None = None) -> None:
        """Inducer (IPTG-like) on or off, now or at ``at_h`` hours."""
        self._now_or_later(at_h, inducer=1.0 if on else 0.0)

    def dose(self, at_h: float | None = None, **drugs_nM) -> None:
        """Drug doses at the cells, e.g. ``dose(rapamycin_nM=500)`` or ``dose(48, pan_mtor_nM=30)``."""
        bad = sorted(set(drugs_nM) - {"rapamycin_nM", "pan_mtor_nM"})
        if bad:
            raise TypeError(f"dose() takes rapamycin_nM and pan_mtor_nM, not {', '.join(bad)}")
        self._now_or_later(at_h, **drugs_nM)

    def hypoxia(self, oxygen: float = 0.05, at_h: float | None = None) -> None:
        """Oxygen as a fraction of normoxia (1% O2 is about 0.05)."""
        self._now_or_later(at_h, oxygen=oxygen)

    def _now_or_later(self, at_h, **changes) -> None:
        if at_h is None:
            self.set_environment(**changes)
        else:
            self.schedule(at_h, **changes)

    @property
    def events(self) -> tuple[ScenarioEvent, ...]:
        """Scenario events still to come."""
        return self._scenario.pending()

    def _apply_events(self) -> None:
        for changes in self._scenario.due(self.time_h):
            self.sim.set_environment(**changes)

    # ---- stepping -----------------------------------------------------------------------
    def step(self) -> None:
        """One engine step of ``dt_h`` hours, then data collection (and an RPP assay when due)."""
        self._apply_events()
        self.sim.step()
        self._rpp_now = math.nan
        self._assay_if_due()
        self.datacollector.collect(self)

    def run_for(self, hours: float) -> None:
        """Step for ``hours`` simulated hours (rounded to whole steps)."""
        for _ in range(int(round(hours / self.dt_h))):
            self.step()

    def _assay_if_due(self) -> None:
        now = self.time_h
        due = any(abs(t - now) < 1e-6 for t in self.params.assays.rpp_times_h)
        if self.rpp_every_h > 0:
            k = round(now / self.rpp_every_h)
            due = due or abs(k * self.rpp_every_h - now) < 1e-6
        if due:
            self.assay_rpp()

    def assay_rpp(self) -> float:
        """Run the RPP colony-formation assay on the cells now (a simulation; cells untouched)."""
        from geroconvert.core.assays import rpp_assay

        row = rpp_assay(self.sim, self.time_h)
        self.rpp_rows.append(row)
        self._rpp_now = row[1]
        self._readout_step = -1
        return row[1]

    # ---- readouts -----------------------------------------------------------------------
    @property
    def readout(self) -> dict[str, float]:
        """The model-level numbers of the current step (computed once per step)."""
        if self._readout_step != self.sim.step_index:
            self._readout = self._compute_readout()
            self._readout_step = self.sim.step_index
        return self._readout

    def _compute_readout(self) -> dict[str, float]:
        counts, p16pos, sums = self.sim.tally()
        numbers = tally_readouts(counts, p16pos, sums, self.sim.state.capacity)
        out = {
            "time_h": self.time_h,
            **{name: numbers[name] for name in REPORTERS if name in numbers},
            "rpp": self._rpp_now,
        }
        for key in ENVIRONMENT_KEYS:
            out[f"env_{key}"] = float(getattr(self.environment, key))
        self.kind_phase_counts = counts
        return out

    def cell(self, uid: int) -> types.MappingProxyType:
        """A read-only view of one live cell's values (and its site, row and column).

        Raises KeyError when no live cell has that uid (it was never born, or is gone).
        """
        s = self.sim.state
        sites = np.flatnonzero((s.uid == int(uid)) & (s.phase != L.EMPTY))
        if sites.size == 0:
            raise KeyError(f"no live cell with uid {uid}")
        return self.cell_at_site(int(sites[0]))

    def cell_at(self, row: int, column: int, y: int = 0) -> types.MappingProxyType | None:
        """The cell at (row, column), on a basal sheet at sheet row ``y``; None if the site is empty."""
        s = self.sim.state
        if not (0 <= row < s.rows and 0 <= column < s.width and 0 <= y < s.depth):
            where = f"({row}, {y}, {column})" if s.depth > 1 else f"({row}, {column})"
            raise IndexError(f"site {where} is outside the {' x '.join(map(str, s.shape))} lattice")
        site = row * s.plane + y * s.width + column
        return None if s.phase[site] == L.EMPTY else self.cell_at_site(site)

    def cell_at_site(self, site: int) -> types.MappingProxyType:
        s = self.sim.state
        values = {name: getattr(s, name)[site].item() for name in CELL_VIEW_FIELDS}
        values["sasp"] = s.sasp[site].item()
        values["site"] = site
        values["row"], in_row = divmod(site, s.plane)
        values["y"], values["column"] = divmod(in_row, s.width)
        values["phase_name"] = L.PHASE_NAMES[values["phase"]]
        values["kind_name"] = L.KIND_NAMES[values["kind"]]
        return types.MappingProxyType(values)

    def lattice(self, field: str = "phase") -> np.ndarray:
        """A read-only view of one array of the lattice (no copy), of :attr:`shape`: rows x
        width, or rows x depth x width on a basal sheet.

        ``field`` is one of :data:`LATTICE_FIELDS`; ``"occupied"`` is a new boolean array.
        Values at empty sites are meaningless except for ``phase`` (0 = empty) and ``sasp``.
        The view follows the engine's arrays until the next step; copy it to keep it.
        """
        s = self.sim.state
        if field not in LATTICE_FIELDS:
            raise KeyError(f"unknown lattice field {field!r}; choose from {', '.join(LATTICE_FIELDS)}")
        array = s.phase != L.EMPTY if field == "occupied" else getattr(s, field)
        view = array.reshape(s.shape).view()
        view.flags.writeable = False
        return view

    def cells(self) -> dict[str, np.ndarray]:
        """Live cells as a dict of 1-D arrays (copies), with site, row and column (and y on a sheet)."""
        return self.sim.state.cells()

    @property
    def shape(self) -> tuple[int, ...]:
        """(rows, width) of the lattice; (rows, depth, width) on a basal sheet."""
        return self.sim.state.shape

    def dataframe(self):
        """The collected model-level series as a pandas DataFrame (one row per step)."""
        return self.datacollector.get_model_vars_dataframe()


def _reporter(name: str):
    def report(model: GeroModel):
        return model.readout[name]

    report.__name__ = f"report_{name}"
    return report


def _check_environment_keys(changes: dict) -> None:
    unknown = sorted(set(changes) - set(ENVIRONMENT_KEYS))
    if unknown:
        raise KeyError(f"unknown environment key(s) {', '.join(unknown)}; valid: {', '.join(ENVIRONMENT_KEYS)}")
