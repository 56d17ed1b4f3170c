"""Dose sweeps: a grid of config values x replicates, on local processes or a Dask cluster.

A ``[sweep]`` section names the grid::

    [sweep]
    replicates = 4          # runs per grid point
    seed = 0                # replicate r uses seed + r at every grid point (common random numbers)
    [sweep.grid]            # Cartesian product of the axes
    "environment.rapamycin_nM" = [0, 0.1, 1, 10, 500]
    "environment.pan_mtor_nM" = { logspace = [0.1, 1000, 5], zero = true }
    [sweep.zip]             # lists of one length, varied together as one axis
    "environment.oxygen" = [1.0, 0.05]
    "environment.mitogen" = [1.0, 1.0]
    [sweep.posterior]       # like a zip, one draw per entry, crossed with the other axes;
    "cells.w_gero" = [0.62, 0.69]   # written by `sweep --posterior FILE --draws K`
    "cells.gero_rate_per_h" = [0.017, 0.019]

Only the driver writes the archive.  Each batch of completed runs is written as a part
of the archive (``OUT.h5.parts/``, each part whole or absent), so a commit costs what
its batch costs, a sweep killed at any moment (even by SIGKILL) leaves a readable
archive holding every run committed so far, and ``--resume`` runs only what is missing.
The sweep's end merges the parts into ``OUT.h5``.  A run's result depends only on its config
and seed, never on the executor, so local and Dask sweeps are bit-identical.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geroconvert import interrupts
from geroconvert.archive.sweepdata import load_sweep  # noqa: F401 - also offered here, beside run_sweep
from geroconvert.config import (
    MODEL_SECTIONS,
    ConfigError,
    build,
    config_from_mapping,
    dumps_toml,
    fields_of,
    with_values,
)
from geroconvert.errors import ClusterError
from geroconvert.studies.executors import dask_session, on_dask, on_local, run_task

SWEEP_KEYS = ("replicates", "seed", "grid", "zip", "posterior", "posterior_counts")
COMMIT_EVERY_S = 2.0  # at most one archive rewrite per this many seconds while runs keep coming
MAX_AXIS_VALUES = 10_000  # values one logspace/linspace helper may expand into
MAX_SWEEP_RUNS = 100_000  # grid points x replicates: every point is validated before the first run
MAX_SWEEP_SEED = 2**62 - 1  # seed + replicate stays a valid simulation seed (below 2**63)
SEED_PATH = "simulation.seed"
# the sweep gives run r the seed sweep.seed + r, whatever simulation.seed says
SEED_FIX = "the sweep sets each run's seed (sweep.seed + replicate); vary seeds with sweep.replicates and sweep.seed"
NOT_AXES = {  # first parts of paths that a sweep run never reads
    "sweep": "the sweep's own settings are not an axis; set sweep.replicates and sweep.seed once",
    "trial": "sweep runs do not use [trial]; run `geroconvert trial` once per value instead",
    "extends": "extends is read when the file loads, not per run; sweep the keys it would change",
}


@dataclass(frozen=True)
class RunSpec:
    key: str
    grid_index: int
    replicate: int
    seed: int
    overrides: dict  # config path -> value for this grid point


# ---- the grid ------------------------------------------------------------------------------
def _finite_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _axis_values(path: str, spec: Any, where: str) -> list:
    """A list of values, or a ``{logspace = [lo, hi, n], zero = bool}`` helper."""
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}.{path}: empty list; give at least one value")
        return list(spec)
    if (
        isinstance(spec, dict)
        and set(spec) <= {"logspace", "linspace", "zero"}
        and ("logspace" in spec) != ("linspace" in spec)
    ):
        kind = "logspace" if "logspace" in spec else "linspace"
        bounds = spec[kind]
        if not (
            isinstance(bounds, list)
            and len(bounds) == 3
            and all(_finite_number(b) for b in bounds)
            and float(bounds[2]).is_integer()
            and 1 <= bounds[2] <= MAX_AXIS_VALUES
        ):
            raise ConfigError(
                f"{where}.{path}.{kind}: give [first, last, count] with finite numbers and a count "
                f"from 1 to {MAX_AXIS_VALUES}, e.g. [0.01, 1000, 6]"
            )
        if not isinstance(spec.get("zero", False), bool):
            raise ConfigError(f"{where}.{path}.zero: must be true or false (got {spec['zero']!r})")
        lo, hi, n = float(bounds[0]), float(bounds[1]), int(bounds[2])
        with np.errstate(all="ignore"):  # overflow shows up as non-finite values, refused below
            if kind == "logspace":
                if lo <= 0 or hi <= 0:
                    raise ConfigError(f"{where}.{path}.logspace: bounds must be > 0; use zero = true to add 0")
                grid = np.geomspace(lo, hi, n)
            else:
                grid = np.linspace(lo, hi, n)
        if not np.all(np.isfinite(grid)):
            raise ConfigError(f"{where}.{path}.{kind}: [{lo:g}, {hi:g}] overflows; use bounds within +-1e300")
        values = [float(f"{v:.6g}") for v in grid]  # readable keys and archive values
        return ([0.0] if spec.get("zero") else []) + values
    if isinstance(spec, dict) and spec:  # [sweep.grid.environment] or environment.x = [...]: a nested path
        inner = next(iter(spec))
        raise ConfigError(f'{where}.{path}: is a table; quote the path, e.g. "{path}.{inner}" = [...] under [{where}]')
    raise ConfigError(f"{where}.{path}: give a list of values or {{logspace = [lo, hi, n], zero = true}}")


def parse_sweep(sweep: dict, default_seed: int) -> tuple[list[dict], int, int]:
    """(grid points as path -> value dicts, replicates, base seed) from a ``[sweep]`` table."""
    replicates, seed = _sweep_settings(sweep, default_seed)
    grid, zipped, draws = sweep.get("grid", {}), sweep.get("zip", {}), sweep.get("posterior", {})
    _check_axis_paths(grid, zipped, draws)
    axes = [_grid_axis(path, spec) for path, spec in grid.items()]
    if zipped:
        axes.append(_zip_axis(zipped))
    if draws:  # posterior draws: varied together like a zip, crossed with every other axis
        axes.append(_zip_axis(draws, "sweep.posterior"))
        _check_counts(sweep.get("posterior_counts"), len(axes[-1]))
    elif "posterior_counts" in sweep:
        raise ConfigError("sweep.posterior_counts: belongs to a [sweep.posterior]; remove it or add the draws")
    runs = math.prod(len(axis) for axis in axes) * replicates
    if runs > MAX_SWEEP_RUNS:
        raise ConfigError(
            f"sweep: {runs:,} runs ({runs // replicates:,} grid points x {replicates} replicates) "
            f"is more than {MAX_SWEEP_RUNS:,}; use fewer values or replicates"
        )
    points = [{k: v for part in combo for k, v in part.items()} for combo in itertools.product(*axes)]
    return points or [{}], replicates, seed


def _sweep_settings(sweep: Any, default_seed: int) -> tuple[int, int]:
    """(replicates, base seed), after checking the ``[sweep]`` table's own keys."""
    if not isinstance(sweep, dict):
        raise ConfigError("sweep: must be a table with grid, zip, replicates and seed")
    for key in sweep:
        if key not in SWEEP_KEYS:
            from geroconvert.config import suggest

            raise ConfigError(f"sweep.{key}: unknown key{suggest(key, SWEEP_KEYS)}")
    replicates = sweep.get("replicates", 1)
    if not isinstance(replicates, int) or isinstance(replicates, bool) or not 1 <= replicates <= 10_000:
        raise ConfigError(f"sweep.replicates: must be an integer from 1 to 10000 (got {replicates!r})")
    seed = sweep.get("seed", default_seed)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SWEEP_SEED:
        source = "" if "seed" in sweep else ", taken from simulation.seed"
        raise ConfigError(f"sweep.seed: must be an integer from 0 to {MAX_SWEEP_SEED} (got {seed!r}{source})")
    for name in ("grid", "zip", "posterior"):
        if not isinstance(sweep.get(name, {}), dict):
            raise ConfigError(
                f"sweep.{name}: must be a table of config path = list of values, "
                f"written [sweep.{name}] (got {sweep[name]!r})"
            )
    return replicates, seed


