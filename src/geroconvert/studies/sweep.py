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

Only the driver writes the archive.  Each batch of completed runs is added to a copy
of the archive that then replaces it atomically, so a sweep killed at any moment
(even by SIGKILL) leaves a readable archive holding every run committed so far, and
``--resume`` runs only what is missing.  A run's result depends only on its config
and seed, never on the executor, so local and Dask sweeps are bit-identical.
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geroconvert.archive.sweepdata import load_sweep  # noqa: F401 - also offered here, beside run_sweep
from geroconvert.config import ConfigError, build, config_from_mapping, dumps_toml, set_path
from geroconvert.studies.executors import on_dask, on_local

SWEEP_KEYS = ("replicates", "seed", "grid", "zip")
COMMIT_EVERY_S = 2.0  # at most one archive rewrite per this many seconds while runs keep coming
MAX_AXIS_VALUES = 10_000  # values one logspace/linspace helper may expand into
MAX_SWEEP_RUNS = 100_000  # grid points x replicates: every point is validated before the first run


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
    raise ConfigError(f"{where}.{path}: give a list of values or {{logspace = [lo, hi, n], zero = true}}")


def parse_sweep(sweep: dict, default_seed: int) -> tuple[list[dict], int, int]:
    """(grid points as path -> value dicts, replicates, base seed) from a ``[sweep]`` table."""
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
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**62:
        raise ConfigError(f"sweep.seed: must be a non-negative integer (got {seed!r})")
    for name in ("grid", "zip"):
        if not isinstance(sweep.get(name, {}), dict):
            raise ConfigError(
                f"sweep.{name}: must be a table of config path = list of values, "
                f"written [sweep.{name}] (got {sweep[name]!r})"
            )
    axes: list[list[dict]] = []
    for path, spec in sweep.get("grid", {}).items():
        axes.append([{path: value} for value in _axis_values(path, spec, "sweep.grid")])
    zipped = sweep.get("zip", {})
    if zipped:
        columns = {path: _axis_values(path, spec, "sweep.zip") for path, spec in zipped.items()}
        lengths = {len(values) for values in columns.values()}
        if len(lengths) != 1:
            raise ConfigError(
                f"sweep.zip: lists must have one length (got {sorted(lengths)}); pad them or move one to sweep.grid"
            )
        n = lengths.pop()
        axes.append([{path: columns[path][i] for path in columns} for i in range(n)])
    runs = math.prod(len(axis) for axis in axes) * replicates
    if runs > MAX_SWEEP_RUNS:
        raise ConfigError(
            f"sweep: {runs:,} runs ({runs // replicates:,} grid points x {replicates} replicates) "
            f"is more than {MAX_SWEEP_RUNS:,}; use fewer values or replicates"
        )
    points = [{k: v for part in combo for k, v in part.items()} for combo in itertools.product(*axes)]
    return points or [{}], replicates, seed


def plan_runs(mapping: dict) -> list[RunSpec]:
    """Every run of the sweep, validated up front (a bad grid value fails before any run)."""
    base = {k: v for k, v in mapping.items() if k != "sweep"}
    default_seed = int(mapping.get("simulation", {}).get("seed", 0))
    points, replicates, seed = parse_sweep(mapping.get("sweep") or {}, default_seed)
    specs = []
    for g, point in enumerate(points):
        trial = copy.deepcopy(base)
        for path, value in point.items():
            set_path(trial, path, value)
        try:
            config_from_mapping(trial)
        except ConfigError as error:
            raise ConfigError(f"sweep point {g} ({_describe(point)}): {error}") from None
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


def commit_runs(path: Path, batch: list[tuple[RunSpec, Any]], config_text: str, create: bool) -> None:
    """Add finished runs to the archive by rewriting a copy and replacing the original.

    os.replace is atomic, so readers and a crash only ever see the old or the new file.
    """
    from geroconvert.archive.hdf5 import ArchiveWriter, partial_path

    scratch = partial_path(path)
    if create:
        writer = ArchiveWriter(scratch, config_text, mode="w", command="geroconvert sweep")
    else:
        shutil.copyfile(path, scratch)
        writer = ArchiveWriter(scratch, config_text, mode="a")
    with writer:
        for spec, results in batch:
            swept = {p: v for p, v in spec.overrides.items()}
            writer.add_run(
                spec.key,
                results,
                seed=spec.seed,
                overrides=spec.overrides,
                replicate=spec.replicate,
                swept=swept,
                wall_s=results.summary.get("wall_s"),
            )
    with open(scratch, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(scratch, path)


def run_sweep(
    mapping: dict,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int, int, int], None] | None = None,
) -> SweepOutcome:
    """Plan, execute and archive a sweep.  ``progress(done, failed, left, total)`` after each run.

    The whole sweep holds the archive's writer lock: a second writer of ``out`` is refused.
    """
    from geroconvert.archive.hdf5 import exclusive_writer

    with exclusive_writer(out):
        return _run_sweep(mapping, Path(out), workers, scheduler, resume, overwrite, progress)


def _run_sweep(mapping, out: Path, workers, scheduler, resume: bool, overwrite: bool, progress) -> SweepOutcome:
    from geroconvert.archive.hdf5 import ArchiveError, check_output, complete_run_keys, partial_path

    start = time.perf_counter()
    specs = plan_runs(mapping)
    base = base_mapping(mapping)
    config_text = fingerprint_text(mapping)
    done_keys: set[str] = set()
    if resume:
        if not out.exists():
            raise ArchiveError(f"{out}: nothing to resume; run without --resume to start the sweep")
        # read-only: a file that is corrupt or of another config is refused and left as it is
        done_keys = set(complete_run_keys(out, config_text))
        partial_path(out).unlink(missing_ok=True)  # a copy left by a killed commit
    else:
        check_output(out, overwrite)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial_path(out).unlink(missing_ok=True)
    todo = [spec for spec in specs if spec.key not in done_keys]
    created = resume
    if not created:  # an empty archive first: the sweep's config is on disk from the start
        commit_runs(out, [], config_text, create=True)
        created = True
    workers = workers or os.cpu_count() or 1
    source = on_dask(todo, base, scheduler) if scheduler else on_local(todo, base, min(workers, max(1, len(todo))))
    failed: list[tuple[str, str]] = []
    batch: list = []
    last_commit = time.perf_counter()
    completed = 0
    if progress:
        progress(0, 0, len(todo), len(todo))
    try:
        for spec, outcome in source:
            if isinstance(outcome, BaseException):
                failed.append((spec.key, f"{type(outcome).__name__}: {outcome}"))
            else:
                batch.append((spec, outcome))
                completed += 1
            if batch and time.perf_counter() - last_commit >= COMMIT_EVERY_S:
                commit_runs(out, batch, config_text, create=False)
                batch, last_commit = [], time.perf_counter()
            if progress:
                progress(completed, len(failed), len(todo) - completed - len(failed), len(todo))
    finally:
        if batch:  # also on Ctrl-C: keep what finished
            commit_runs(out, batch, config_text, create=False)
    return SweepOutcome(
        planned=len(specs),
        skipped=len(specs) - len(todo),
        completed=completed,
        failed=failed,
        wall_s=time.perf_counter() - start,
    )
