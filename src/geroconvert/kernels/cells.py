"""Per-cell rules of one step (signalling, p21/p16, growth, arrest, geroconversion).

Every site is updated independently in parallel: a cell reads only its own arrays,
its own SASP site and whether its neighbours are occupied (occupancy changes only in
the ordered pass of ``divisions.apply_pending``), so the result does not depend on the
thread count.  Anything that changes occupancy (division, death, clearance, shedding,
differentiation) is only *decided* here and written to ``pending``.
"""

import math

from numba import njit, prange

from ..rng import draw, normal, stream_key
from .layout import (ARRESTED, CYCLING, DIE, DIFFERENTIATED, DISH, DIVIDE, EMPTY, FIBROBLAST,
                     K_CONTACT_MAX, K_CYCLE_H, K_DAMAGE_P16, K_DAMAGE_P21, K_DEATH_P, K_DIVISION_MASS, K_DT,
                     K_FIBROBLAST_CYCLE_H, K_GERO_RATE, K_HYPERTROPHY_RATE, K_INDUCER_P16, K_INDUCER_P21, K_MASS_MAX,
                     K_P16_RELAX, K_P16_RISE_AGE, K_P16_RISE_ARRESTED, K_P16_RISE_SENESCENT, K_P16_THRESHOLD,
                     K_P21_RELAX, K_P21_THRESHOLD, K_REST_MEAN_H, K_SASP_P21, K_SASP_SECRETION, K_SENESCENT_DEATH_P,
                     K_STEM_CYCLE_FACTOR, K_STEM_MTOR, K_THR_MEDIAN, K_THR_SIGMA, K_TRANSIT_H, K_W_GERO, K_W_GROW, NONE, P_CLEAR_P,
                     P_DAMAGE_P, P_DRIVE, P_INDUCER, PROGENITOR, S_EVENTS, S_THRESHOLD_A,
                     S_THRESHOLD_B, SENESCENT, SHED, STEM, CLEAR)

LN2 = math.log(2.0)


@njit(inline="always", cache=True)
def occupied_neighbours(i, row, width, rows, geometry, phase):
    """Occupied von Neumann neighbours; the dish wraps both ways, the epidermis only sideways."""
    col = i - row * width
    left = row * width + (col - 1 if col > 0 else width - 1)
    right = row * width + (col + 1 if col < width - 1 else 0)
    count = (phase[left] != EMPTY) + (phase[right] != EMPTY)
    if geometry == DISH:
        down = (row - 1 if row > 0 else rows - 1) * width + col
        up = (row + 1 if row < rows - 1 else 0) * width + col
        count += (phase[down] != EMPTY) + (phase[up] != EMPTY)
    else:
        if row > 0:
            count += phase[i - width] != EMPTY
        if row < rows - 1:
            count += phase[i + width] != EMPTY
    return count


@njit(inline="always", cache=True)
def basal_gap(i, row, width, phase):
    """Whether a sideways neighbour (same row, wrapping) is free."""
    col = i - row * width
    left = row * width + (col - 1 if col > 0 else width - 1)
    right = row * width + (col + 1 if col < width - 1 else 0)
    return phase[left] == EMPTY or phase[right] == EMPTY


@njit(inline="always", cache=True)
def gero_threshold_draw(k, seed, uid):
    """Lognormal per-cell threshold, drawn once from the cell's uid (step 0)."""
    z = normal(seed, S_THRESHOLD_A, S_THRESHOLD_B, uid, 0)
    return k[K_THR_MEDIAN] * math.exp(k[K_THR_SIGMA] * z)


@njit(inline="always", cache=True)
def cycle_time_h(kind, k):
    if kind == STEM:
        return k[K_CYCLE_H] * k[K_STEM_CYCLE_FACTOR]
    if kind == FIBROBLAST:
        return k[K_FIBROBLAST_CYCLE_H]
    return k[K_CYCLE_H]