def _check_counts(counts: Any, rows: int) -> None:
    """``posterior_counts``: how many posterior draws each row of [sweep.posterior] stands for."""
    if counts is None:
        return
    if not (isinstance(counts, list) and len(counts) == rows and all(type(c) is int and c >= 1 for c in counts)):
        raise ConfigError(
            f"sweep.posterior_counts: give one whole number >= 1 per row of [sweep.posterior] ({rows} rows)"
        )


def _check_axis_paths(grid: dict, zipped: dict, draws: dict) -> None:
    """Refuse axes whose runs would not differ as the grid says (each would run, silently, as another)."""
    for where, table in (("sweep.grid", grid), ("sweep.zip", zipped), ("sweep.posterior", draws)):
        for path, spec in table.items():
            _check_axis_path(path, spec, where)
    for path in sorted(set(grid) & set(zipped)):
        raise ConfigError(f"sweep.grid.{path}: also in sweep.zip; keep it in one (the grid's values would never run)")
    for path in sorted((set(grid) | set(zipped)) & set(draws)):
        raise ConfigError(
            f"sweep.posterior.{path}: is also swept; the posterior draws set it, so remove the other axis"
        )
    for outer, inner in itertools.permutations([*grid, *zipped, *draws], 2):
        if inner.startswith(outer + "."):  # the later axis would overwrite part of the other one's value
            raise ConfigError(f"sweep: {inner} is inside {outer}, which is also an axis; keep one of the two")


