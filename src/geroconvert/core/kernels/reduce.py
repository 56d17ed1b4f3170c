"""Tallies over the lattice, in fixed chunks so that float sums do not depend on threads."""

import numpy as np
from numba import njit, prange

from geroconvert.core.layout import CYCLING, DIFFERENTIATED, EMPTY, N_KINDS, N_PHASES, PROGENITOR, STEM
from geroconvert.core.state import C_CLONE, C_CYCLE, C_KIND, C_MASS, C_P16, C_PHASE, C_SASP

N_CHUNKS = 64
# float sums per chunk
F_MASS = 0
F_SASP = 1
F_P16 = 2
N_F = 3


@njit(parallel=True, cache=True)
def tally(arrays, p16_positive):
    """Counts per kind x phase, p16+ counts per kind x phase, and float sums
    (``arrays``: every cell array, in ``state.CELL_FIELDS`` order).

    Returns (counts[N_KINDS, N_PHASES], p16pos[N_KINDS, N_PHASES], sums[N_F]).
    """
    kind, phase, mass, p16, sasp = arrays[C_KIND], arrays[C_PHASE], arrays[C_MASS], arrays[C_P16], arrays[C_SASP]
    n = phase.size
    counts = np.zeros((N_CHUNKS, N_KINDS, N_PHASES), np.int64)
    p16pos = np.zeros((N_CHUNKS, N_KINDS, N_PHASES), np.int64)
    sums = np.zeros((N_CHUNKS, N_F), np.float64)
    for c in prange(N_CHUNKS):
        lo = n * c // N_CHUNKS
        hi = n * (c + 1) // N_CHUNKS
        for i in range(lo, hi):
            sums[c, F_SASP] += sasp[i]
            ph = phase[i]
            if ph == EMPTY:
                continue
            kd = kind[i]
            counts[c, kd, ph] += 1
            if p16[i] >= p16_positive:
                p16pos[c, kd, ph] += 1
            sums[c, F_MASS] += mass[i]
            sums[c, F_P16] += p16[i]
    # the chunks added up by loops, not ``.sum(axis=0)``: numpy reductions would make loading
    # the cached kernel import numba's array-math module, and through it scipy (~0.1 s a run)
    total_counts = np.zeros((N_KINDS, N_PHASES), np.int64)
    total_p16pos = np.zeros((N_KINDS, N_PHASES), np.int64)
    total = np.zeros(N_F, np.float64)
    for c in range(N_CHUNKS):  # fixed order: bit-identical for any thread count
        for f in range(N_F):
            total[f] += sums[c, f]
        for kd in range(N_KINDS):
            for ph in range(N_PHASES):
                total_counts[kd, ph] += counts[c, kd, ph]
                total_p16pos[kd, ph] += p16pos[c, kd, ph]
    return total_counts, total_p16pos, total


@njit(parallel=True, cache=True)
def in_cycle_by_kind(arrays):
    """Cells progressing through the cycle, per kind: CYCLING, past any G0 rest and not
    waiting at its end (contact-inhibited, or an exhausted progenitor)."""
    kind, phase, cycle = arrays[C_KIND], arrays[C_PHASE], arrays[C_CYCLE]
    n = phase.size
    counts = np.zeros((N_CHUNKS, N_KINDS), np.int64)
    for c in prange(N_CHUNKS):
        for i in range(n * c // N_CHUNKS, n * (c + 1) // N_CHUNKS):
            if phase[i] == CYCLING and 0.0 <= cycle[i] < 1.0:
                counts[c, kind[i]] += 1
    total = np.zeros(N_KINDS, np.int64)
    for c in range(N_CHUNKS):  # a loop, not counts.sum(axis=0): see tally
        for kd in range(N_KINDS):
            total[kd] += counts[c, kd]
    return total


@njit(cache=True)
def clone_sizes(arrays, labels):
    """Epidermal cells and basal cells (stem, progenitor) of each labelled clone.

    ``labels``: the clone labels followed, sorted ascending (the founders' uids).  Returns
    (cells[len(labels)], basal[len(labels)]).  Serial: it runs once per record, and integer
    counts do not depend on the order anyway.
    """
    kind, phase, clone = arrays[C_KIND], arrays[C_PHASE], arrays[C_CLONE]
    cells = np.zeros(labels.size, np.int64)
    basal = np.zeros(labels.size, np.int64)
    for i in range(phase.size):
        kd = kind[i]
        if phase[i] == EMPTY or not (kd == STEM or kd == PROGENITOR or kd == DIFFERENTIATED):
            continue
        j = _find(labels, clone[i])
        if j >= 0:
            cells[j] += 1
            if kd != DIFFERENTIATED:
                basal[j] += 1
    return cells, basal


@njit(inline="always", cache=True)
def _find(sorted_values, value):
    """Index of ``value`` in ``sorted_values``, or -1 (a loop: np.searchsorted would load
    numba's array-math module with the cached kernel)."""
    lo, hi = 0, sorted_values.size
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_values[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    if lo < sorted_values.size and sorted_values[lo] == value:
        return lo
    return -1
