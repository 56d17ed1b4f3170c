"""The RPP assay's regrowth: a replated dish stepped through the rules in one kernel call.

:func:`regrow` takes the engine's steps (the order in ``core.engine``'s docstring) on a
dish, by the kernels' own rules: ``cells.update_one`` for steps 2-7,
``divisions.apply_pending`` for the ordered pass, and :func:`diffuse_into`, which gives
every site the value ``field.diffuse`` gives it, from the same float operations on the
same old values.  Every decision a cell takes is the one it takes when a ``Simulation``
steps the plate, so the colony counts are the same, bit for bit (tests/core/test_rpp_assay.py).
What it saves (benchmarks/rpp_assay.py):

* Python and a dozen kernel calls per step: the regrowth is one call.  Its step inputs do
  not change from step to step, but for the clearance probability, which follows the
  counts and is computed here by ``inputs.step_inputs``' formula; the drive table is
  built once per distinct set of row factors.
* Work that changes nothing: a SASP field that is zero everywhere stays zero
  (``keep * (0 + coef * 0)``) and is not diffused until a senescent cell has secreted;
  empty sites are skipped 64 at a time; the ordered pass is skipped when no cell asked
  for anything.
* The SASP field once it can no longer decide anything (:func:`look`, :func:`safe_bounds`):
  it acts only through p21, and p21 (like p16) only through the arrest of a cycling or
  arrested cell.  Once every live cell is senescent, differentiated, or cycling and
  provably never to be blocked again, the field is no longer diffused; the rest of the
  regrowth takes the same decisions (the p21 values and the field it leaves differ from a
  Simulation's, no decision reads them).
* The steps after the count is certain: once every colony either has at least
  ``colony_min_cells`` cells that provably can never leave, or is smaller and provably can
  never grow, the regrowth stops.  Reaching the counting size is not enough: cells can
  still die, be cleared, or arrest, turn senescent and die.

Each shortcut can be switched off (``settle``, ``freeze_field``).  Without either, every
step is taken as a ``Simulation`` takes it and the lattice ends as the Simulation's does,
array for array; with the field frozen, the same but for p21 and the SASP field.
"""

import math

import numpy as np
from numba import njit, prange, uintp

from geroconvert.core.kernels.cells import _ARRESTED, _CONVERTED, _RESUMED, N_T, T_SASP_STEP, drive_table, update_one
from geroconvert.core.kernels.divisions import apply_pending
from geroconvert.core.kernels.field import diffuse
from geroconvert.core.kernels.rng import stream_key
from geroconvert.core.layout import (
    CYCLING,
    DIFFERENTIATED,
    DISH,
    E_ARRESTS,
    E_BIRTHS,
    E_CLEARANCES,
    E_CONVERSIONS,
    E_DEATHS,
    E_RESUMES,
    E_SENESCENT_LOST,
    E_SHED,
    EMPTY,
    K_DAMAGE_PER_DIVISION,
    K_DEATH_P,
    K_DT,
    K_INDUCER_P16,
    K_INDUCER_P21,
    K_P16_RELAX,
    K_P16_RISE_AGE,
    K_P16_THRESHOLD,
    K_P21_THRESHOLD,
    K_SASP_P21,
    NONE,
    P_CLEAR_P,
    P_DAMAGE_P,
    P_DRIVE,
    P_INDUCER,
    S_EVENTS,
    SENESCENT,
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
    C_SASP,
    C_UID,
)

# how regrow ended (its last return value)
DONE = 0  # every step ran
SETTLED = 1  # stopped early: the count at the end is certain
OUT_OF_UIDS = 2  # stopped before a step that could exceed the uid range (the engine refuses it)

# Rounding allowances of the bounds in safe_bounds.  A float32 store rounds up by at most a
# factor 1 + 2**-24 and a float64 operation by 1 + 2**-53, so a bounded p21 or p16 creeps up
# by less than 1 + 2**-23 a step, which CREEP_PER_STEP (eight times that) covers for up to
# MAX_PROOF_STEPS steps; a SASP value gains less than a factor 1 + 2**-20 in a diffusion
# sub-step (three float32 additions, the float64 rest, one store) and in a secretion (one
# addition, one store): FIELD_ROUNDING.
CREEP_PER_STEP = 1e-6
MAX_PROOF_STEPS = 100_000  # with more steps still to run, no shortcut is taken
FIELD_ROUNDING = 1.0 + 2.0**-20
LOOK_EVERY = 4  # steps between two looks at the cells for a shortcut (a look costs about a step)


