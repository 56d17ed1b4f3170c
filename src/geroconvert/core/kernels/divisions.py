"""The ordered pass that changes occupancy: removals, divisions, differentiation, pushing.

Runs serially in site-index order, so two divisions that compete for one free site
are always resolved the same way (the lower index wins), whatever the thread count.
A push only moves cells to higher indices, together with their pending action, so
every cell is visited exactly once.
"""

import math

import numpy as np
from numba import njit

from geroconvert.core.kernels.rng import draw, stream_key
from geroconvert.core.kernels.cells import threshold_from_keys
from geroconvert.core.layout import ARRESTED, CLEAR, CYCLING, DIE, DIFFERENTIATED, DISH, E_BIRTHS, E_CLEARANCES, E_DEATHS, E_DIFFERENTIATIONS, E_DIVISIONS, E_SENESCENT_LOST, E_SHED, EMPTY, FIBROBLAST, K_DAMAGE_P16, K_DAMAGE_P21, K_DAMAGE_PER_DIVISION, K_PROG_DIV_MAX, K_PROG_DIV_MIN, K_REST_MEAN_H, K_STEM_RENEW_GAP, K_STEM_SYMMETRIC_LOSS, NONE, PROGENITOR, S_DIRECTION, S_DIVISIONS, S_FATE, S_RENEW, S_REPLICATION, S_REST, S_THRESHOLD_A, S_THRESHOLD_B, SENESCENT, SHED, STEM


@njit(inline="always", cache=True)
def move_cell(src, dst, uid, kind, phase, divisions_left, pending, mass, cycle, p21, p16, gero, gero_threshold,
              age_h, arrest_h, clone):
    uid[dst] = uid[src]
    kind[dst] = kind[src]
    phase[dst] = phase[src]
    divisions_left[dst] = divisions_left[src]
    pending[dst] = pending[src]
    mass[dst] = mass[src]
    cycle[dst] = cycle[src]
    p21[dst] = p21[src]
    p16[dst] = p16[src]
    gero[dst] = gero[src]
    gero_threshold[dst] = gero_threshold[src]
    age_h[dst] = age_h[src]
    arrest_h[dst] = arrest_h[src]
    clone[dst] = clone[src]
    phase[src] = EMPTY
    pending[src] = NONE


@njit(inline="always", cache=True)
def count_removal(phase_of_cell, events):
    if phase_of_cell == SENESCENT:
        events[E_SENESCENT_LOST] += 1


@njit(cache=True)
def push_column(col, first_row, width, rows, uid, kind, phase, divisions_left, pending, mass, cycle, p21, p16, gero,
                gero_threshold, age_h, arrest_h, clone, events):
    """Free the site (first_row, col) by shifting the stack above it up by one.

    The stack moves up to the first empty site; if the column is full the top cell is
    shed.  Returns the freed site index.
    """
    top = first_row
    while top < rows and phase[top * width + col] != EMPTY:
        top += 1
    if top == rows:  # column full: the top cell leaves the tissue
        top = rows - 1
        shed_site = top * width + col
        count_removal(phase[shed_site], events)
        events[E_SHED] += 1
        phase[shed_site] = EMPTY
        pending[shed_site] = NONE
    for r in range(top, first_row, -1):
        move_cell((r - 1) * width + col, r * width + col, uid, kind, phase, divisions_left, pending, mass, cycle,
                  p21, p16, gero, gero_threshold, age_h, arrest_h, clone)
    return first_row * width + col


@njit(inline="always", cache=True)
def free_neighbour(i, width, rows, geometry, row_lo, row_hi, phase, u):
    """A free von Neumann neighbour chosen by ``u`` in [0, 1), or -1.

    Rows outside [row_lo, row_hi) are not neighbours; the dish wraps vertically too.
    """
    row = i // width
    col = i - row * width
    cand = (row * width + (col - 1 if col > 0 else width - 1),
            row * width + (col + 1 if col < width - 1 else 0),
            -1, -1)
    if geometry == DISH:
        cand = (cand[0], cand[1], (row - 1 if row > 0 else rows - 1) * width + col,
                (row + 1 if row < rows - 1 else 0) * width + col)
    elif row_hi - row_lo > 1:
        down = (row - 1) * width + col if row - 1 >= row_lo else -1
        up = (row + 1) * width + col if row + 1 < row_hi else -1
        cand = (cand[0], cand[1], down, up)
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
def exhausted_neighbour(i, row, width, kind, phase, divisions_left, u):
    """A sideways basal neighbour that is an exhausted progenitor (no divisions left,
    cycling), chosen by ``u`` in [0, 1); or -1."""
    col = i - row * width
    left = row * width + (col - 1 if col > 0 else width - 1)
    right = row * width + (col + 1 if col < width - 1 else 0)
    ok_left = kind[left] == PROGENITOR and phase[left] == CYCLING and divisions_left[left] <= 0
    ok_right = kind[right] == PROGENITOR and phase[right] == CYCLING and divisions_left[right] <= 0 and \
        right != left
    if ok_left and ok_right:
        return left if u < 0.5 else right
    if ok_left:
        return left
    if ok_right:
        return right
    return -1