def _check_axis_path(path: str, spec: Any, where: str) -> None:
    parts = path.split(".")
    if path == SEED_PATH:
        raise ConfigError(f"{where}.{path}: {SEED_FIX}")
    if parts[0] in NOT_AXES:
        raise ConfigError(f"{where}.{path}: {NOT_AXES[parts[0]]}")
    if len(parts) == 1:  # set_path would replace the whole section, dropping the config's keys
        _axis_values(path, spec, where)  # first: a nested table ([sweep.grid.environment]) needs quoting
        key = f"{path}.{fields_of(path)[0]}" if path in MODEL_SECTIONS else "environment.rapamycin_nM"
        raise ConfigError(f'{where}.{path}: name a key inside the section, e.g. "{key}" = [...]')


def _grid_axis(path: str, spec: Any) -> list[dict]:
    values = _axis_values(path, spec, "sweep.grid")
    _check_distinct(values, f"sweep.grid.{path}")
    return [{path: value} for value in values]


def _zip_axis(zipped: dict, where: str = "sweep.zip") -> list[dict]:
    columns = {path: _axis_values(path, spec, where) for path, spec in zipped.items()}
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ConfigError(
            f"{where}: lists must have one length (got {sorted(lengths)}); pad them or move one to sweep.grid"
        )
    rows = [{path: columns[path][i] for path in columns} for i in range(lengths.pop())]
    _check_distinct(rows, where)
    return rows


def _check_distinct(values: list, where: str) -> None:
    """Two equal grid points would run the same config with the same seeds, and a report
    would merge them as replicates: refuse the repeat."""
    seen: dict[Any, int] = {}
    for i, value in enumerate(values):
        first = seen.setdefault(_canonical(value), i)
        if first != i:
            raise ConfigError(
                f"{where}: {value!r} appears twice (values {first} and {i}); every grid point must differ, "
                "so remove the repeat (zero = true adds a 0 that a range may already hold)"
            )


def _canonical(value: Any) -> Any:
    """A hashable stand-in for a TOML value, equal for equal configs (1 and 1.0 alike)."""
    if isinstance(value, list):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, bool):
        return ("bool", value)  # True == 1 in Python, not in a config
    return value


def plan_runs(mapping: dict) -> list[RunSpec]:
    """Every run of the sweep, validated up front (a bad grid value fails before any run)."""
    base = {k: v for k, v in mapping.items() if k != "sweep"}
    default_seed = int(mapping.get("simulation", {}).get("seed", 0))
    points, replicates, seed = parse_sweep(mapping.get("sweep") or {}, default_seed)
    return specs_for(base, points, replicates, seed)


def specs_for(
    base: dict,
    points: list[dict],
    replicates: int,
    seed: int,
    label: str = "sweep point",
    check: Callable[[dict], Any] = config_from_mapping,
) -> list[RunSpec]:
    """Run ``base`` at every point (path -> value) x replicate, each point validated first
    by ``check`` (its config; a study whose runs are not plain runs passes its own).

    Replicate r uses seed + r at every point: common random numbers across points."""
    specs = []
    for g, point in enumerate(points):
        try:
            check(with_values(base, point))
        except ConfigError as error:
            raise ConfigError(f"{label} {g} ({_describe(point)}): {error}") from None
        for r in range(replicates):
            specs.append(
                RunSpec(key=f"g{g:03d}_r{r:02d}", grid_index=g, replicate=r, seed=seed + r, overrides=dict(point))
            )
    return specs


