"""The ordered pass that changes occupancy: removals, divisions, differentiation, pushing.

Runs serially in site-index order, so two divisions that compete for one free site
are always resolved the same way (the lower index wins), whatever the thread count.
A push only moves cells to higher indices, together with their pending action, so
every cell is visited exactly once.
"""

import math

import numpy as np
from numba import njit

from geroconvert.core.kernels.cells import threshold_from_keys
from geroconvert.core.kernels.rng import draw, stream_key
from geroconvert.core.kernels.sheet import lateral_sites, window_count
from geroconvert.core.layout import (
    ARRESTED,
    CLEAR,
    CYCLING,
    DAMAGE_EXIT,
    DIE,
    DIFFERENTIATED,
    DISH,
    E_BIRTHS,
    E_CLEARANCES,
    E_DAMAGE_EXITS,
    E_DEATHS,
    E_DIFFERENTIATIONS,
    E_DIVISIONS,
    E_SENESCENT_LOST,
    E_SHED,
    EMPTY,
    FIBROBLAST,
    K_DAMAGE_P16,
    K_DAMAGE_P21,
    K_DAMAGE_PER_DIVISION,
    K_MELANOCYTE_FRACTION,
    K_MELANOCYTE_REACH,
    K_PROG_DIV_MAX,
    K_PROG_DIV_MIN,
    K_REST_MEAN_H,
    K_STEM_FRACTION,
    K_STEM_NICHE_REACH,
    K_STEM_RENEW_GAP,
    K_STEM_SYMMETRIC_LOSS,
    MELANOCYTE,
    NONE,
    PROGENITOR,
    S_DIRECTION,
    S_DIVISIONS,
    S_FATE,
    S_RENEW,
    S_REPLICATION,
    S_REST,
    S_THRESHOLD_A,
    S_THRESHOLD_B,
    SENESCENT,
    SHED,
    STEM,
)
from geroconvert.core.state import (
    C_AGE_H,
    C_ARREST_H,
    C_CLONE,
    C_CYCLE,
    C_DIVISIONS_LEFT,
    C_GERO,
    C_GERO_THRESHOLD,
    C_KIND,
    C_MASS,
    C_P16,
    C_P21,
    C_PENDING,
    C_PHASE,
    C_UID,
)


@njit(inline="always", cache=True)
def shift_up(col, first_row, top, plane, arrays):
    """Move the cells in rows first_row .. top - 1 of column ``col`` (with their pending
    actions) up one row, into row ``top``, which must be free; the site (first_row, col)
    becomes free.  The site's SASP stays.
    """
    if top == first_row:
        return
    for r in range(top, first_row, -1):
        dst = r * plane + col
        src = dst - plane
        # Every array in state.MOVING_FIELDS, written out: numba's literal_unroll over the
        # tuple made each push 130 ns slower (the epidermis 5%; benchmarks/kernel_arguments.py).
        # tests/core/test_state.py fails if an array FIELDS marks as moving is left out here.
        arrays[C_UID][dst] = arrays[C_UID][src]
        arrays[C_KIND][dst] = arrays[C_KIND][src]
        arrays[C_PHASE][dst] = arrays[C_PHASE][src]
        arrays[C_DIVISIONS_LEFT][dst] = arrays[C_DIVISIONS_LEFT][src]
        arrays[C_PENDING][dst] = arrays[C_PENDING][src]
        arrays[C_MASS][dst] = arrays[C_MASS][src]
        arrays[C_CYCLE][dst] = arrays[C_CYCLE][src]
        arrays[C_P21][dst] = arrays[C_P21][src]
        arrays[C_P16][dst] = arrays[C_P16][src]
        arrays[C_GERO][dst] = arrays[C_GERO][src]
        arrays[C_GERO_THRESHOLD][dst] = arrays[C_GERO_THRESHOLD][src]
        arrays[C_AGE_H][dst] = arrays[C_AGE_H][src]
        arrays[C_ARREST_H][dst] = arrays[C_ARREST_H][src]
        arrays[C_CLONE][dst] = arrays[C_CLONE][src]
    freed = first_row * plane + col
    arrays[C_PHASE][freed] = EMPTY
    arrays[C_PENDING][freed] = NONE


