"""Where runs execute: inline, on local processes, or on a Dask cluster.

Every run is a pure function of (config mapping, overrides, seed): :func:`run_task`.  An
executor only decides where that function runs and yields ``(label, result or the
exception it raised)`` as runs finish, so results never depend on the executor.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

from geroconvert import interrupts
from geroconvert.config import config_from_mapping, with_values
from geroconvert.errors import ClusterError

POLL_S = 0.2  # how often the result loops look at the stop flag
# Runs in flight per worker: enough that no worker waits for the next, few enough that the
# driver's memory (futures, their arguments, finished results) does not grow with the sweep.
WINDOW_PER_WORKER = 4
DASK_WINDOW_MIN = 16


# ---- one run (executes on a worker) ---------------------------------------------------------
def run_task(mapping: dict, overrides: dict, seed: int, threads: int = 1):
    """Build the run's parameters from plain data and run it; returns Results."""
    # idle OpenMP threads must sleep, not spin, when workers share cores (set before the
    # first parallel kernel starts the runtime; see cli._quiet_openmp)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from geroconvert.core.engine import run_timed

    use_threads(threads)
    params = config_from_mapping(with_values(mapping, overrides))
    return run_timed(params, seed=seed)  # wall_s without the compile, which is compile_s


def use_threads(threads: int) -> None:
    """A worker's numba thread count: workers share the cores, so a run takes ``threads``."""
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


# ---- executors ------------------------------------------------------------------------------
def on_local(specs, mapping, workers, task=run_task):
    """Yield (spec, results or exception) as runs finish, on local processes.  ``task`` is
    :func:`run_task` or another top-level function of the same arguments (a trial subject)."""
    jobs = ((spec, (mapping, spec.overrides, spec.seed, 1)) for spec in specs)  # made as the window moves
    yield from in_processes(task, jobs, workers)


def in_processes(task, jobs, workers):
    """Yield (label, task(*args) or the exception it raised) for (label, args) jobs as they
    finish: inline with one worker, else on ``workers`` spawned processes.

    A stop signal (:mod:`geroconvert.interrupts`) raises ``Interrupted`` out of the loop
    within a fraction of a second; runs still going on the workers are abandoned.
    """
    if workers <= 1:
        for label, args in jobs:
            interrupts.check()
            try:
                yield label, task(*args)
            except Exception as error:  # noqa: BLE001 - reported per job
                yield label, error
        return
    yield from _in_pool(task, jobs, workers)


def _worker_start() -> None:
    """Worker initialiser.  Ctrl-C at a terminal reaches every process of the group; the
    parent alone decides how to stop (it ends the workers itself), so workers ignore SIGINT.
    And a worker ends with its parent, however the parent ends (a third Ctrl-C, SIGKILL):
    an orphan would wait on the parent's pipe for ever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


@contextlib.contextmanager
def _sigint_ignored_while_spawning():
    """Workers spawned now inherit SIGINT ignored, from their first instruction: the worker
    initialiser runs only after the worker has imported this package (about a second), and a
    Ctrl-C in that window printed a KeyboardInterrupt traceback from the worker."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _in_pool(task, jobs, workers):
    import itertools
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    jobs = iter(jobs)
    futures: dict = {}

    def submit(n: int) -> None:  # the window: never more than WINDOW_PER_WORKER runs per worker in flight
        for label, args in itertools.islice(jobs, n):
            futures[pool.submit(task, *args)] = label

    with _sigint_ignored_while_spawning():  # the workers are spawned by the first submits
        # spawn: a forked child of a process whose numba threads are running can deadlock
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start
        )
        submit(WINDOW_PER_WORKER * workers)
    finished = False
    try:
        while futures:
            # wait in short slices: a signal handler only sets a flag, which we must look at
            done, _ = wait(futures, timeout=POLL_S, return_when=FIRST_COMPLETED)
            interrupts.check()  # first: workers killed with the group are a stop, not failed runs
            for future in done:
                label = futures.pop(future)
                failure = future.exception()
                yield label, (failure if failure is not None else future.result())
            submit(len(done))
        finished = True
    finally:
        _stop_pool(pool, wait_for_workers=finished)


def _stop_pool(pool, wait_for_workers: bool) -> None:
    """Shut the pool down; when stopping early, end the workers instead of waiting for
    their runs (which may take minutes)."""
    # the executor has no public way to end running workers, and shutdown forgets them
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    if not wait_for_workers:
        for process in workers:
            with contextlib.suppress(Exception):
                process.terminate()
    pool.shutdown(wait=True)


