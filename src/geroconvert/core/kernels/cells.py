"""Per-cell rules of one step (signalling, p21/p16, growth, arrest, geroconversion).

Every site is updated independently in parallel: a cell reads only its own arrays,
its own SASP site and whether its neighbours are occupied (occupancy changes only in
the ordered pass of ``divisions.apply_pending``), so the result does not depend on the
thread count.  Anything that changes occupancy (division, death, clearance, shedding,
differentiation) is only *decided* here and written to ``pending``.

Written for speed (benchmarks/throughput.py; each change keeps the results bit-identical
to the plain-Python reference): the drives and their exponentials come from a small
per-step table (``drive_table``); arrays are indexed with unsigned integers, so numba
emits no negative-index wraparound and needs fewer registers in the cell loop; p21 and
p16 are stored unconditionally.
"""

import math

import numpy as np
from numba import njit, prange, uintp

from geroconvert.core.kernels.rng import draw, normal_from_keys, stream_key
from geroconvert.core.kernels.sheet import lateral_sites
from geroconvert.core.layout import (
    ARRESTED,
    CLEAR,
    CYCLING,
    DAMAGE_EXIT,
    DIE,
    DIFFERENTIATED,
    DISH,
    DIVIDE,
    EMPTY,
    FIBROBLAST,
    K_CONTACT_MAX,
    K_CYCLE_H,
    K_DAMAGE_P16,
    K_DAMAGE_P21,
    K_DAMAGED_EXIT_P,
    K_DEATH_P,
    K_DIVISION_MASS,
    K_DT,
    K_FIBROBLAST_CYCLE_H,
    K_GERO_RATE,
    K_HYPERTROPHY_RATE,
    K_INDUCER_P16,
    K_INDUCER_P21,
    K_MASS_MAX,
    K_MELANOCYTE_CYCLE_H,
    K_MELANOCYTE_REMOVAL,
    K_NEIGHBOURS,
    K_P16_RELAX,
    K_P16_RISE_AGE,
    K_P16_RISE_ARRESTED,
    K_P16_RISE_SENESCENT,
    K_P16_THRESHOLD,
    K_P21_RELAX,
    K_P21_THRESHOLD,
    K_REST_MEAN_H,
    K_SASP_P21,
    K_SASP_SECRETION,
    K_SENESCENT_DEATH_P,
    K_STEM_CYCLE_FACTOR,
    K_STEM_MTOR,
    K_STEM_NICHE_REACH,
    K_THR_MEDIAN,
    K_THR_SIGMA,
    K_TRANSIT_H,
    K_W_GERO,
    K_W_GROW,
    MELANOCYTE,
    N_KINDS,
    NONE,
    P_CLEAR_P,
    P_DRIVE,
    P_INDUCER,
    PROGENITOR,
    S_EVENTS,
    S_THRESHOLD_A,
    S_THRESHOLD_B,
    SENESCENT,
    SHED,
    STEM,
)
from geroconvert.core.state import (
    C_AGE_H,
    C_ARREST_H,
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
    C_SASP,
    C_UID,
)
from geroconvert.units import LN2


@njit(inline="always", cache=True, error_model="numpy")
def occupied_neighbours(i, row, plane, sheet_width, rows, geometry, phase):
    """Occupied von Neumann neighbours; the dish wraps both ways, the epidermis only sideways
    (in its layer: a row, or a sheet with a front and a back)."""
    if sheet_width == plane:  # a row (the dish, the cross-section): the two sideways neighbours
        col = i - row * plane
        left = row * plane + (col - 1 if col > 0 else plane - 1)
        right = row * plane + (col + 1 if col < plane - 1 else 0)
        count = (phase[uintp(left)] != EMPTY) + (phase[uintp(right)] != EMPTY)
    else:
        left, right, front, back = lateral_sites(i, row, plane, sheet_width)
        count = (phase[uintp(left)] != EMPTY) + (phase[uintp(right)] != EMPTY) + (phase[uintp(front)] != EMPTY)
        if back >= 0:
            count += phase[uintp(back)] != EMPTY
    if geometry == DISH:
        col = i - row * plane
        down = (row - 1 if row > 0 else rows - 1) * plane + col
        up = (row + 1 if row < rows - 1 else 0) * plane + col
        count += (phase[uintp(down)] != EMPTY) + (phase[uintp(up)] != EMPTY)
    else:
        if row > 0:
            count += phase[uintp(i - plane)] != EMPTY
        if row < rows - 1:
            count += phase[uintp(i + plane)] != EMPTY
    return count