@njit(inline="always", cache=True)
def count_removal(phase_of_cell, events):
    if phase_of_cell == SENESCENT:
        events[E_SENESCENT_LOST] += 1


@njit(cache=True)
def push_column(col, first_row, plane, rows, arrays, events):
    """Free the site (first_row, col) by shifting the stack above it up by one.

    The stack moves up to the first empty site; if the column is full the top cell is
    shed.  Returns the freed site index.
    """
    phase = arrays[C_PHASE]
    top = first_row
    while top < rows and phase[top * plane + col] != EMPTY:
        top += 1
    if top == rows:  # column full: the top cell leaves the tissue
        top = rows - 1
        shed_site = top * plane + col
        count_removal(phase[shed_site], events)
        events[E_SHED] += 1
        phase[shed_site] = EMPTY
        arrays[C_PENDING][shed_site] = NONE
    shift_up(col, first_row, top, plane, arrays)
    return first_row * plane + col


@njit(inline="always", cache=True)
def free_neighbour(i, plane, sheet_width, rows, geometry, row_lo, row_hi, phase, u):
    """A free von Neumann neighbour chosen by ``u`` in [0, 1), or -1.

    In the order left, right, front, back (in the layer), down, up.  Rows outside
    [row_lo, row_hi) are not neighbours; the dish wraps vertically too.
    """
    row = i // plane
    col = i - row * plane
    left, right, front, back = lateral_sites(i, row, plane, sheet_width)
    down = -1
    up = -1
    if geometry == DISH:
        down = (row - 1 if row > 0 else rows - 1) * plane + col
        up = (row + 1 if row < rows - 1 else 0) * plane + col
    elif row_hi - row_lo > 1:
        down = (row - 1) * plane + col if row - 1 >= row_lo else -1
        up = (row + 1) * plane + col if row + 1 < row_hi else -1
    cand = (left, right, front, back, down, up)
    n_free = 0
    for j in cand:
        if j >= 0 and phase[j] == EMPTY:
            n_free += 1
    if n_free == 0:
        return -1
    pick = int(u * n_free)
    for j in cand:
        if j >= 0 and phase[j] == EMPTY:
            if pick == 0:
                return j
            pick -= 1
    return -1


@njit(inline="always", cache=True)
def pick_lateral(left, right, front, back, ok_left, ok_right, ok_front, ok_back, u):
    """The ``int(u * n)``-th of the n qualifying sites in the order left, right, front, back
    (on a row: ``u`` < 0.5 picks left when both qualify); -1 if none does."""
    n = ok_left + ok_right + ok_front + ok_back
    if n == 0:
        return -1
    pick = int(u * n)
    for j, ok in ((left, ok_left), (right, ok_right), (front, ok_front), (back, ok_back)):
        if ok:
            if pick == 0:
                return j
            pick -= 1
    return -1


@njit(inline="always", cache=True)
def exhausted_neighbour(i, row, plane, sheet_width, kind, phase, divisions_left, u):
    """A basal neighbour in the layer that is an exhausted progenitor (no divisions left,
    cycling), chosen by ``u`` in [0, 1); or -1."""
    left, right, front, back = lateral_sites(i, row, plane, sheet_width)
    return pick_lateral(
        left,
        right,
        front,
        back,
        is_exhausted(left, kind, phase, divisions_left),
        is_exhausted(right, kind, phase, divisions_left) and right != left,
        front >= 0 and is_exhausted(front, kind, phase, divisions_left),
        back >= 0 and is_exhausted(back, kind, phase, divisions_left),
        u,
    )


