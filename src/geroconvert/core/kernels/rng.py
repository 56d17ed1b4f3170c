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
    """Vectorised :func:`uniform` for Python callers (tests, assays)."""
    return _uniforms(np.int64(seed), np.int64(stream), np.asarray(uids, dtype=np.int64), np.int64(step))


@njit(cache=True)
def _uniforms(seed, stream, uids, step):
    out = np.empty(uids.size, np.float64)
    for i in range(uids.size):
        out[i] = uniform(seed, stream, uids[i], step)
    return out


def derive_seed(seed: int, *salt: int) -> int:
    """A new 63-bit seed from a seed and integers (e.g. an assay time point)."""
    h = int(mix64(np.uint64(seed)))
    for s in salt:
        h = int(mix64(np.uint64(h ^ (int(s) & 0xFFFFFFFFFFFFFFFF))))
    return h >> 1