@njit(inline="always", cache=True, error_model="numpy")
def basal_gap(i, row, plane, sheet_width, phase):
    """Whether a neighbour in the cell's layer (wrapping) is free."""
    left, right, front, back = lateral_sites(i, row, plane, sheet_width)
    if phase[uintp(left)] == EMPTY or phase[uintp(right)] == EMPTY:
        return True
    return (front >= 0 and phase[uintp(front)] == EMPTY) or (back >= 0 and phase[uintp(back)] == EMPTY)


@njit(inline="always", cache=True, error_model="numpy")
def gero_threshold_draw(k, seed, uid):
    """Lognormal per-cell threshold, drawn once from the cell's uid (step 0)."""
    return threshold_from_keys(k, stream_key(seed, S_THRESHOLD_A, 0), stream_key(seed, S_THRESHOLD_B, 0), uid)


@njit(inline="always", cache=True)
def threshold_from_keys(k, key_a, key_b, uid):
    """:func:`gero_threshold_draw` with the run's two threshold keys hashed once by the caller."""
    z = normal_from_keys(key_a, key_b, uid)
    return k[K_THR_MEDIAN] * math.exp(k[K_THR_SIGMA] * z)


@njit(inline="always", cache=True, error_model="numpy")
def cycle_time_h(kind, k):
    if kind == STEM:
        return k[K_CYCLE_H] * k[K_STEM_CYCLE_FACTOR]
    if kind == FIBROBLAST:
        return k[K_FIBROBLAST_CYCLE_H]
    if kind == MELANOCYTE:
        return k[K_MELANOCYTE_CYCLE_H]
    return k[K_CYCLE_H]


@njit(inline="always", cache=True, error_model="numpy")
def hypertrophy(mass, decay, k):
    """Exact logistic growth over one step towards ``mass_max`` (converges in dt);
    ``decay`` = exp(-rate * growth drive * dt), from the drive table."""
    m_max = k[K_MASS_MAX]
    if mass >= m_max:
        return mass
    return m_max / (1.0 + (m_max / mass - 1.0) * decay)


# Per-step signalling table.  A cell's drives depend only on its row's drug factors, on
# how many neighbours are occupied (contact inhibition) and on its kind (stem factor,
# cycle time), so each distinct combination is computed once per step instead of once
# per cell: the exponentials of growth and hypertrophy are most of a cell's arithmetic.
# The table repeats the per-cell expressions operation for operation, so results are
# bit-identical to computing them cell by cell (the reference does that).
T_CYCLE_STEP = 0  # cycle progress in one step: growth_drive * dt / cycle time
T_MASS_FACTOR = 1  # exp(ln 2 * growth_drive * dt / cycle time)
T_DECAY = 2  # logistic hypertrophy factor exp(-rate * growth_drive * dt)
T_GERO_STEP = 3  # gero progress in one step: rate * gero_drive * dt
T_SASP_STEP = 4  # SASP secreted in one step: secretion * gero_drive * dt
T_P16_RISE = 5  # mTOR-driven p16 rise of an arrested cell: rise * gero_drive
N_T = 6
N_OCCUPIED = 7  # 0..6 occupied neighbours (6 under a sheet)


@njit(inline="always", cache=True, error_model="numpy")
def table_at(slot, occupied, kd):
    """Offset of the (slot, occupied, kind) entry in the flat drive table; a flat table
    keeps one pointer live in the cell loop instead of a 4-d view's shape and strides."""
    return uintp(((slot * N_OCCUPIED + occupied) * N_KINDS + kd) * N_T)


