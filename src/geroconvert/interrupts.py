"""Stop requests: Ctrl-C (SIGINT) and SIGTERM set a flag; long loops check it and stop cleanly.

A Python exception raised straight from a signal handler lands wherever the interpreter
happens to be: inside a numba call (numba then reports "returned a result with an
exception set"), inside an HDF5 commit (which a ``finally`` then restarts), in a weakref
callback (where it is printed and dropped), or after the last check (the run finishes and
exits 0).  So the handler only records the signal, and the places that can stop safely
ask :func:`check`: the engine between steps, the study loops between runs, the writers
before they move a finished file into place.

A second signal says the user will not wait for the stop's own last commit:
:func:`check_insisted`, asked inside that commit, ends it (the archive keeps what the
previous commit holds).  A third ends the process at once, as the default handler would.
What a command has safely on disk is noted with :func:`note_kept`, so the one-line
message of a stop says what is kept.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

_requested: int | None = None  # the first stop signal received, until cleared
_insisted: int | None = None  # a second stop signal
_kept = ""  # what the running command has safely on disk, for the stop message
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGNAL_NAMES: dict[int, str] = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}


class Interrupted(BaseException):
    """Raised where work stops for a signal.  A BaseException, like KeyboardInterrupt, so
    that per-run ``except Exception`` handlers do not mistake it for a failed run."""

    def __init__(self, signum: int):
        super().__init__(SIGNAL_NAMES.get(signum, f"signal {signum}"))
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def request(signum: int) -> None:
    """Ask running work to stop (what the signal handler does; tests call it directly)."""
    global _requested
    if _requested is None:
        _requested = signum


def requested() -> int | None:
    """The signal that asked for a stop, or None."""
    return _requested


def clear() -> None:
    global _requested, _insisted, _kept
    _requested = _insisted = None
    _kept = ""


def note_kept(text: str) -> None:
    """Record what is safely on disk now (e.g. "OUT.h5 keeps 12 complete runs; ...")."""
    global _kept
    _kept = text


def kept() -> str:
    return _kept


def check() -> None:
    """Raise :class:`Interrupted` if a stop was requested; call it where stopping is safe."""
    if _requested is not None:
        raise Interrupted(_requested)


def check_insisted() -> None:
    """Raise :class:`Interrupted` if a second signal came: for the work done while stopping."""
    if _insisted is not None:
        raise Interrupted(_insisted)


def _handler(signum, frame) -> None:
    global _insisted
    if _requested is None:
        request(signum)
    elif _insisted is None:
        _insisted = signum
    else:  # a third signal: the user wants the process gone, whatever it is doing
        _end_children()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _end_children() -> None:
    """Terminate this process's multiprocessing workers, which would otherwise outlive it."""
    import multiprocessing

    for child in multiprocessing.active_children():
        with contextlib.suppress(Exception):
            child.terminate()


@contextlib.contextmanager
def stop_on_signals(then_exit: bool = False) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM request a stop instead of raising anywhere.

    ``then_exit`` (the command line, whose process ends after the block): a signal that
    arrives after the block is ignored, so the process exits with the code the command
    decided (128 + signum after a stop)
    instead of dying by the signal's default action.  A stop now often ends within the 50
    ms a user takes to press Ctrl-C twice; the second press must not turn a clean stop
    into a death by signal.

    Only the main thread can install handlers; elsewhere (a web server's worker thread,
    a Dask worker) the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in _SIGNALS}
    clear()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # SIG_IGN, not a Python handler: finalisation resets those to the default (death)
            signal.signal(signum, signal.SIG_IGN if then_exit else handler)
        clear()
