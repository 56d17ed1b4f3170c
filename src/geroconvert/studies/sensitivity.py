"""A sensitivity study on the sweep machinery: ``geroconvert sensitivity CONFIG -o OUT.h5``.

The ``[sensitivity]`` section (:mod:`geroconvert.analysis.sensitivity_design`) gives the
design; each distinct point, in each arm of the contrast, runs ``replicates`` times with
the same seeds at every point, as a sweep runs its grid.  So the study has what a sweep
has: local processes or a Dask cluster, commits that survive any stop, ``--resume``, and
an archive whose per-run swept values are the design matrix.  The archive's config is the
study's own (not the expanded grid), so ``--resume`` and ``report`` make the same design
from it.  A study of the split-hand trial's outputs runs each point's whole cohort, one run
per subject (:func:`geroconvert.studies.trial.subject_task`), with the trial's own seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from geroconvert.analysis.sensitivity_design import Design, design_from_mapping, design_line
from geroconvert.archive.schema import SENSITIVITY_COMMAND
from geroconvert.config import config_from_mapping
from geroconvert.errors import ConfigError
from geroconvert.studies.sweep import (
    MAX_SWEEP_RUNS,
    RunSpec,
    StudyPlan,
    SweepOutcome,
    base_mapping,
    fingerprint_text,
    run_sweep,
    specs_for,
)

RESUME_HINT = "geroconvert sensitivity CONFIG -o OUT.h5 --resume"
COMMAND = SENSITIVITY_COMMAND  # the archive's provenance: `report` knows a study by it


def plan_study(mapping: dict) -> tuple[Design, StudyPlan]:
    """The design and its runs, every distinct point validated before the first run."""
    if mapping.get("sweep"):
        raise ConfigError("sweep: a sensitivity study makes its own points; remove [sweep] (or run it with `sweep`)")
    design = design_from_mapping(mapping)
    points = distinct_points(design)
    runs = len(points) * design.replicates
    if runs > MAX_SWEEP_RUNS:
        each = "trial subjects (trial.subjects)" if design.trial else "replicates"
        raise ConfigError(
            f"sensitivity: {runs:,} runs ({len(points):,} points x {design.replicates} {each}) is more than "
            f"{MAX_SWEEP_RUNS:,}; use fewer samples, parameters or {each.split(' (')[0]}"
        )
    base = base_mapping(mapping)
    check: Callable[[dict], Any] = config_from_mapping  # each point's config; a trial checks its subjects' runs
    task, seed = None, design.seed
    if design.trial:  # one run per subject: subject s keeps the trial's seed + s at every point
        from geroconvert.studies.trial import TrialSpec, subject_task

        # a point's values times a subject's damage multiplier may leave a bound the point keeps
        task, seed, check = subject_task, TrialSpec.from_table(mapping.get("trial")).seed, TrialSpec.for_mapping
    specs: list[RunSpec] = specs_for(base, points, design.replicates, seed, "sensitivity point", check)
    config_text = fingerprint_text(base) + design_line(design) + "\n"
    return design, StudyPlan(specs, config_text, RESUME_HINT, command=COMMAND, task=task)


def distinct_points(design: Design) -> list[dict]:
    """Every (row, arm) point once: Morris trajectories can share points, and a repeat would
    only rerun the same config with the same seeds."""
    seen: dict[tuple, dict] = {}
    for arm in design.arms:
        for row in range(len(design.values)):
            point = design.point(row, arm)
            seen.setdefault(tuple(float(v) for v in point.values()), point)
    return list(seen.values())


def run_sensitivity(
    mapping: dict,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int, int, int], None] | None = None,
    planned: tuple[Design, StudyPlan] | None = None,
) -> tuple[Design, SweepOutcome]:
    """Run the study into ``out`` (see :func:`geroconvert.studies.sweep.run_sweep` for the promises);
    ``planned`` is :func:`plan_study`'s answer when the caller has it already."""
    design, plan = planned or plan_study(mapping)
    outcome = run_sweep(base_mapping(mapping), out, workers, scheduler, resume, overwrite, progress, plan=plan)
    return design, outcome