@njit(cache=True)
def drive_table(k, p, s6k_row, e4bp_row):
    """(slot of each row, flat table: entry T_* of (slot, occupied, kind) at table_at(...) + T_*);
    rows with equal drug factors share a slot."""
    rows = s6k_row.size
    slot_of_row = np.empty(rows, np.int64)
    n_slots = 0
    for row in range(rows):
        if row > 0 and s6k_row[row] == s6k_row[row - 1] and e4bp_row[row] == e4bp_row[row - 1]:
            slot_of_row[row] = slot_of_row[row - 1]
        else:
            slot_of_row[row] = n_slots
            n_slots += 1
    # flat (see table_at); zeros, so the entries past a site's neighbour count, never looked
    # up, read as no drive at all (largest_sasp_step scans the whole table)
    table = np.zeros(n_slots * N_OCCUPIED * N_KINDS * N_T, np.float64)
    dt = k[K_DT]
    for row in range(rows):
        slot = slot_of_row[row]
        if row > 0 and slot == slot_of_row[row - 1]:
            continue
        for occupied in range(int(k[K_NEIGHBOURS]) + 1):
            for kd in range(N_KINDS):
                drive = p[P_DRIVE]
                if k[K_CONTACT_MAX] > 0.0:
                    crowd = occupied / k[K_NEIGHBOURS]
                    drive *= 1.0 - k[K_CONTACT_MAX] * crowd * crowd
                if kd == STEM:
                    drive *= k[K_STEM_MTOR]  # quiescent stem cells keep mTORC1 low (a Wnt1-like gain raises it)
                s6k = drive * s6k_row[row]
                e4bp = drive * e4bp_row[row]
                gero_drive = k[K_W_GERO] * s6k + (1.0 - k[K_W_GERO]) * e4bp
                growth_drive = k[K_W_GROW] * s6k + (1.0 - k[K_W_GROW]) * e4bp
                ch = cycle_time_h(kd, k)
                t = table_at(slot, occupied, kd)
                table[t + T_CYCLE_STEP] = growth_drive * dt / ch
                table[t + T_MASS_FACTOR] = math.exp(LN2 * growth_drive * dt / ch)
                table[t + T_DECAY] = math.exp(-k[K_HYPERTROPHY_RATE] * growth_drive * dt)
                table[t + T_GERO_STEP] = k[K_GERO_RATE] * gero_drive * dt
                table[t + T_SASP_STEP] = k[K_SASP_SECRETION] * gero_drive * dt
                table[t + T_P16_RISE] = k[K_P16_RISE_ARRESTED] * gero_drive
    return slot_of_row, table


# what a cell's update reports back for the event counters
_NOTHING = 0
_ARRESTED = 1
_RESUMED = 2
_CONVERTED = 3