@contextlib.contextmanager
def dask_session(scheduler: str, timeout_s: float = 30):
    """A Dask client connected to ``scheduler`` (or a one-line ClusterError), closed at the end.

    The client's own log lines stay off the terminal: a lost scheduler is reported in one
    line (see _dask_outcome), not by pages of reconnection tracebacks, which the client's
    background thread goes on printing after it is closed (so after a loss the quiet
    stays); runs that fail are reported per run either way.
    """
    client_class = _dask_client_class()
    restore = _quiet_dask_client_logs()  # after the import, which sets the loggers' levels
    client = None
    try:
        client = _connect(client_class, scheduler, timeout_s)
        yield client
    finally:
        lost = client is not None and client.status != "running"
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        if not lost:
            restore()


def _dask_client_class():
    try:
        from dask.distributed import Client
    except ImportError:
        raise ClusterError(
            "--scheduler: dask.distributed is not installed; pip install 'geroconvert[cluster]'"
        ) from None
    return Client


def check_scheduler_address(scheduler: str) -> None:
    """Refuse at once an address whose port cannot exist (Dask would retry it for the whole
    connect timeout); a well-formed address that nobody answers is found by connecting."""
    rest = scheduler.split("://", 1)[-1]
    port = rest.rsplit(":", 1)[-1] if ":" in rest else ""
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ClusterError(
            f"--scheduler {scheduler}: cannot connect (the port must be a number from 1 to 65535); "
            "give an address such as tcp://127.0.0.1:8786 of a running `dask scheduler`"
        )


def _connect(client_class, scheduler: str, timeout_s: float):
    """Connect in a helper thread, so that a stop signal and our own deadline are heard: a
    listener that is not a Dask scheduler can keep the Client waiting far past its timeout."""
    import threading

    check_scheduler_address(scheduler)
    outcome: dict = {}

    def attempt() -> None:
        try:
            outcome["client"] = client_class(scheduler, timeout=timeout_s)
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = error

    thread = threading.Thread(target=attempt, name="geroconvert-dask-connect", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s + 5.0
    while thread.is_alive():
        interrupts.check()
        if time.monotonic() > deadline:
            raise ClusterError(
                f"--scheduler {scheduler}: no Dask scheduler answered within {timeout_s:g} s; check the "
                "address (is it a `dask scheduler`?), or drop --scheduler to run locally"
            )
        thread.join(POLL_S)
    if "client" in outcome:
        return outcome["client"]
    error = outcome["error"]
    if isinstance(error, OSError | TimeoutError | ValueError | TypeError):
        reason = one_line(error)
    else:  # e.g. distributed reading another protocol's bytes as a message size (MemoryError)
        reason = f"not a Dask scheduler? {type(error).__name__}: {one_line(error)}"
    raise ClusterError(
        f"--scheduler {scheduler}: cannot connect ({reason}); give an address such as "
        "tcp://127.0.0.1:8786 of a running `dask scheduler` with workers, or drop --scheduler to run locally"
    )


def _quiet_dask_client_logs():
    """Silence the client-side Dask loggers; returns the function that restores them."""
    import logging

    loggers = [logging.getLogger(name) for name in ("distributed", "distributed.client", "distributed.comm")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)

    def restore() -> None:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)

    return restore


def on_dask(specs, mapping, client, scheduler: str, task=run_task):
    """Yield (spec, results or exception) as runs finish, on a Dask distributed cluster
    (``task`` as for :func:`on_local`).

    A lost scheduler ends the loop with a ClusterError (its unstarted runs did not fail:
    they are left for ``--resume``); a stop signal with ``Interrupted``.
    """
    import itertools

    from dask.distributed import as_completed

    todo = iter(specs)
    futures: dict = {}
    finished = as_completed()

    def submit(n: int) -> None:  # a window of runs in flight: the driver's memory does not grow with N
        for spec in itertools.islice(todo, n):
            future = client.submit(task, mapping, spec.overrides, spec.seed, 1, pure=False, retries=2)
            futures[future] = spec
            finished.add(future)

    submit(max(DASK_WINDOW_MIN, WINDOW_PER_WORKER * _dask_threads(client)))
    try:
        while futures:
            interrupts.check()
            batch = finished.next_batch(block=False)
            if not batch:
                time.sleep(POLL_S)
                continue
            for future in batch:
                outcome = _dask_outcome(future, client, scheduler)
                yield futures.pop(future), outcome
            submit(len(batch))
    finally:
        if client.status == "running":  # runs not yet started are not left to the cluster
            with contextlib.suppress(Exception):
                client.cancel(list(futures))


def _dask_threads(client) -> int:
    """The cluster's worker threads now (workers that join later share the same window)."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001 - the window is a tuning value; a lost scheduler shows up later
        return 1


def _dask_outcome(future, client, scheduler: str):
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a run's own failure is reported per run
        if client.status != "running" or _is_connection_loss(error):
            raise ClusterError(
                f"--scheduler {scheduler}: lost the connection to the scheduler ({type(error).__name__}); "
                "restart it and its workers, then resume with --resume"
            ) from None
        return error


def _is_connection_loss(error: BaseException) -> bool:
    import asyncio

    from distributed.comm.core import CommClosedError

    return isinstance(error, CommClosedError | asyncio.CancelledError)


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
