"""Numba kernels: arrays and scalars in, arrays out.  No I/O, no classes, no config.

The cell arrays come in as one tuple, ``arrays``, in ``core.state.CELL_FIELDS`` order
(``CellState.cell_arrays()``); a kernel picks one as ``arrays[C_PHASE]``.

The compiled kernels are cached on disk (``cache=True``).  Numba notices a change to a
kernel's own file, but not to functions it inlines from other modules (``rng.py``,
``core/layout.py``, ``units.py``, another kernel file) or to the field declaration it
reads (``core/state.py``): a stale cache would then silently run old rules.  So the
cache lives in a folder named after a hash of every kernel source, unless the user
chose one with NUMBA_CACHE_DIR.

Numba reads its cache folder when a kernel is decorated, so the folder must be settled
before the first kernel module is imported; that, and making the loads from that cache
lean (:func:`lean_cache_loads`), is what importing this package does.  Nothing else in
geroconvert imports it at import time except the modules that run kernels (the engine,
the assay), so ``import geroconvert`` and the parameter, config and layout modules leave
numba and the file system alone.
"""

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path


def source_keyed_cache_dir() -> Path:
    """``~/.cache/geroconvert/numba-<hash of the kernel sources>`` (XDG_CACHE_HOME respected)."""
    here = Path(__file__).resolve().parent
    sources = (
        sorted(here.glob("*.py"))
        + [here.parent / name for name in ("layout.py", "state.py")]
        + [here.parents[1] / "units.py"]
    )
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "geroconvert" / f"numba-{digest}"


def settle_cache_dir() -> None:
    """Point numba's cache at :func:`source_keyed_cache_dir` unless the user chose a folder."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    try:
        folder = source_keyed_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable home: numba's default (__pycache__) still works
        return
    import numba

    numba.config.CACHE_DIR = str(folder)


def lean_cache_loads() -> None:
    """Load this package's cached kernels without loading all of numba's compiler registries.

    Before it loads a kernel from its cache, numba refreshes its target context: it imports
    and installs every lowering and typing registry it has (array math, linear algebra, and
    with it scipy.linalg, typed containers, datetimes, ...), about 0.25 s, the most of a
    warm run's kernel load (issue 14, item 8).  A cached kernel is machine code and needs
    none of them, only numba's runtime (NRT, for the arrays kernels return); the modules its
    environment refers to are imported by numba when it unpickles the kernel.  Compiling
    still refreshes the context first (numba's compiler does so itself), so a cache miss, a
    new signature or anyone else's jitted function works as before.

    Only kernels of this package load this way; if a lean load fails for any reason, the
    kernel loads numba's own way.  A numba without these internals is left alone.
    """
    from numba.core import caching
    from numba.core.runtime import rtsys

    full_load = caching.Cache.load_overload
    if getattr(full_load, "lean_for", None) == __name__:  # already in place (a reloaded module)
        return
    if not all(hasattr(caching.Cache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors")):
        return
    if not hasattr(rtsys, "initialize"):
        return

    def load_overload(self, sig, target_context):
        if not getattr(getattr(self, "_py_func", None), "__module__", "").startswith(__name__ + "."):
            return full_load(self, sig, target_context)
        try:
            rtsys.initialize(target_context)  # what a cached kernel needs of the refresh
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)
        except Exception:  # noqa: BLE001 - the full load below reports what is really wrong
            return full_load(self, sig, target_context)

    load_overload.lean_for = __name__  # type: ignore[attr-defined]
    caching.Cache.load_overload = load_overload  # type: ignore[method-assign]


@contextlib.contextmanager
def one_thread(yes: bool = True) -> Iterator[None]:
    """Within the block (if ``yes``), every kernel runs on one thread; then as before.

    For small work, where waking the other threads costs more than the work itself.
    Results do not depend on the thread count."""
    if not yes:
        yield
        return
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(threads)


settle_cache_dir()
lean_cache_loads()
