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
before the first kernel module is imported; that is the one thing importing this package
does.  Nothing else in geroconvert imports it at import time except the modules that run
kernels (the engine, the assay), so ``import geroconvert`` and the parameter, config and
layout modules leave numba and the file system alone.
"""

import hashlib
import os
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


settle_cache_dir()