# ---- the SASP field ---------------------------------------------------------------------------
@njit(inline="always", cache=True, error_model="numpy")
def _new_row(centre, c0, below, b0, above, a0, out, o0, w, coef, keep):
    """New values of one row into ``out[o0:o0 + w]``, from the old values of that row
    (``centre[c0:]``) and of the rows below and above it; the expression of
    ``field.diffuse``, operation for operation (float32 sum of the four neighbours, the
    rest in float64, rounded to float32 when stored)."""
    one = uintp(1)
    last = w - one
    if w == one:
        c = centre[c0]
        lap = centre[c0] + centre[c0] + below[b0] + above[a0] - 4.0 * c
        out[o0] = keep * (c + coef * lap)
        return
    c = centre[c0]
    lap = centre[c0 + last] + centre[c0 + one] + below[b0] + above[a0] - 4.0 * c
    out[o0] = keep * (c + coef * lap)
    for col in range(one, last):
        c = centre[c0 + col]
        lap = centre[c0 + col - one] + centre[c0 + col + one] + below[b0 + col] + above[a0 + col] - 4.0 * c
        out[o0 + col] = keep * (c + coef * lap)
    c = centre[c0 + last]
    lap = centre[c0 + last - one] + centre[c0] + below[b0 + last] + above[a0 + last] - 4.0 * c
    out[o0 + last] = keep * (c + coef * lap)


@njit(cache=True, error_model="numpy")
def diffuse_into(geometry, width, rows, old, new, coef, keep):
    """``field.diffuse`` on one thread, three times faster: ``new`` gets the values that
    ``field.diffuse`` would leave in ``old``, site for site (``old`` is not changed)."""
    w = uintp(width)
    for row in range(rows):
        base = uintp(row) * w
        if row > 0:
            below = base - w
        elif geometry == DISH:
            below = uintp(rows - 1) * w  # the dish wraps
        else:
            below = base  # no flux through the bottom edge
        if row < rows - 1:
            above = base + w
        elif geometry == DISH:
            above = uintp(0)
        else:
            above = base  # nor through the top
        _new_row(old, base, old, below, old, above, new, base, w, coef, keep)


# ---- step 1 -----------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def clearance_probability(beta, kappa, burden_ref, dt, n_cells, n_senescent):
    """``inputs.step_inputs``' clearance probability, in its operations:
    rate_to_probability(beta / (kappa + n_senescent / max(n_cells, 1) / burden_ref), dt)."""
    burden = n_senescent / max(n_cells, 1) / burden_ref
    rate = beta / (kappa + burden)
    return -math.expm1(-rate * dt)


@njit(inline="always", cache=True, error_model="numpy")
def empty_block(words, b, n_words):
    """Whether the 64 sites from 64 b on are all empty, from their phases read eight at a
    time (``words``: the phase array seen as uint64; the sites past the last whole word
    are never called empty)."""
    w = b * 8
    if w + 8 > n_words:
        return False
    low = words[w] | words[w + 1] | words[w + 2] | words[w + 3]
    high = words[w + 4] | words[w + 5] | words[w + 6] | words[w + 7]
    return (low | high) == 0


# ---- what can no longer happen ------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def creep(steps_left):
    return 1.0 + CREEP_PER_STEP * (steps_left + 1)