@njit(inline="always", cache=True)
def hypertrophy(mass, growth_drive, k):
    """Exact logistic growth over one step towards ``mass_max`` (converges in dt)."""
    m_max = k[K_MASS_MAX]
    if mass >= m_max:
        return mass
    decay = math.exp(-k[K_HYPERTROPHY_RATE] * growth_drive * k[K_DT])
    return m_max / (1.0 + (m_max / mass - 1.0) * decay)


# what a cell's update reports back for the event counters
_NOTHING = 0
_ARRESTED = 1
_RESUMED = 2
_CONVERTED = 3


@njit(inline="always", cache=True)
def update_one(i, row, geometry, width, rows, kind, phase, divisions_left, pending, mass, cycle, p21, p16, gero,
               gero_threshold, age_h, arrest_h, sasp, k, p, s6k_factor, e4bp_factor, event_key, uid):
    """Steps 2-7 for the cell at site ``i``; returns what happened (for the counters)."""
    dt = k[K_DT]
    ph = phase[i]
    kd = kind[i]
    cell = uid[i]
    report = _NOTHING

    # 2. signalling: two mTOR branches with drug inhibition per row
    drive = p[P_DRIVE]
    occupied = 0  # read once: for contact inhibition of mTOR and for room to divide in the dish
    if k[K_CONTACT_MAX] > 0.0 or geometry == DISH:
        occupied = occupied_neighbours(i, row, width, rows, geometry, phase)
    if k[K_CONTACT_MAX] > 0.0:
        crowd = occupied / 4.0
        drive *= 1.0 - k[K_CONTACT_MAX] * crowd * crowd
    if kd == STEM:
        drive *= k[K_STEM_MTOR]  # quiescent stem cells keep mTORC1 low (a Wnt1-like gain raises it)
    s6k = drive * s6k_factor
    e4bp = drive * e4bp_factor
    gero_drive = k[K_W_GERO] * s6k + (1.0 - k[K_W_GERO]) * e4bp
    growth_drive = k[K_W_GROW] * s6k + (1.0 - k[K_W_GROW]) * e4bp

    # 3. CDK inhibitors: first-order relaxation to their drivers, damage kicks, slow p16 rise
    x21 = p21[i]
    target21 = min(1.0, p[P_INDUCER] * k[K_INDUCER_P21] + k[K_SASP_P21] * sasp[i])
    x21 += (target21 - x21) * k[K_P21_RELAX]
    x16 = p16[i]
    x16 += (min(1.0, p[P_INDUCER] * k[K_INDUCER_P16]) - x16) * k[K_P16_RELAX]
    rise = k[K_P16_RISE_AGE]
    if ph == SENESCENT:
        rise += k[K_P16_RISE_SENESCENT]
    elif ph == ARRESTED and kd != DIFFERENTIATED:
        rise += k[K_P16_RISE_ARRESTED] * gero_drive  # a late geroconversion marker: mTOR-driven
    x16 += rise * dt * (1.0 - x16)
    # One uniform per cell and step decides its rare events: [0, damage) is a DNA-damage
    # hit, the next slices clearance or death (competing risks; one hash, not three).
    u = 1.0
    if p[P_DAMAGE_P] > 0.0 or k[K_DEATH_P] > 0.0 or ph == SENESCENT:
        u = draw(event_key, cell)
    if u < p[P_DAMAGE_P]:
        x21 = min(1.0, x21 + k[K_DAMAGE_P21])
        x16 = min(1.0, x16 + k[K_DAMAGE_P16])
    # store only what changed: most cells in a quiet tissue keep p21 and p16, and an
    # unchanged store still costs memory bandwidth when its cache line is written back
    if x21 != p21[i]:
        p21[i] = x21
    if x16 != p16[i]:
        p16[i] = x16
    blocked = x21 > k[K_P21_THRESHOLD] or x16 > k[K_P16_THRESHOLD]
    age_h[i] += dt

    # 4-7. fates
    action = NONE
    if kd == DIFFERENTIATED:
        arrest_h[i] += dt
        if arrest_h[i] >= k[K_TRANSIT_H]:
            action = SHED
    elif ph == CYCLING:
        if blocked:
            phase[i] = ARRESTED
            arrest_h[i] = 0.0
            report = _ARRESTED
        else:
            c = cycle[i]
            if c < 0.0:  # G0 rest after a division
                if geometry != DISH and (kd == STEM or kd == PROGENITOR) and basal_gap(i, row, width, phase):
                    c = 0.0  # a free basal neighbour ends the rest: the basal layer refills (assumption)
                else:
                    c = min(0.0, c + dt / k[K_REST_MEAN_H])
            elif c < 1.0:
                ch = cycle_time_h(kd, k)
                c += growth_drive * dt / ch
                mass[i] = min(mass[i] * math.exp(LN2 * growth_drive * dt / ch), k[K_MASS_MAX])
            if c != cycle[i]:
                cycle[i] = c
            # an exhausted progenitor waits at the end of its cycle until a dividing neighbour
            # displaces it (divisions.delaminate)
            if c >= 1.0 and mass[i] >= k[K_DIVISION_MASS] and not (kd == PROGENITOR and divisions_left[i] <= 0):
                # in the dish a cell with four occupied neighbours is contact-inhibited and does
                # not ask; elsewhere the ordered pass decides (basal cells push)
                if geometry != DISH or occupied < 4:
                    action = DIVIDE
    elif ph == ARRESTED:
        if not blocked:
            phase[i] = CYCLING
            arrest_h[i] = 0.0
            report = _RESUMED
        else:
            arrest_h[i] += dt
            mass[i] = hypertrophy(mass[i], growth_drive, k)
            g = gero[i] + k[K_GERO_RATE] * gero_drive * dt
            gero[i] = g
            if g >= gero_threshold[i]:
                phase[i] = SENESCENT
                report = _CONVERTED
    else:  # SENESCENT: hypertrophic, secretes SASP in proportion to mTOR, may be cleared
        arrest_h[i] += dt
        mass[i] = hypertrophy(mass[i], growth_drive, k)
        sasp[i] += k[K_SASP_SECRETION] * gero_drive * dt
        v = u - p[P_DAMAGE_P]
        if 0.0 <= v < p[P_CLEAR_P]:
            action = CLEAR
        elif 0.0 <= v - p[P_CLEAR_P] < k[K_SENESCENT_DEATH_P]:
            action = DIE
    if action == NONE and ph != SENESCENT and k[K_DEATH_P] > 0.0:
        if 0.0 <= u - p[P_DAMAGE_P] < k[K_DEATH_P]:
            action = DIE
    if action != NONE:  # the ordered pass leaves every other site's pending at NONE
        pending[i] = action
    return report