def _describe(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "base"


def base_mapping(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if k != "sweep"}


def fingerprint_text(mapping: dict) -> str:
    """The resolved sweep config (every value, defaults included) as TOML: stored in /config,
    compared on --resume.  It holds no file paths, so a resume from elsewhere still matches."""
    return "# geroconvert sweep config (resolved)\n\n" + dumps_toml(build(mapping)[1])


# ---- the driver -------------------------------------------------------------------------------
@dataclass
class SweepOutcome:
    planned: int
    skipped: int
    completed: int
    failed: list[tuple[str, str]]
    wall_s: float


def commit_runs(
    path: Path,
    batch: list[tuple[RunSpec, Any]],
    config_text: str,
    create: bool,
    provenance: dict | None = None,
    resume_hint: str = "",
) -> None:
    """``create``: write the sweep's empty archive (its config, no runs).  Otherwise add the
    finished runs of ``batch`` as the archive's next part, a small archive written in one
    step, so a commit costs what its batch costs and a crash at any moment leaves every
    committed run readable (:mod:`geroconvert.archive.parts`)."""
    import io

    from geroconvert.archive.hdf5 import ArchiveWriter, replace_with_bytes, write_part

    hint = f"then finish the sweep with `{resume_hint or RESUME_HINT}`"
    writer = ArchiveWriter(io.BytesIO(), config_text, provenance=provenance, command="geroconvert sweep")
    if create:
        buffer = io.BytesIO()
        with ArchiveWriter(buffer, config_text, provenance=writer.session_provenance()):
            pass
        replace_with_bytes(path, buffer.getvalue(), hint)
        return
    for spec, results in batch:
        interrupts.check_insisted()  # a second Ctrl-C ends even the stop's last commit
        writer.add_run(
            spec.key,
            results,
            seed=spec.seed,
            overrides=spec.overrides,
            replicate=spec.replicate,
            swept=dict(spec.overrides),
        )
    write_part(path, config_text, writer.session_provenance(), writer.new_rows(), hint)


RESUME_HINT = "geroconvert sweep CONFIG -o OUT.h5 --resume"


@dataclass(frozen=True)
class StudyPlan:
    """The runs of a study and what its archive records: the config text (compared on
    ``--resume``), the command that finishes a stopped study, and the command that made
    the archive (its provenance; ``report`` tells a study from a sweep by it).  ``task``
    runs one spec on a worker: ``task(mapping, overrides, seed, threads)`` -> Results
    (``None``: :func:`~geroconvert.studies.executors.run_task`, one simulation)."""

    specs: list[RunSpec]
    config_text: str
    resume_hint: str
    command: str = "geroconvert sweep"
    task: Callable | None = None


class Batches:
    """Finished runs waiting to be committed, written at most every COMMIT_EVERY_S seconds."""

    def __init__(self, out: Path, config_text: str, in_archive: int, provenance: dict, resume_hint: str = RESUME_HINT):
        self.out, self.config_text, self.provenance = out, config_text, provenance
        self.resume_hint = resume_hint
        self.pending: list[tuple[RunSpec, Any]] = []
        self.in_archive = in_archive  # complete runs the file on disk holds
        self.last_commit = time.perf_counter()
        self.broken = False  # a commit failed: do not try again on the way out

    def add(self, spec: RunSpec, results: Any) -> None:
        self.pending.append((spec, results))
        if time.perf_counter() - self.last_commit >= COMMIT_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            commit_runs(
                self.out,
                self.pending,
                self.config_text,
                create=False,
                provenance=self.provenance,
                resume_hint=self.resume_hint,
            )
        except BaseException:
            self.broken = True
            raise
        self.in_archive += len(self.pending)
        self.pending, self.last_commit = [], time.perf_counter()
        interrupts.note_kept(self.kept())  # what a stop from now on leaves on disk

    def kept(self) -> str:
        from geroconvert.archive.output import parts_dir

        folder = parts_dir(self.out)
        parts = f" (with its folder {folder.name}: copy both)" if folder.is_dir() else ""
        return f"{self.out} keeps {self.in_archive} complete runs{parts}; finish with `{self.resume_hint}`"


def run_sweep(
    mapping: dict,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int, int, int], None] | None = None,
    plan: StudyPlan | None = None,
) -> SweepOutcome:
    """Plan, execute and archive a sweep.  ``progress(done, failed, left, total)`` after each run.

    The whole sweep holds the archive's writer lock: a second writer of ``out`` is refused.
    A stop signal or a lost Dask scheduler commits the finished runs, then raises
    (``Interrupted`` or ``ClusterError``) with a message that says what the archive keeps.
    ``plan`` (runs, config text, resume command) replaces the ``[sweep]`` grid for a study that makes its
    own points from its own section (a sensitivity design); ``mapping`` is then their base.
    """
    from geroconvert.archive.hdf5 import exclusive_writer

    with exclusive_writer(out):
        return _run_sweep(mapping, Path(out), workers, scheduler, resume, overwrite, progress, plan)


