"""Front-door limits on the work a config may ask for (the engine would try and fail late).

:func:`work_limits` refuses a validated config whose run would exhaust memory or never
finish, and warns about assay times and schedule changes after the end of the run.
"""

from __future__ import annotations

import math

from geroconvert.config.sections import value_text
from geroconvert.errors import ConfigError
from geroconvert.parameters.models import MAX_SITES, AssayParams, SimulationParams

# A config file is read whole into memory before it is parsed: refuse anything larger
# (the packaged configs are a few KB; 1 MiB leaves room for long hand-written grids).
MAX_CONFIG_BYTES = 2**20
MAX_RECORDS = 2_000_000  # time-series rows (each row holds ~50 float64 series)
MAX_SNAPSHOT_BYTES = 4 * 2**30  # lattice snapshots kept in memory and written to the archive
MAX_RPP_TIMES = 10_000
MAX_STEPS = 20_000_000  # time steps of the run plus those of its RPP regrowth plates
SNAPSHOT_BYTES_PER_SITE = 1 + 1 + 4 * 4  # phase, kind (uint8) + mass, p16, gero, sasp (float32)


def work_limits(sim: SimulationParams, assays: AssayParams, schedule) -> list[str]:
    """Refuse configs that would exhaust memory or never finish; warn about times after the end of the run."""
    _refuse_too_much_work(sim, assays)
    return _late_warnings(sim, assays, schedule)


def _refuse_too_much_work(sim: SimulationParams, assays: AssayParams) -> None:
    records = sim.hours / max(sim.record_every_h, sim.dt_h)
    if records > MAX_RECORDS:
        raise ConfigError(
            f"simulation.record_every_h: {records:.3g} time-series rows (hours / record_every_h) "
            f"is more than {MAX_RECORDS:,}; raise record_every_h or shorten hours"
        )
    if sim.snapshot_every_h > 0:
        count = int(sim.hours / max(sim.snapshot_every_h, sim.dt_h)) + 1
        sites = sim.width * sim.depth * (sim.height + sim.dermis_rows)
        size = count * sites * SNAPSHOT_BYTES_PER_SITE
        if size > MAX_SNAPSHOT_BYTES:
            raise ConfigError(
                f"simulation.snapshot_every_h: {count} snapshots of {sites:,} sites need "
                f"{size / 2**30:.1f} GiB (limit {MAX_SNAPSHOT_BYTES / 2**30:.0f} GiB); "
                "raise snapshot_every_h or set it to 0"
            )
    steps = sim.hours / sim.dt_h
    if steps > MAX_STEPS:
        raise ConfigError(
            f"simulation.dt_h: {steps:.3g} time steps (hours / dt_h) is more than {MAX_STEPS:,}; "
            "raise dt_h or shorten hours"
        )
    assayed = [t for t in assays.rpp_times_h if t <= sim.hours + 1e-9]
    regrowth = len(assayed) * assays.replate_hours / sim.dt_h
    if steps + regrowth > MAX_STEPS:
        raise ConfigError(
            f"assays.replate_hours: {len(assayed)} RPP assays of {value_text(assays.replate_hours)} h "
            f"need {regrowth:.3g} time steps (more than {MAX_STEPS:,}); shorten replate_hours, "
            "measure RPP less often or raise simulation.dt_h"
        )
    if assayed:  # the replated cells sit one per tile on a square plate
        replated = min(assays.max_cells, sim.width * sim.depth * (sim.height + sim.dermis_rows))
        plate = (math.ceil(math.sqrt(replated)) * assays.tile_sites) ** 2
        if plate > MAX_SITES:
            raise ConfigError(
                f"assays.max_cells: replating up to {replated:,} cells {assays.tile_sites} sites apart "
                f"needs a plate of {plate:,} sites (more than {MAX_SITES:,}); "
                "lower max_cells or tile_sites"
            )
    if len(assays.rpp_times_h) > MAX_RPP_TIMES:
        raise ConfigError(f"assays.rpp_times_h: {len(assays.rpp_times_h)} RPP assays is more than {MAX_RPP_TIMES}")


def _late_warnings(sim: SimulationParams, assays: AssayParams, schedule) -> list[str]:
    warnings = []
    late = [t for t in assays.rpp_times_h if t > sim.hours + 1e-9]
    if late:
        warnings.append(
            f"assays.rpp_times_h: {len(late)} time(s) after the end of the run "
            f"(simulation.hours = {value_text(sim.hours)}) will not be measured"
        )
    late_events = [e.time_h for e in schedule if e.time_h > sim.hours + 1e-9]
    if late_events:
        warnings.append(
            f"schedule: {len(late_events)} change(s) after the end of the run "
            f"(simulation.hours = {value_text(sim.hours)}) will not happen"
        )
    return warnings