@njit(parallel=True, cache=True)
def update_cells(geometry, width, rows,
                 uid, kind, phase, divisions_left, pending, mass, cycle, p21, p16, gero, gero_threshold,
                 age_h, arrest_h, sasp,
                 k, p, s6k_row, e4bp_row, seed, step):
    """Steps 2-7 of the step order for every cell; returns (arrests, resumes, conversions).

    Rows run in parallel; the random keys of the step are hashed once, outside the loop.
    Small lattices run it on one thread (engine.Simulation): numba's parallel lowering
    also makes this loop ~3x faster on one thread than a plain serial compile (measured).
    """
    event_key = stream_key(seed, S_EVENTS, step)
    n_arrests = 0
    n_resumes = 0
    n_conversions = 0
    for row in prange(rows):
        s6k_factor = s6k_row[row]
        e4bp_factor = e4bp_row[row]
        for i in range(row * width, (row + 1) * width):
            if phase[i] == EMPTY:
                continue
            report = update_one(i, row, geometry, width, rows, kind, phase, divisions_left, pending, mass, cycle,
                                p21, p16, gero, gero_threshold, age_h, arrest_h, sasp, k, p, s6k_factor,
                                e4bp_factor, event_key, uid)
            if report == _ARRESTED:
                n_arrests += 1
            elif report == _RESUMED:
                n_resumes += 1
            elif report == _CONVERTED:
                n_conversions += 1
    return n_arrests, n_resumes, n_conversions