def _runs_on_disk(out: Path, config_text: str, resume: bool, overwrite: bool) -> set[str]:
    """The keys of the runs already complete in ``out`` (resume), after checking it may be written."""
    from geroconvert.archive.hdf5 import ArchiveError, check_output, complete_run_keys, partial_path
    from geroconvert.archive.output import parts_dir, remove_scratch

    if resume:
        if not out.exists():
            raise ArchiveError(f"{out}: nothing to resume; run without --resume to start the sweep")
        # read-only: a file that is corrupt or of another config is refused and left as it is
        done = set(complete_run_keys(out, config_text))
        if parts_dir(out).exists() and not parts_dir(out).is_dir():  # the commits could not be written
            raise ArchiveError(f"{parts_dir(out)}: is not a folder, and the sweep needs it for its parts; move it away")
        partial_path(out).unlink(missing_ok=True)  # a copy left by a killed merge
        remove_scratch(out)  # ... and by a killed commit
        return done
    check_output(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial_path(out).unlink(missing_ok=True)
    return set()


def _run_sweep(mapping, out: Path, workers, scheduler, resume: bool, overwrite: bool, progress, plan) -> SweepOutcome:
    start = time.perf_counter()
    plan = plan or StudyPlan(plan_runs(mapping), fingerprint_text(mapping), RESUME_HINT)
    specs, config_text, hint = plan.specs, plan.config_text, plan.resume_hint
    base = base_mapping(mapping)
    done_keys = _runs_on_disk(out, config_text, resume, overwrite)
    todo = [spec for spec in specs if spec.key not in done_keys]
    # a bad scheduler address fails here, before any file is written
    with dask_session(scheduler) if scheduler else contextlib.nullcontext() as client:
        interrupts.check()  # a stop before the first write keeps whatever --overwrite would replace
        from geroconvert.archive.parts import merge_parts, remove_parts
        from geroconvert.archive.provenance import collect

        provenance = collect(command=plan.command)  # once: each part records this session
        if not resume:  # an empty archive first: the sweep's config is on disk from the start
            remove_parts(out)  # what --overwrite replaces goes only now, past every early refusal
            commit_runs(out, [], config_text, create=True, provenance=provenance, resume_hint=hint)
        workers = workers or os.cpu_count() or 1
        task = plan.task or run_task
        if client is not None:
            source = on_dask(todo, base, client, scheduler, task)
        else:
            source = on_local(todo, base, min(workers, max(1, len(todo))), task)
        batches = Batches(out, config_text, len(done_keys), provenance, resume_hint=hint)
        interrupts.note_kept(batches.kept())
        with contextlib.closing(source):  # ends the workers even if the traceback lives on
            completed, failed = _collect(source, batches, len(todo), progress)
        merge_parts(out, f"then merge its parts with `{hint}`")  # one file again, its parts removed
        if not failed:
            interrupts.note_kept(f"{out} holds every run of the sweep")  # a stop from here on has nothing to resume
    return SweepOutcome(
        planned=len(specs),
        skipped=len(specs) - len(todo),
        completed=completed,
        failed=failed,
        wall_s=time.perf_counter() - start,
    )


def _collect(source, batches: Batches, n_todo: int, progress) -> tuple[int, list[tuple[str, str]]]:
    """Commit runs as they finish; on a stop, commit what finished and say what the archive keeps."""
    failed: list[tuple[str, str]] = []
    completed = 0
    if progress:
        progress(0, 0, n_todo, n_todo)
    try:
        for spec, outcome in source:
            if isinstance(outcome, BaseException):
                failed.append((spec.key, f"{type(outcome).__name__}: {outcome}"))
            else:
                batches.add(spec, outcome)
                completed += 1
            if progress:
                progress(completed, len(failed), n_todo - completed - len(failed), n_todo)
        batches.flush()
    except (interrupts.Interrupted, ClusterError) as stop:
        raise _stopped(stop, batches) from None
    return completed, failed


def _stopped(stop: BaseException, batches: Batches) -> BaseException:
    """Commit the finished runs (unless the commit itself failed); the stop's message says
    what is kept (interrupts.note_kept, updated by every commit).

    A second signal during this last commit ends it at once, and the message then says
    what the previous commit kept."""
    if not batches.broken:
        batches.flush()
    if isinstance(stop, interrupts.Interrupted):
        return stop
    return ClusterError(f"{stop}; {batches.kept()}")