@njit(cache=True)
def delaminate(j, width, rows, uid, kind, phase, divisions_left, pending, mass, cycle, p21, p16, gero,
               gero_threshold, age_h, arrest_h, clone, events):
    """An exhausted progenitor leaves the basal row for the suprabasal site above it
    (pushing that column up) and differentiates; its basal site is left free."""
    row = j // width
    col = j - row * width
    kind[j] = DIFFERENTIATED
    phase[j] = ARRESTED
    arrest_h[j] = 0.0
    cycle[j] = 0.0
    events[E_DIFFERENTIATIONS] += 1
    up = push_column(col, row + 1, width, rows, uid, kind, phase, divisions_left, pending, mass, cycle,
                     p21, p16, gero, gero_threshold, age_h, arrest_h, clone, events)
    move_cell(j, up, uid, kind, phase, divisions_left, pending, mass, cycle, p21, p16, gero,
              gero_threshold, age_h, arrest_h, clone)


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
def apply_pending(geometry, width, rows, basal_row,
                  uid, kind, phase, divisions_left, pending, mass, cycle, p21, p16, gero, gero_threshold,
                  age_h, arrest_h, clone,
                  k, seed, step, next_uid, events):
    """Carry out every pending action in site order; returns the next free uid."""
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
    n = width * rows
    n_words = n // 8
    words = pending[:n_words * 8].view(np.uint64)
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
            row = i // width
            col = i - row * width
            # DIVIDE
            mother = uid[i]
            kd = kind[i]
            draw_direction = draw(key_direction, mother)
            daughter_kind = kd
            daughter_phase = CYCLING
            if geometry == DISH:
                dst = free_neighbour(i, width, rows, geometry, 0, rows, phase, draw_direction)
            elif kd == FIBROBLAST:
                dst = free_neighbour(i, width, rows, geometry, 0, basal_row, phase, draw_direction)
            else:
                # basal division: a free basal neighbour keeps the daughter basal; else she takes the
                # place of an exhausted progenitor neighbour, which delaminates (crowding-driven
                # delamination); else she differentiates and pushes the column above her mother up
                dst = free_neighbour(i, width, rows, geometry, row, row + 1, phase, draw_direction)
                if dst < 0 and row + 1 >= rows:
                    continue  # no basal room and no column above: nothing changes until there is
                if dst < 0:
                    dst = exhausted_neighbour(i, row, width, kind, phase, divisions_left, draw_direction)
                    if dst >= 0:
                        delaminate(dst, width, rows, uid, kind, phase, divisions_left, pending, mass, cycle, p21, p16,
                                   gero, gero_threshold, age_h, arrest_h, clone, events)
                fate = draw(key_fate, mother)
                if kd == STEM and fate < k[K_STEM_SYMMETRIC_LOSS]:
                    kind[i] = PROGENITOR
                    divisions_left[i] = progenitor_divisions(k, key_divisions, mother)
                if kind[i] == PROGENITOR:
                    divisions_left[i] -= 1
                if dst >= 0:
                    if kd == STEM and fate >= k[K_STEM_SYMMETRIC_LOSS] and \
                            draw(key_renew, mother) < k[K_STEM_RENEW_GAP]:
                        daughter_kind = STEM
                    else:
                        daughter_kind = PROGENITOR
                else:
                    dst = push_column(col, row + 1, width, rows, uid, kind, phase, divisions_left, pending, mass, cycle,
                                      p21, p16, gero, gero_threshold, age_h, arrest_h, clone, events)
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
                divisions_left[dst] = divisions_left[i] if kd == PROGENITOR else progenitor_divisions(k, key_divisions, child)
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
