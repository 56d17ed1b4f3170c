"""Where runs execute: inline, on local processes, or on a Dask cluster.

Every run is a pure function of (config mapping, overrides, seed): :func:`run_task`.  An
executor only decides where that function runs and yields ``(label, result or the
exception it raised)`` as runs finish, so results never depend on the executor.
"""

from __future__ import annotations

import copy
import os

from geroconvert.config import config_from_mapping, set_path
from geroconvert.errors import ClusterError


# ---- one run (executes on a worker) ---------------------------------------------------------
def run_task(mapping: dict, overrides: dict, seed: int, threads: int = 1):
    """Build the run's parameters from plain data and run it; returns Results."""
    # idle OpenMP threads must sleep, not spin, when workers share cores (set before the
    # first parallel kernel starts the runtime; see cli._quiet_openmp)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numba

    from geroconvert.core.engine import Simulation

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    trial = copy.deepcopy(mapping)
    for path, value in overrides.items():
        set_path(trial, path, value)
    params = config_from_mapping(trial)
    return Simulation(params, seed=seed).run()


# ---- executors ------------------------------------------------------------------------------
def on_local(specs, mapping, workers):
    """Yield (spec, results or exception) as runs finish, on local processes."""
    jobs = [(spec, (mapping, spec.overrides, spec.seed, 1)) for spec in specs]
    yield from in_processes(run_task, jobs, workers)


def in_processes(task, jobs, workers):
    """Yield (label, task(*args) or the exception it raised) for (label, args) jobs as they
    finish: inline with one worker, else on ``workers`` spawned processes."""
    if workers <= 1:
        for label, args in jobs:
            try:
                yield label, task(*args)
            except Exception as error:  # noqa: BLE001 - reported per job
                yield label, error
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a forked child of a process whose numba threads are running can deadlock
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(task, *args): label for label, args in jobs}
        try:
            for future in as_completed(futures):
                failure = future.exception()
                yield futures[future], (failure if failure is not None else future.result())
        finally:
            for future in futures:
                future.cancel()


def on_dask(specs, mapping, scheduler, timeout_s=30):
    """Yield (spec, results or exception) as runs finish, on a Dask distributed cluster."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise ClusterError(
            "--scheduler: dask.distributed is not installed; pip install 'geroconvert[cluster]'"
        ) from None
    try:
        client = Client(scheduler, timeout=timeout_s)
    except (OSError, TimeoutError) as error:
        raise ClusterError(
            f"--scheduler {scheduler}: cannot connect ({error}); start `dask scheduler` and "
            "`dask worker ADDRESS`, or drop --scheduler to run locally"
        ) from None
    try:
        futures = {
            client.submit(run_task, mapping, spec.overrides, spec.seed, 1, pure=False, retries=2): spec
            for spec in specs
        }
        for future in as_completed(futures):
            spec = futures[future]
            try:
                yield spec, future.result()
            except Exception as error:  # noqa: BLE001 - reported per run
                yield spec, error
    finally:
        client.close()