@njit(inline="always", cache=True)
def is_exhausted(j, kind, phase, divisions_left):
    return kind[j] == PROGENITOR and phase[j] == CYCLING and divisions_left[j] <= 0


@njit(inline="always", cache=True)
def is_displaceable(j, kind, phase, pending):
    """A progenitor, not senescent and with nothing pending (a pending action would be
    carried up with it and done there)."""
    return kind[j] == PROGENITOR and phase[j] != EMPTY and phase[j] != SENESCENT and pending[j] == NONE


@njit(inline="always", cache=True)
def progenitor_neighbour(i, row, plane, sheet_width, kind, phase, pending, u):
    """A basal neighbour in the layer that is a displaceable progenitor, chosen by ``u`` in
    [0, 1) among those that are; or -1."""
    left, right, front, back = lateral_sites(i, row, plane, sheet_width)
    return pick_lateral(
        left,
        right,
        front,
        back,
        is_displaceable(left, kind, phase, pending),
        is_displaceable(right, kind, phase, pending) and right != left,
        front >= 0 and is_displaceable(front, kind, phase, pending),
        back >= 0 and is_displaceable(back, kind, phase, pending),
        u,
    )


@njit(inline="always", cache=True)
def at_density(i, row, plane, sheet_width, reach_sites, fraction, of_kind, kind, phase):
    """Whether the cells of ``of_kind`` within ``reach_sites`` basal sites either side of the
    cell at ``i`` (itself, of that kind, included; each site once; a square on a sheet)
    already make up ``fraction`` of those sites: then its division does not add another of
    its kind."""
    count, sites = window_count(i, row, plane, sheet_width, reach_sites, of_kind, kind, phase)
    return count >= fraction * sites


@njit(inline="always", cache=True)
def melanocytes_at_density(i, row, plane, sheet_width, k, kind, phase):
    """A melanocyte at ``melanocyte_fraction`` within ``melanocyte_reach_sites`` does not divide."""
    reach = int(k[K_MELANOCYTE_REACH])
    return at_density(i, row, plane, sheet_width, reach, k[K_MELANOCYTE_FRACTION], MELANOCYTE, kind, phase)


@njit(inline="always", cache=True)
def stem_niche_open(i, row, plane, sheet_width, k, kind, phase):
    """Whether the niche around the stem cell at ``i`` lacks stem cells (fewer than
    ``stem_fraction`` of the sites within ``stem_niche_reach_sites``, senescent ones counted):
    then its division gives two stem cells.  Never with no niche (reach 0)."""
    reach = int(k[K_STEM_NICHE_REACH])
    if reach <= 0:
        return False
    return not at_density(i, row, plane, sheet_width, reach, k[K_STEM_FRACTION], STEM, kind, phase)


@njit(cache=True)
def delaminate(j, plane, rows, arrays, events):
    """A basal keratinocyte (an exhausted progenitor, or a damaged one leaving) moves to the
    suprabasal site above it (pushing that column up) and differentiates; its basal site
    is left free."""
    row = j // plane
    col = j - row * plane
    arrays[C_KIND][j] = DIFFERENTIATED
    arrays[C_PHASE][j] = ARRESTED
    arrays[C_ARREST_H][j] = 0.0
    arrays[C_CYCLE][j] = 0.0
    events[E_DIFFERENTIATIONS] += 1
    push_column(col, row + 1, plane, rows, arrays, events)
    shift_up(col, row, row + 1, plane, arrays)


@njit(inline="always", cache=True)
def progenitor_divisions(k, key_divisions, cell):
    lo = int(k[K_PROG_DIV_MIN])
    hi = int(k[K_PROG_DIV_MAX])
    return lo + int(draw(key_divisions, cell) * (hi - lo + 1))


@njit(inline="always", cache=True)
def newborn_cycle(k, key_rest, cell):
    """0, or a negative value whose size is an exponential G0 rest in units of its mean."""
    if k[K_REST_MEAN_H] <= 0.0:
        return 0.0
    return math.log(1.0 - draw(key_rest, cell))


