"""Numba kernels: arrays and scalars in, arrays out.  No I/O, no classes, no config.

The compiled kernels are cached on disk (``cache=True``).  Numba notices a change to a
kernel's own file, but not to functions it inlines from other modules (``rng.py``,
``layout.py``, another kernel file): a stale cache would then silently run old rules.
So the cache lives in a folder named after a hash of every kernel source, unless the
user chose one with NUMBA_CACHE_DIR.  This must run before the kernel modules are
imported, which is why it sits here.
"""

import hashlib
import os
from pathlib import Path


def _source_keyed_cache_dir() -> Path:
    here = Path(__file__).resolve().parent
    sources = sorted(here.glob("*.py")) + [here.parent / "rng.py"]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "geroconvert" / f"numba-{digest}"


if "NUMBA_CACHE_DIR" not in os.environ:
    try:
        _folder = _source_keyed_cache_dir()
        _folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable home: numba's default (__pycache__) still works
        pass
    else:
        import numba

        numba.config.CACHE_DIR = str(_folder)