@njit(inline="always", cache=True, error_model="numpy")
def update_one(
    i,
    row,
    geometry,
    plane,
    sheet_width,
    rows,
    kind,
    phase,
    divisions_left,
    pending,
    mass,
    cycle,
    p21,
    p16,
    gero,
    gero_threshold,
    age_h,
    arrest_h,
    sasp,
    k,
    p,
    table,
    slot,
    event_key,
    uid,
    inducer21,
    target16,
    damage_p,
):
    """Steps 2-7 for the cell at site ``i``; returns what happened (for the counters).
    ``damage_p``: the row's probability of a DNA-damage hit this step (age and UV).

    The cell arrays come one by one, by keyword (see :func:`update_cells`)."""
    # an unsigned index: numba then skips the negative-index wraparound on every access,
    # which also frees the registers that held each array's length
    ui = uintp(i)
    dt = k[K_DT]
    ph = phase[ui]
    kd = kind[ui]
    cell = uid[ui]
    report = _NOTHING

    # 2. signalling: two mTOR branches with drug inhibition per row, looked up in the step's
    # drive table by the occupied neighbours (contact inhibition) and the kind
    occupied = 0  # read once: for contact inhibition of mTOR and for room to divide in the dish
    if k[K_CONTACT_MAX] > 0.0 or geometry == DISH:
        occupied = occupied_neighbours(i, row, plane, sheet_width, rows, geometry, phase)
    t = table_at(slot, occupied if k[K_CONTACT_MAX] > 0.0 else 0, kd)

    # 3. CDK inhibitors: first-order relaxation to their drivers, damage kicks, slow p16 rise
    x21 = p21[ui]
    target21 = min(1.0, inducer21 + k[K_SASP_P21] * sasp[ui])
    x21 += (target21 - x21) * k[K_P21_RELAX]
    x16 = p16[ui]
    x16 += (target16 - x16) * k[K_P16_RELAX]
    rise = k[K_P16_RISE_AGE]
    if ph == SENESCENT:
        rise += k[K_P16_RISE_SENESCENT]
    elif ph == ARRESTED and kd != DIFFERENTIATED:
        rise += table[t + T_P16_RISE]  # a late geroconversion marker: mTOR-driven (rise x gero drive)
    x16 += rise * dt * (1.0 - x16)
    # One uniform per cell and step decides its rare events: [0, damage) is a DNA-damage
    # hit, the next slices clearance or death, and after death an arrested basal
    # progenitor's differentiation exit (competing risks; one hash, not four).  A stem cell
    # takes the exit only where a niche refills stem cells: without one, it would never be
    # replaced (docs/science.md, damaged keratinocytes).
    u = 1.0
    may_exit = kd == PROGENITOR or (kd == STEM and k[K_STEM_NICHE_REACH] > 0.0)
    if (
        damage_p > 0.0
        or k[K_DEATH_P] > 0.0
        or ph == SENESCENT
        or (ph == ARRESTED and may_exit and k[K_DAMAGED_EXIT_P] > 0.0)
    ):
        u = draw(event_key, cell)
    if u < damage_p:
        x21 = min(1.0, x21 + k[K_DAMAGE_P21])
        x16 = min(1.0, x16 + k[K_DAMAGE_P16])
    # unconditional stores: a test for "changed" mispredicts in a mixed tissue and costs
    # more than the write-back it saves (benchmarks/throughput.py: 31.7 -> 25.8 ms a step)
    p21[ui] = x21
    p16[ui] = x16
    blocked = x21 > k[K_P21_THRESHOLD] or x16 > k[K_P16_THRESHOLD]
    age_h[ui] += dt

    # 4-7. fates
    action = NONE
    if kd == DIFFERENTIATED:
        arrest_h[ui] += dt
        if arrest_h[ui] >= k[K_TRANSIT_H]:
            action = SHED
    elif ph == CYCLING:
        if blocked:
            phase[ui] = ARRESTED
            arrest_h[ui] = 0.0
            report = _ARRESTED
        else:
            c = cycle[ui]
            if c < 0.0:  # G0 rest after a division
                if (
                    geometry != DISH
                    and (kd == STEM or kd == PROGENITOR)
                    and basal_gap(i, row, plane, sheet_width, phase)
                ):
                    c = 0.0  # a free basal neighbour ends the rest: the basal layer refills (assumption)
                else:
                    c = min(0.0, c + dt / k[K_REST_MEAN_H])
            elif c < 1.0:
                c += table[t + T_CYCLE_STEP]
                mass[ui] = min(mass[ui] * table[t + T_MASS_FACTOR], k[K_MASS_MAX])
            if c != cycle[ui]:
                cycle[ui] = c
            # an exhausted progenitor waits at the end of its cycle until a dividing neighbour
            # displaces it (divisions.delaminate)
            if c >= 1.0 and mass[ui] >= k[K_DIVISION_MASS] and not (kd == PROGENITOR and divisions_left[ui] <= 0):
                # in the dish a cell with four occupied neighbours is contact-inhibited and does
                # not ask; elsewhere the ordered pass decides (basal cells push)
                if geometry != DISH or occupied < 4:
                    action = DIVIDE
    elif ph == ARRESTED:
        if not blocked:
            phase[ui] = CYCLING
            arrest_h[ui] = 0.0
            report = _RESUMED
        else:
            arrest_h[ui] += dt
            mass[ui] = hypertrophy(mass[ui], table[t + T_DECAY], k)
            g = gero[ui] + table[t + T_GERO_STEP]
            gero[ui] = g
            if g >= gero_threshold[ui]:
                phase[ui] = SENESCENT
                report = _CONVERTED
            elif may_exit and row + 1 < rows and 0.0 <= u - damage_p - k[K_DEATH_P] < k[K_DAMAGED_EXIT_P]:
                action = DAMAGE_EXIT  # a damaged progenitor leaves by differentiating (divisions.delaminate)
    else:  # SENESCENT: hypertrophic, secretes SASP in proportion to mTOR, may be cleared
        arrest_h[ui] += dt
        mass[ui] = hypertrophy(mass[ui], table[t + T_DECAY], k)
        sasp[ui] += table[t + T_SASP_STEP]
        v = u - damage_p
        clear = p[P_CLEAR_P]
        dying = k[K_SENESCENT_DEATH_P]
        if kd == MELANOCYTE:  # narrower removal slices, each where it is
            clear *= k[K_MELANOCYTE_REMOVAL]
            dying *= k[K_MELANOCYTE_REMOVAL]
        if 0.0 <= v < clear:
            action = CLEAR
        elif 0.0 <= v - p[P_CLEAR_P] < dying:
            action = DIE
    if action == NONE and ph != SENESCENT and k[K_DEATH_P] > 0.0:
        if 0.0 <= u - damage_p < k[K_DEATH_P]:
            action = DIE
    if action != NONE:  # the ordered pass leaves every other site's pending at NONE
        pending[ui] = action
    return report