@njit(cache=True)
def apply_pending(geometry, plane, sheet_width, rows, basal_row, arrays, k, seed, step, next_uid, events):
    """Carry out every pending action in site order; returns the next free uid.

    ``arrays``: every cell array, in ``state.CELL_FIELDS`` order (``CellState.cell_arrays()``).
    """
    uid, kind, phase = arrays[C_UID], arrays[C_KIND], arrays[C_PHASE]
    divisions_left, pending, mass = arrays[C_DIVISIONS_LEFT], arrays[C_PENDING], arrays[C_MASS]
    cycle, p21, p16 = arrays[C_CYCLE], arrays[C_P21], arrays[C_P16]
    gero, gero_threshold, age_h = arrays[C_GERO], arrays[C_GERO_THRESHOLD], arrays[C_AGE_H]
    arrest_h, clone = arrays[C_ARREST_H], arrays[C_CLONE]
    # the stream keys of this step (and the run's threshold keys), hashed once
    key_direction = stream_key(seed, S_DIRECTION, step)
    key_fate = stream_key(seed, S_FATE, step)
    key_renew = stream_key(seed, S_RENEW, step)
    key_divisions = stream_key(seed, S_DIVISIONS, step)
    key_rest = stream_key(seed, S_REST, step)
    key_replication = stream_key(seed, S_REPLICATION, step)
    key_threshold_a = stream_key(seed, S_THRESHOLD_A, 0)
    key_threshold_b = stream_key(seed, S_THRESHOLD_B, 0)
    # most sites have nothing pending: skip them eight at a time (NONE is 0); the words are
    # read as the pass goes, so an action pushed into a later word is still seen
    n = plane * rows
    n_words = n // 8
    words = pending[: n_words * 8].view(np.uint64)
    for w in range(n_words + 1):
        if w < n_words and words[w] == 0:
            continue
        for i in range(w * 8, min(w * 8 + 8, n)):
            action = pending[i]
            if action == NONE:
                continue
            pending[i] = NONE
            if action == CLEAR or action == DIE or action == SHED:
                count_removal(phase[i], events)
                if action == CLEAR:
                    events[E_CLEARANCES] += 1
                elif action == DIE:
                    events[E_DEATHS] += 1
                else:
                    events[E_SHED] += 1
                phase[i] = EMPTY
                continue
            if action == DAMAGE_EXIT:  # decided only where there is a row above (cells.update_one)
                events[E_DAMAGE_EXITS] += 1
                delaminate(i, plane, rows, arrays, events)
                continue
            row = i // plane
            col = i - row * plane
            # DIVIDE
            mother = uid[i]
            kd = kind[i]
            draw_direction = draw(key_direction, mother)
            daughter_kind = kd
            daughter_phase = CYCLING
            if geometry == DISH:
                dst = free_neighbour(i, plane, sheet_width, rows, geometry, 0, rows, phase, draw_direction)
            elif kd == FIBROBLAST:
                dst = free_neighbour(i, plane, sheet_width, rows, geometry, 0, basal_row, phase, draw_direction)
            elif kd == MELANOCYTE:  # below its density only: into a free basal site, or a progenitor's
                dst = -1
                if not melanocytes_at_density(i, row, plane, sheet_width, k, kind, phase):
                    dst = free_neighbour(i, plane, sheet_width, rows, geometry, row, row + 1, phase, draw_direction)
                    if dst < 0 and row + 1 < rows:
                        dst = progenitor_neighbour(i, row, plane, sheet_width, kind, phase, pending, draw_direction)
                        if dst >= 0:
                            delaminate(dst, plane, rows, arrays, events)
            else:
                # basal division: a free basal neighbour keeps the daughter basal; else she takes the
                # place of an exhausted progenitor neighbour, which delaminates (crowding-driven
                # delamination); else she differentiates and pushes the column above her mother up
                dst = free_neighbour(i, plane, sheet_width, rows, geometry, row, row + 1, phase, draw_direction)
                if dst < 0 and row + 1 >= rows:
                    continue  # no basal room and no column above: nothing changes until there is
                if dst < 0:
                    dst = exhausted_neighbour(i, row, plane, sheet_width, kind, phase, divisions_left, draw_direction)
                    if dst >= 0:
                        delaminate(dst, plane, rows, arrays, events)
                fate = draw(key_fate, mother)
                commits = kd == STEM and fate < k[K_STEM_SYMMETRIC_LOSS]
                # the niche refills itself: a stem cell short of stem neighbours makes room for a
                # second stem cell where a progenitor stood (not at the top of a full lattice)
                refills = kd == STEM and not commits and stem_niche_open(i, row, plane, sheet_width, k, kind, phase)
                if refills and dst < 0:
                    dst = progenitor_neighbour(i, row, plane, sheet_width, kind, phase, pending, draw_direction)
                    if dst >= 0:
                        delaminate(dst, plane, rows, arrays, events)
                if commits:
                    kind[i] = PROGENITOR
                    divisions_left[i] = progenitor_divisions(k, key_divisions, mother)
                if kind[i] == PROGENITOR:
                    divisions_left[i] -= 1
                if dst >= 0:
                    if kd == STEM and not commits and (refills or draw(key_renew, mother) < k[K_STEM_RENEW_GAP]):
                        daughter_kind = STEM
                    else:
                        daughter_kind = PROGENITOR
                else:
                    dst = push_column(col, row + 1, plane, rows, arrays, events)
                    daughter_kind = DIFFERENTIATED
                    daughter_phase = ARRESTED
            if dst < 0:
                continue  # contact-inhibited: the cell waits at the end of its cycle
            child = next_uid
            next_uid += 1
            events[E_DIVISIONS] += 1
            events[E_BIRTHS] += 1
            half = mass[i] * 0.5
            mass[i] = half
            gero[i] = 0.0
            age_h[i] = 0.0
            cycle[i] = newborn_cycle(k, key_rest, mother)
            uid[dst] = child
            kind[dst] = daughter_kind
            phase[dst] = daughter_phase
            pending[dst] = NONE
            mass[dst] = half
            p21[dst] = p21[i]
            p16[dst] = p16[i]
            gero[dst] = 0.0
            gero_threshold[dst] = threshold_from_keys(k, key_threshold_a, key_threshold_b, child)
            age_h[dst] = 0.0
            arrest_h[dst] = 0.0
            clone[dst] = clone[i]
            if daughter_kind == PROGENITOR:
                divisions_left[dst] = (
                    divisions_left[i] if kd == PROGENITOR else progenitor_divisions(k, key_divisions, child)
                )
            else:
                divisions_left[dst] = 0
            cycle[dst] = newborn_cycle(k, key_rest, child) if daughter_phase == CYCLING else 0.0
            # an exhausted progenitor is post-mitotic at once: it waits, out of the cycle, to delaminate
            if kind[i] == PROGENITOR and divisions_left[i] <= 0:
                cycle[i] = 1.0
            if daughter_kind == PROGENITOR and divisions_left[dst] <= 0:
                cycle[dst] = 1.0
            # replication stress: each daughter may take a DNA-damage hit, like any other
            if draw(key_replication, mother) < k[K_DAMAGE_PER_DIVISION]:
                p21[i] = min(1.0, p21[i] + k[K_DAMAGE_P21])
                p16[i] = min(1.0, p16[i] + k[K_DAMAGE_P16])
            if draw(key_replication, child) < k[K_DAMAGE_PER_DIVISION]:
                p21[dst] = min(1.0, p21[dst] + k[K_DAMAGE_P21])
                p16[dst] = min(1.0, p16[dst] + k[K_DAMAGE_P16])
    return next_uid