@njit(cache=True, error_model="numpy")
def look(phase, kind, clone, p21, p16, k, n_clones, colony_min_cells, steps_left):
    """One pass over the cells: (certain, counting, all_safe).

    A cell is *done* when it can never divide again: senescent (irreversible) or
    differentiated (post-mitotic in the dish, where kinds never change); *safe* when it is
    cycling, not differentiated, and its p21 and p16 are within the limits of
    :func:`safe_bounds` (which must hold too for it to be safe: it then never arrests).

    ``certain``: every colony (clone label 0 .. n_clones - 1) is either smaller than
    ``colony_min_cells`` with only done cells (it can only shrink: colonies grow by their
    own divisions alone), or has at least ``colony_min_cells`` safe cells; ``counting``:
    the colonies of the second kind.  ``all_safe``: every live cell is done or safe.
    """
    sizes = np.zeros(n_clones, np.int64)
    safe = np.zeros(n_clones, np.int64)
    may_divide = np.zeros(n_clones, np.bool_)
    allowance = creep(steps_left)
    p21_limit = k[K_P21_THRESHOLD] / allowance
    p16_limit = k[K_P16_THRESHOLD] / allowance
    all_safe = True
    n = phase.size
    n_words = n // 8
    words = phase[: n_words * 8].view(np.uint64)
    for b in range((n + 63) // 64):
        if empty_block(words, b, n_words):
            continue
        for i in range(b * 64, min(b * 64 + 64, n)):
            ph = phase[i]
            if ph == EMPTY or kind[i] == DIFFERENTIATED or ph == SENESCENT:
                if ph != EMPTY and 0 <= clone[i] < n_clones:
                    sizes[clone[i]] += 1
                continue
            is_safe = ph == CYCLING and p21[i] <= p21_limit and p16[i] <= p16_limit
            all_safe = all_safe and is_safe
            c = clone[i]
            if 0 <= c < n_clones:  # other labels are not colonies that are counted
                sizes[c] += 1
                may_divide[c] = True
                if is_safe:
                    safe[c] += 1
    certain = True
    counting = 0
    for c in range(n_clones):
        if safe[c] >= colony_min_cells:
            counting += 1
        elif sizes[c] >= colony_min_cells or may_divide[c]:
            certain = False  # may still fall below the counting size, or reach it
    return certain, counting, all_safe


@njit(cache=True, error_model="numpy")
def safe_bounds(k, field_max, steps_left, damage_free, secretion, diffusion, inducer):
    """A bound on the SASP field for the rest of the regrowth under which a safe cell (see
    :func:`look`) is never blocked again, or -1.0 when there is none.

    With no DNA damage to come (``damage_free``: no damage events in the steps to come, no
    replication stress), a cycling cell's p21 relaxes towards min(1, inducer_p21 +
    sasp_to_p21 x SASP) and stays at or below max(p21 now, the largest such target); its
    p16 relaxes towards its target and rises with age only, and stays at or below
    max(p16 now, the fixed point of that map).  The field cannot exceed max(its maximum
    now, s / (1 - q)): in a step it is diffused with decay, which multiplies its maximum by
    at most q = keep ** sub-steps (a sub-step is a weighted mean when D dt <= 1/4), and a
    senescent cell adds at most s = ``secretion`` to its own site; without decay, its
    maximum now plus s a step.  When these bounds, with the rounding allowances, are
    within :func:`look`'s limits, a safe cell stays below both thresholds, so it never
    arrests; its daughters, born with its p21 and p16, are safe too.
    ``diffusion`` = (sub-steps, coef, keep); ``inducer``: the environment's, constant.
    """
    if steps_left > MAX_PROOF_STEPS or not damage_free:
        return -1.0
    substeps, coef, keep = int(diffusion[0]), diffusion[1], diffusion[2]
    if coef < 0.0 or coef > 0.25 or keep < 0.0:
        return -1.0
    allowance = creep(steps_left)
    q = (keep * FIELD_ROUNDING) ** substeps * FIELD_ROUNDING
    s = max(secretion, 0.0) * FIELD_ROUNDING
    field = max(field_max, 0.0)
    if q < 1.0:
        bound = max(field, s / (1.0 - q))
    else:
        bound = (field + s * (steps_left + 1)) * q ** (steps_left + 1)
    target21 = min(1.0, inducer * k[K_INDUCER_P21] + k[K_SASP_P21] * bound * FIELD_ROUNDING) * allowance
    if not target21 <= k[K_P21_THRESHOLD] / allowance:
        return -1.0
    # p16 of a cycling cell: x -> y + a (1 - y) with y = x + (target - x) r, increasing in x
    # for a <= 1, with the fixed point (target r (1 - a) + a) / (1 - (1 - r)(1 - a))
    target16 = min(1.0, inducer * k[K_INDUCER_P16])
    r = k[K_P16_RELAX]
    a = k[K_P16_RISE_AGE] * k[K_DT]
    if not (0.0 <= a <= 1.0 and 0.0 <= r <= 1.0):
        return -1.0
    slope = (1.0 - r) * (1.0 - a)
    if slope < 1.0:
        fixed16 = (target16 * r * (1.0 - a) + a) / (1.0 - slope) * allowance
        if not fixed16 <= k[K_P16_THRESHOLD] / allowance:
            return -1.0
    return bound


@njit(cache=True, error_model="numpy")
def shortcuts_now(
    phase,
    kind,
    clone,
    p21,
    p16,
    field,
    k,
    n_clones,
    colony_min_cells,
    steps_left,
    damage_free,
    secretion,
    diffusion,
    inducer,
    irrelevant,
):
    """What the cells allow after a step with ``steps_left`` steps still to come:
    (count, freeze, field maximum).

    ``count``: the number of colonies the regrowth will end with if that is certain, else
    -1.  ``freeze``: whether the field can no longer decide anything (every live cell done
    or safe, under :func:`safe_bounds`), so that it need not be diffused any more, as long
    as it is kept at or below the field maximum returned.  ``irrelevant``: whether that has
    been shown already (the bounds then hold for every step to come).
    """
    certain, counting, all_safe = look(phase, kind, clone, p21, p16, k, n_clones, colony_min_cells, steps_left)
    field_max = np.float32(0.0)
    if certain and counting == 0:
        return 0, False, field_max  # every colony ends below the counting size
    if not (certain or (all_safe and not irrelevant)):
        return -1, False, field_max
    if irrelevant:
        bounded = True
    else:
        for i in range(field.size):
            field_max = max(field_max, field[i])
        bounded = safe_bounds(k, field_max, steps_left, damage_free, secretion, diffusion, inducer) >= 0.0
    freeze = bounded and all_safe and not irrelevant
    if bounded and certain and k[K_DEATH_P] == 0.0:
        return counting, freeze, field_max  # the counting colonies keep their safe cells, which cannot die
    return -1, freeze, field_max


@njit(cache=True, error_model="numpy")
def largest_sasp_step(k, drive, s6k_sets, e4bp_sets):
    """The most SASP a senescent cell can add to its site in one step: the largest
    T_SASP_STEP entry of the drive tables of every row-factor set (0 if none is positive)."""
    p = np.zeros(4, np.float64)
    p[P_DRIVE] = drive
    most = 0.0
    for s in range(s6k_sets.shape[0]):
        _, table = drive_table(k, p, s6k_sets[s], e4bp_sets[s])
        for t in range(0, table.size, N_T):
            most = max(most, table[t + T_SASP_STEP])
    return most


# ---- the regrowth -----------------------------------------------------------------------------
@njit(parallel=True, cache=True, error_model="numpy")
def regrow(
    width,
    rows,
    arrays,
    k,
    drive,
    inducer,
    damage_p,
    row_set,
    s6k_sets,
    e4bp_sets,
    clearance,
    diffusion,
    seed,
    first_step,
    n_steps,
    next_uid,
    max_uid,
    events,
    n_clones,
    colony_min_cells,
    settle,
    freeze_field,
    serial_field,
    field_buffer,
):
    """Steps ``first_step`` .. ``first_step + n_steps - 1`` of a dish with an empty schedule,
    as ``Simulation.step`` takes them; returns (next_uid, n_cells, n_senescent, steps
    taken, colonies, why, frozen_at).

    ``arrays``: every cell array, in ``state.CELL_FIELDS`` order (changed in place).
    Step s's inputs: ``drive`` and ``inducer`` (constants), ``damage_p[s]`` and the row
    factors ``s6k_sets[row_set[s]]``, ``e4bp_sets[row_set[s]]``; its clearance probability
    follows the counts (``clearance`` = beta, kappa, burden_ref, dt).  ``diffusion`` =
    (sub-steps, coef, keep) of ``inputs.sasp_substeps``; ``serial_field``: diffuse with
    :func:`diffuse_into` (one thread, from the field into ``field_buffer``, float32, a site
    each, and back) rather than ``field.diffuse`` (every thread): the same values.
    ``events`` are added to, as the engine's counters are.

    ``colonies``: clones 0 .. n_clones - 1 with at least ``colony_min_cells`` live cells at
    the end.  ``why``: DONE; SETTLED (only with ``settle``): stopped once ``colonies`` was
    certain; or OUT_OF_UIDS: stopped before a step whose births could exceed ``max_uid``
    (the caller raises).  ``frozen_at``: the steps taken when the field stopped being
    diffused (only with ``freeze_field``), or -1.

    Steps 2-7 run as a parallel loop even on one thread: numba compiles the cell update
    about twice as fast that way (as for ``cells.update_cells``); the result does not
    depend on the thread count.
    """
    uid, kind, phase = arrays[C_UID], arrays[C_KIND], arrays[C_PHASE]
    divisions_left, pending, mass = arrays[C_DIVISIONS_LEFT], arrays[C_PENDING], arrays[C_MASS]
    cycle, p21, p16 = arrays[C_CYCLE], arrays[C_P21], arrays[C_P16]
    gero, gero_threshold, age_h = arrays[C_GERO], arrays[C_GERO_THRESHOLD], arrays[C_AGE_H]
    arrest_h, sasp, clone = arrays[C_ARREST_H], arrays[C_SASP], arrays[C_CLONE]
    field, spare, swapped = sasp, field_buffer, False  # the SASP field is in `field`
    n = width * rows
    n_words = n // 8
    words = phase[: n_words * 8].view(np.uint64)  # eight sites' phases a word (EMPTY is 0)
    n_blocks = (n + 63) // 64
    substeps = int(diffusion[0])
    coef, keep = diffusion[1], diffusion[2]
    beta, kappa, burden_ref, dt = clearance[0], clearance[1], clearance[2], clearance[3]
    inducer21 = inducer * k[K_INDUCER_P21]  # the constant parts of the p21 and p16 targets
    target16 = min(1.0, inducer * k[K_INDUCER_P16])
    secretion = largest_sasp_step(k, drive, s6k_sets, e4bp_sets)
    # damage_free[s]: no damage event can happen in steps s .. the last (nor replication stress)
    end = first_step + n_steps
    damage_free = np.zeros(end + 1, np.bool_)
    damage_free[end] = k[K_DAMAGE_PER_DIVISION] == 0.0
    for s in range(end - 1, first_step - 1, -1):
        damage_free[s] = damage_free[s + 1] and damage_p[s] <= 0.0
    # the field no longer decides anything: it is kept below `ceiling` instead of diffused
    irrelevant = False
    ceiling = np.float32(0.0)

    n_cells = 0
    n_senescent = 0
    field_zero = True
    for i in range(n):
        if phase[i] != EMPTY:
            n_cells += 1
            if phase[i] == SENESCENT:
                n_senescent += 1
        if field[i] != 0.0:
            field_zero = False
    p = np.zeros(4, np.float64)
    p[P_DRIVE] = drive
    p[P_INDUCER] = inducer
    table_set = row_set[first_step] if n_steps > 0 else 0
    slot_of_row, table = drive_table(k, p, s6k_sets[table_set], e4bp_sets[table_set])
    why = DONE
    taken = 0
    colonies_settled = 0
    frozen_at = -1
    for step in range(first_step, end):
        if next_uid + n > max_uid:  # a step adds at most one cell per site (the engine's check)
            why = OUT_OF_UIDS
            break
        # 1. the inputs; the SASP field (zero everywhere, it stays zero: not diffused)
        p[P_DAMAGE_P] = damage_p[step]
        p[P_CLEAR_P] = clearance_probability(beta, kappa, burden_ref, dt, n_cells, n_senescent)
        if row_set[step] != table_set:
            table_set = row_set[step]
            slot_of_row, table = drive_table(k, p, s6k_sets[table_set], e4bp_sets[table_set])
        if not field_zero and not irrelevant:
            for _ in range(substeps):
                if serial_field:  # from one array into the other, which then holds the field
                    diffuse_into(DISH, width, rows, field, spare, coef, keep)
                    field, spare = spare, field
                    swapped = not swapped
                else:
                    diffuse(DISH, width, width, rows, field, coef, keep)
        if n_senescent > 0:
            field_zero = False  # senescent cells secrete in this step's update
        # 2-7. every cell decides, in any order: a cell reads only itself, its site and its
        # neighbours' occupancy, which only the ordered pass changes
        event_key = stream_key(seed, S_EVENTS, step)
        n_arrests = 0
        n_resumes = 0
        n_conversions = 0
        n_actions = 0
        for b in prange(n_blocks):
            if empty_block(words, b, n_words):
                continue
            for i in range(b * 64, min(b * 64 + 64, n)):
                ui = uintp(i)
                if phase[ui] == EMPTY:
                    continue
                row = i // width
                # by keyword, so no array can land in another's place (p21 and p16, say)
                report = update_one(
                    i,
                    row,
                    DISH,
                    width,
                    width,
                    rows,
                    k=k,
                    p=p,
                    table=table,
                    slot=slot_of_row[row],
                    event_key=event_key,
                    inducer21=inducer21,
                    target16=target16,
                    damage_p=p[P_DAMAGE_P],  # a dish in culture: no UV, every row alike
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
                    sasp=field,
                )
                if report == _ARRESTED:
                    n_arrests += 1
                elif report == _RESUMED:
                    n_resumes += 1
                elif report == _CONVERTED:
                    n_conversions += 1
                if pending[ui] != NONE:
                    n_actions += 1
                if irrelevant and field[ui] > ceiling:  # a secretion: the field stays below its bound
                    field[ui] = ceiling
        # 8. the ordered pass (nothing to do when no cell asked)
        births = events[E_BIRTHS]
        removed = events[E_CLEARANCES] + events[E_DEATHS] + events[E_SHED]
        lost = events[E_SENESCENT_LOST]
        if n_actions > 0:
            next_uid = apply_pending(DISH, width, width, rows, 0, arrays, k, seed, step, next_uid, events)
        events[E_ARRESTS] += n_arrests
        events[E_RESUMES] += n_resumes
        events[E_CONVERSIONS] += n_conversions
        removed = events[E_CLEARANCES] + events[E_DEATHS] + events[E_SHED] - removed
        n_cells += events[E_BIRTHS] - births - removed
        n_senescent += n_conversions - (events[E_SENESCENT_LOST] - lost)
        taken += 1
        if not (settle or freeze_field) or taken == n_steps or taken % LOOK_EVERY != 0:
            continue
        # the shortcuts
        counted, freeze, field_max = shortcuts_now(
            phase,
            kind,
            clone,
            p21,
            p16,
            field,
            k,
            n_clones,
            colony_min_cells,
            n_steps - taken,
            damage_free[step + 1],
            secretion,
            diffusion,
            inducer,
            irrelevant,
        )
        if counted >= 0 and settle:
            why = SETTLED
            colonies_settled = counted
            break
        if freeze and freeze_field:
            irrelevant = True
            ceiling = field_max
            frozen_at = taken
    if swapped:
        sasp[:] = field
    sizes = colony_sizes(phase, clone, n_clones)
    colonies = 0
    for c in range(n_clones):
        if sizes[c] >= colony_min_cells:
            colonies += 1
    if why == SETTLED:
        colonies = colonies_settled
    return next_uid, n_cells, n_senescent, taken, colonies, why, frozen_at


@njit(cache=True)
def colony_sizes(phase, clone, n_clones):
    """Live cells per clone label 0 .. n_clones - 1 (other labels are not counted)."""
    sizes = np.zeros(n_clones, np.int64)
    for i in range(phase.size):
        if phase[i] != EMPTY:
            c = clone[i]
            if 0 <= c < n_clones:
                sizes[c] += 1
    return sizes