@njit(parallel=True, cache=True, error_model="numpy")
def update_cells(geometry, plane, sheet_width, rows, arrays, k, p, s6k_row, e4bp_row, damage_row, seed, step):
    """Steps 2-7 of the step order for every cell; returns (arrests, resumes, conversions).

    ``damage_row``: each row's probability of a DNA-damage hit this step (UV falls with depth).

    ``arrays``: every cell array, in ``state.CELL_FIELDS`` order (``CellState.cell_arrays()``).

    Rows run in parallel; the random keys of the step are hashed once, outside the loop.
    Small lattices run it on one thread (engine.Simulation): numba's parallel lowering
    also makes this loop ~3x faster on one thread than a plain serial compile (measured).
    """
    # Each array is taken out of the tuple here, once: taken out per cell (inside update_one)
    # each one is reference-counted in the loop, which made this kernel ~3x slower.
    uid, kind, phase = arrays[C_UID], arrays[C_KIND], arrays[C_PHASE]
    divisions_left, pending, mass = arrays[C_DIVISIONS_LEFT], arrays[C_PENDING], arrays[C_MASS]
    cycle, p21, p16 = arrays[C_CYCLE], arrays[C_P21], arrays[C_P16]
    gero, gero_threshold, age_h = arrays[C_GERO], arrays[C_GERO_THRESHOLD], arrays[C_AGE_H]
    arrest_h, sasp = arrays[C_ARREST_H], arrays[C_SASP]
    event_key = stream_key(seed, S_EVENTS, step)
    slot_of_row, table = drive_table(k, p, s6k_row, e4bp_row)
    inducer21 = p[P_INDUCER] * k[K_INDUCER_P21]  # the step's constant parts of the p21 and p16 targets
    target16 = min(1.0, p[P_INDUCER] * k[K_INDUCER_P16])
    n_arrests = 0
    n_resumes = 0
    n_conversions = 0
    for row in prange(rows):
        slot = slot_of_row[row]
        damage_p = damage_row[row]
        for i in range(row * plane, (row + 1) * plane):
            if phase[uintp(i)] == EMPTY:
                continue
            # by keyword, so no array can land in another's place (p21 and p16, say)
            report = update_one(
                i,
                row,
                geometry,
                plane,
                sheet_width,
                rows,
                k=k,
                p=p,
                table=table,
                slot=slot,
                event_key=event_key,
                inducer21=inducer21,
                target16=target16,
                damage_p=damage_p,
                uid=uid,
                kind=kind,
                phase=phase,
                divisions_left=divisions_left,
                pending=pending,
                mass=mass,
                cycle=cycle,
                p21=p21,
                p16=p16,
                gero=gero,
                gero_threshold=gero_threshold,
                age_h=age_h,
                arrest_h=arrest_h,
                sasp=sasp,
            )
            if report == _ARRESTED:
                n_arrests += 1
            elif report == _RESUMED:
                n_resumes += 1
            elif report == _CONVERTED:
                n_conversions += 1
    return n_arrests, n_resumes, n_conversions
