"""Counter-based random numbers keyed by (seed, stream, cell uid, step).

A draw is a pure function of its key, so a run gives the same numbers whatever the
thread count, executor or order in which cells are visited, and two arms of an
experiment that share a seed share their random numbers cell by cell (common
random numbers).  The hash is splitmix64's finaliser applied to each key in turn
(Steele, Lea & Flood 2014); it passes BigCrush when used as a counter-based
generator.  Numba's global generator is never used.
"""

import math

import numpy as np
from numba import int64, njit, uint64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV_2_53 = 1.0 / 9007199254740992.0
_MASK64 = 0xFFFFFFFFFFFFFFFF


@njit(inline="always", cache=True)
def mix64(x):
    """splitmix64 finaliser: a bijection on 64-bit integers with full avalanche."""
    z = uint64(x) + _GOLDEN
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(inline="always", cache=True)
def stream_key(seed, stream, step):
    """Hash of the three keys shared by every cell in one step (hoisted out of cell loops)."""
    h = mix64(uint64(seed))
    h = mix64(h ^ uint64(stream))
    return mix64(h ^ uint64(step))


@njit(inline="always", cache=True)
def draw(key, uid):
    """A float64 in [0, 1) for one cell: splitmix64 of ``key + uid * golden`` (top 53 bits)."""
    z = mix64(uint64(key) + uint64(uid) * _GOLDEN)
    return float(int64(z >> uint64(11))) * _INV_2_53  # signed convert: one instruction


@njit(inline="always", cache=True)
def uniform(seed, stream, uid, step):
    """A float64 in [0, 1) keyed by (seed, stream, uid, step)."""
    return draw(stream_key(seed, stream, step), uid)


@njit(inline="always", cache=True)
def normal(seed, stream_a, stream_b, uid, step):
    """A standard normal by Box-Muller from two keyed uniforms."""
    return normal_from_keys(stream_key(seed, stream_a, step), stream_key(seed, stream_b, step), uid)


@njit(inline="always", cache=True)
def normal_from_keys(key_a, key_b, uid):
    """:func:`normal` with its two stream keys hashed once by the caller (hot loops)."""
    u1 = 1.0 - draw(key_a, uid)  # in (0, 1]: log is finite
    u2 = draw(key_b, uid)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def uniforms(seed: int, stream: int, uids, step: int) -> np.ndarray:
    """Vectorised :func:`uniform` for Python callers (tests, assays).

    numpy on uint64 arrays (which wrap as the kernel's integers do), so the same bits as
    :func:`uniform` without a kernel to load from numba's cache (issue 14, item 8).
    """
    key = _stream_key_int(seed, stream, step)
    uid = np.asarray(uids, dtype=np.int64).reshape(-1).astype(np.uint64)  # the kernel's uint64(uid)
    z = uid * _GOLDEN + np.uint64(key)
    z += _GOLDEN  # mix64 from here on
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.int64).astype(np.float64) * _INV_2_53


def _stream_key_int(seed: int, stream: int, step: int) -> int:
    """:func:`stream_key` for Python callers, on integers that fit an int64 (as the kernel's arguments)."""
    h = _mix64_int(int(np.int64(seed)) & _MASK64)
    h = _mix64_int(h ^ (int(np.int64(stream)) & _MASK64))
    return _mix64_int(h ^ (int(np.int64(step)) & _MASK64))


def _mix64_int(x: int) -> int:
    """:func:`mix64` on a Python integer in [0, 2**64): the same bits, without loading a kernel."""
    z = (x + int(_GOLDEN)) & _MASK64
    z = ((z ^ (z >> 30)) * int(_M1)) & _MASK64
    z = ((z ^ (z >> 27)) * int(_M2)) & _MASK64
    return z ^ (z >> 31)


def derive_seed(seed: int, *salt: int) -> int:
    """A new 63-bit seed from a seed and integers (e.g. an assay time point).

    Plain Python (called a few times a run): calling the ``mix64`` kernel from Python
    would load it from numba's cache first (issue 14, item 8).
    """
    h = _mix64_int(int(np.uint64(seed)))  # np.uint64: the same check of the seed as the kernel had
    for s in salt:
        h = _mix64_int(h ^ (int(s) & _MASK64))
    return h >> 1
