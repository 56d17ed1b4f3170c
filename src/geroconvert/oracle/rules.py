"""The per-cell rules, once, in plain Python: used by both oracles.

:mod:`.reference` (arrays, one site at a time) and :mod:`.mesa_agents` (one Mesa agent
per cell) run these functions, and nothing else, to decide what a cell does and what its
values become; the numba kernels (:mod:`geroconvert.core.kernels`) are written separately
and the tests compare them with both, step by step.  What truly differs between the two
(how cells are stored and moved, how a column is pushed, who sits where) stays in each,
behind the two small protocols below.

The cell
    Any object with these attributes, read and assigned: ``uid``, ``kind``, ``phase``,
    ``divisions_left``, ``pending`` (ints), ``mass``, ``cycle``, ``p21``, ``p16``,
    ``gero``, ``gero_threshold``, ``age_h``, ``arrest_h`` (floats), ``clone`` (int),
    ``sasp`` (the SASP field at the cell's site); read only: ``row`` (its lattice row)
    and ``site`` (a handle that the world's lattice operations take and give back).
    The reference wraps its arrays at one site in a ``SiteView``; a Mesa ``TissueCell`` is one.

The world
    The simulation, a :class:`~geroconvert.oracle.reference.RunSetup`: ``cells``
    (:class:`~geroconvert.parameters.models.CellParams`), ``dt``, ``geometry``, ``rows``,
    ``basal_row``, ``n_neighbours`` (a site's von Neumann neighbours: 4, or 6 on a sheet),
    ``events`` (the engine's counters), ``branches`` (a ``Counter`` of the
    rule branches taken, so a test can tell that a comparison exercised them),
    ``p21_relax``, ``p16_relax``, ``death_p``, ``senescent_death_p``, ``damaged_exit_p``; the random numbers
    ``uniform(stream, uid)`` (this step's) and ``normal(stream_a, stream_b, uid, step)``;
    and the lattice:

    ``occupied_neighbours(cell)``  occupied von Neumann neighbours (contact inhibition)
    ``basal_gap(cell)``            whether a neighbour in its layer is free
    ``free_neighbour(cell, draw, row_lo=0, row_hi=None)``: the chosen free neighbour's site, or None
    ``sideways_neighbours(cell)``  the distinct cells beside it in its layer: left, right
                                   (and on a sheet front, back), in that order
    ``layer_window(cell, reach)``  (the other cells within ``reach`` sites of it in its layer,
                                   the number of sites there): a stretch of the row, or a
                                   square of the sheet, each site once
    ``push_column_above(cell)``    frees and returns the site above the cell: its column moves
                                   up one, a full column losing its top cell (:func:`shed_from_top`)
    ``place_daughter(site, values)``  a new cell with ``values`` (every field of a cell)
    ``move(cell, site)``, ``remove(cell)``, ``new_uid()``

Numbers: the kernels compute in float64 and store float32, so every float stored here
passes through :func:`f32`, and a decision compares what the kernels compare: the
unrounded float64 value for ``p21``, ``p16``, cycle progress and ``gero``, the stored
float32 value (read back from the cell) for ``mass``, ``arrest_h`` and the thresholds.
Random numbers are keyed by (seed, stream, cell uid, step) (docs/design.md, random
streams section), so the order in which cells are visited does not matter.
"""

from __future__ import annotations

import math

import numpy as np

from geroconvert.core.inputs import StepInputs
from geroconvert.core.layout import (
    ARRESTED,
    CLEAR,
    CYCLING,
    DAMAGE_EXIT,
    DIE,
    DIFFERENTIATED,
    DISH,
    DIVIDE,
    E_ARRESTS,
    E_BIRTHS,
    E_CLEARANCES,
    E_CONVERSIONS,
    E_DAMAGE_EXITS,
    E_DEATHS,
    E_DIFFERENTIATIONS,
    E_DIVISIONS,
    E_RESUMES,
    E_SENESCENT_LOST,
    E_SHED,
    FIBROBLAST,
    MELANOCYTE,
    NONE,
    PROGENITOR,
    S_DIRECTION,
    S_DIVISIONS,
    S_EVENTS,
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
from geroconvert.units import LN2

# the event counted when a cell leaves the lattice by each action
LEAVING_EVENT = {CLEAR: E_CLEARANCES, DIE: E_DEATHS, SHED: E_SHED}


def f32(x: float) -> float:
    """``x`` rounded to float32, as the kernels store it (kept as a Python float)."""
    return float(np.float32(x))


# ---------------------------------------------------------------------------------------
# Values drawn or computed for one cell
# ---------------------------------------------------------------------------------------
def gero_threshold_at_birth(world, uid: int) -> float:
    """Lognormal geroconversion threshold, keyed by the cell's uid at step 0."""
    cells = world.cells
    z = world.normal(S_THRESHOLD_A, S_THRESHOLD_B, uid, 0)
    return cells.gero_threshold_median * math.exp(cells.gero_threshold_sigma * z)


def progenitor_division_budget(world, uid: int) -> int:
    """Transit-amplifying divisions, uniform on [min, max]."""
    lo, hi = world.cells.progenitor_divisions_min, world.cells.progenitor_divisions_max
    return lo + int(world.uniform(S_DIVISIONS, uid) * (hi - lo + 1))


def newborn_cycle_position(world, uid: int) -> float:
    """0, or minus an exponential G0 rest (in units of its mean) when cells rest after dividing."""
    if world.cells.rest_mean_h <= 0.0:
        return 0.0
    return math.log(1.0 - world.uniform(S_REST, uid))


def cycle_hours(kind: int, cells) -> float:
    if kind == STEM:
        return cells.cycle_h * cells.stem_cycle_factor
    if kind == FIBROBLAST:
        return cells.fibroblast_cycle_h
    if kind == MELANOCYTE:
        return cells.melanocyte_cycle_h
    return cells.cycle_h


def logistic_hypertrophy(mass: float, growth_drive: float, cells, dt: float) -> float:
    """Exact logistic growth over one step towards ``mass_max``."""
    m_max = cells.mass_max
    if mass >= m_max:
        return mass
    decay = math.exp(-cells.hypertrophy_rate_per_h * growth_drive * dt)
    return m_max / (1.0 + (m_max / mass - 1.0) * decay)


# ---------------------------------------------------------------------------------------
# Steps 2-7: every cell decides (it reads itself, its site and its neighbours' occupancy)
# ---------------------------------------------------------------------------------------
def decide(cell, world, inputs: StepInputs) -> None:
    """Signalling, p21/p16 and the rules of the cell's phase; sets ``cell.pending``."""
    phase = cell.phase  # at the start of the step
    gero_drive, growth_drive = signalling(cell, world, inputs)
    blocked, event_draw = cdk_inhibitors(cell, world, inputs, gero_drive)
    cell.age_h = f32(cell.age_h + world.dt)
    if cell.kind == DIFFERENTIATED:
        action = differentiated_fate(cell, world)
    elif phase == CYCLING:
        action = cycling_fate(cell, world, blocked, growth_drive)
    elif phase == ARRESTED:
        action = arrested_fate(cell, world, inputs, blocked, event_draw, gero_drive, growth_drive)
    else:
        action = senescent_fate(cell, world, inputs, event_draw, gero_drive, growth_drive)
    if (
        action == NONE
        and phase != SENESCENT
        and world.death_p > 0.0
        and 0.0 <= event_draw - row_damage_p(cell, inputs) < world.death_p
    ):
        action = DIE  # background death of any cell that is not senescent
    cell.pending = action


def row_damage_p(cell, inputs: StepInputs) -> float:
    """The probability of a DNA-damage hit this step in the cell's row (age, and UV by depth)."""
    return float(inputs.damage_p_row[cell.row])


def signalling(cell, world, inputs: StepInputs) -> tuple[float, float]:
    """2. drive x contact inhibition (x stem factor) -> S6K, 4E-BP1 -> (gero drive, growth drive)."""
    cells = world.cells
    drive = inputs.drive
    if cells.contact_inhibition_max > 0.0:
        crowd = world.occupied_neighbours(cell) / float(world.n_neighbours)
        drive *= 1.0 - cells.contact_inhibition_max * crowd * crowd
        world.branches["contact_crowded"] += crowd > 0.0
    if cell.kind == STEM:
        drive *= cells.stem_mtor_factor
    s6k = drive * float(inputs.s6k_row[cell.row])
    e4bp = drive * float(inputs.e4bp_row[cell.row])
    gero_drive = cells.w_gero * s6k + (1.0 - cells.w_gero) * e4bp
    growth_drive = cells.w_grow * s6k + (1.0 - cells.w_grow) * e4bp
    return gero_drive, growth_drive


def cdk_inhibitors(cell, world, inputs: StepInputs, gero_drive: float) -> tuple[bool, float]:
    """3. p21 and p16 relax to their drivers, p16 rises slowly, damage kicks both.

    Returns whether the cycle is blocked and the cell's event draw for this step: one
    uniform per cell and step, whose [0, damage) is a DNA-damage hit and whose next
    intervals are clearance and death, then (for an arrested progenitor) the
    differentiation exit.
    """
    cells, phase = world.cells, cell.phase
    x21 = cell.p21
    target21 = min(1.0, inputs.inducer * cells.inducer_to_p21 + cells.sasp_to_p21 * cell.sasp)
    x21 += (target21 - x21) * world.p21_relax
    x16 = cell.p16
    x16 += (min(1.0, inputs.inducer * cells.inducer_to_p16) - x16) * world.p16_relax
    rise = cells.p16_rise_age_per_h
    if phase == SENESCENT:
        rise += cells.p16_rise_senescent_per_h
    elif phase == ARRESTED and cell.kind != DIFFERENTIATED:
        rise += cells.p16_rise_arrested_per_h * gero_drive  # late marker, mTOR-driven
    x16 += rise * world.dt * (1.0 - x16)
    event_draw = 1.0
    exit_possible = phase == ARRESTED and leaves_when_damaged(cell, world) and world.damaged_exit_p > 0.0
    if row_damage_p(cell, inputs) > 0.0 or world.death_p > 0.0 or phase == SENESCENT or exit_possible:
        event_draw = world.uniform(S_EVENTS, cell.uid)
    if event_draw < row_damage_p(cell, inputs):
        x21 = min(1.0, x21 + cells.damage_p21_jump)
        x16 = min(1.0, x16 + cells.damage_p16_jump)
        world.branches["damage_event"] += 1
        world.branches["sunlit_damage_event"] += row_damage_p(cell, inputs) > inputs.damage_p
    cell.p21 = f32(x21)
    cell.p16 = f32(x16)
    # the decision reads the unrounded values, as the kernel does
    return x21 > cells.p21_threshold or x16 > cells.p16_threshold, event_draw


def differentiated_fate(cell, world) -> int:
    """7. a differentiated cell is shed when its transit time is up (on the stored float32)."""
    cell.arrest_h = f32(cell.arrest_h + world.dt)
    return SHED if cell.arrest_h >= world.cells.transit_h else NONE


def cycling_fate(cell, world, blocked: bool, growth_drive: float) -> int:
    """4. arrest, G0 rest, or growth and cycle progress; at the end of the cycle, ask to divide."""
    cells, dt = world.cells, world.dt
    if blocked:
        cell.phase = ARRESTED
        cell.arrest_h = 0.0
        world.events[E_ARRESTS] += 1
        return NONE
    c = cell.cycle
    if c < 0.0:  # resting in G0 after a division ...
        if world.geometry != DISH and cell.kind in (STEM, PROGENITOR) and world.basal_gap(cell):
            c = 0.0  # ... unless a free basal neighbour wakes the cell: the basal layer refills
            world.branches["g0_woken_by_gap"] += 1
        else:
            c = min(0.0, c + dt / cells.rest_mean_h)
            world.branches["g0_rest"] += 1
    elif c < 1.0:
        hours = cycle_hours(cell.kind, cells)
        c += growth_drive * dt / hours
        cell.mass = f32(min(cell.mass * math.exp(LN2 * growth_drive * dt / hours), cells.mass_max))
    cell.cycle = f32(c)
    if c >= 1.0 and cell.mass >= cells.division_mass:
        return division_request(cell, world)
    return NONE


def division_request(cell, world) -> int:
    """A cell at the end of its cycle asks to divide unless it cannot."""
    if cell.kind == PROGENITOR and cell.divisions_left <= 0:
        world.branches["exhausted_waiting"] += 1
        return NONE  # exhausted: waits until a dividing neighbour displaces it (delaminate)
    if world.geometry == DISH and world.occupied_neighbours(cell) == 4:
        # contact-inhibited: no free neighbour now, so it does not ask (nor take a site freed later)
        world.branches["contact_inhibited"] += 1
        return NONE
    return DIVIDE


def leaves_when_damaged(cell, world) -> bool:
    """Progenitors may leave by differentiating when arrested; stem cells only where a niche
    refills them (``stem_niche_reach_sites`` > 0): without one, a stem cell that left would
    never be replaced."""
    return cell.kind == PROGENITOR or (cell.kind == STEM and world.cells.stem_niche_reach_sites > 0)


def arrested_fate(
    cell, world, inputs: StepInputs, blocked: bool, event_draw: float, gero_drive: float, growth_drive: float
) -> int:
    """5. resume when the block is lifted (RPP kept); else hypertrophy and geroconversion,
    or, for a progenitor that does not convert, perhaps the differentiation exit."""
    cells, dt = world.cells, world.dt
    if not blocked:
        cell.phase = CYCLING
        cell.arrest_h = 0.0
        world.events[E_RESUMES] += 1
        return NONE
    cell.arrest_h = f32(cell.arrest_h + dt)
    cell.mass = f32(logistic_hypertrophy(cell.mass, growth_drive, cells, dt))
    g = cell.gero + cells.gero_rate_per_h * gero_drive * dt
    cell.gero = f32(g)
    if g >= cell.gero_threshold:  # unrounded progress against the stored threshold
        cell.phase = SENESCENT  # irreversible
        world.events[E_CONVERSIONS] += 1
    elif (
        leaves_when_damaged(cell, world)
        and cell.row + 1 < world.rows
        and 0.0 <= event_draw - row_damage_p(cell, inputs) - world.death_p < world.damaged_exit_p
    ):
        return DAMAGE_EXIT  # the slice after background death's (see cdk_inhibitors)
    return NONE


def senescent_fate(cell, world, inputs: StepInputs, event_draw: float, gero_drive: float, growth_drive: float) -> int:
    """6. hypertrophy, SASP secretion in proportion to mTOR, immune clearance, rare death."""
    cells, dt = world.cells, world.dt
    cell.arrest_h = f32(cell.arrest_h + dt)
    cell.mass = f32(logistic_hypertrophy(cell.mass, growth_drive, cells, dt))
    cell.sasp = f32(cell.sasp + cells.sasp_secretion_per_h * gero_drive * dt)
    v = event_draw - row_damage_p(cell, inputs)
    clear, dying = inputs.clear_p, world.senescent_death_p
    if cell.kind == MELANOCYTE:  # narrower removal slices, each where it is
        clear *= cells.melanocyte_removal_factor
        dying *= cells.melanocyte_removal_factor
    if 0.0 <= v < clear:
        return CLEAR
    if 0.0 <= v - inputs.clear_p < dying:
        return DIE
    return NONE


# ---------------------------------------------------------------------------------------
# Step 8: the ordered pass carries out what was decided (the world visits sites in order)
# ---------------------------------------------------------------------------------------
def act(cell, world) -> None:
    """Carry out the cell's pending action."""
    action, cell.pending = cell.pending, NONE
    if action in LEAVING_EVENT:
        leave(cell, world, action)
    elif action == DIVIDE:
        divide(cell, world)
    elif action == DAMAGE_EXIT:
        world.events[E_DAMAGE_EXITS] += 1
        world.branches["damage_exit"] += 1
        world.branches["damage_exit_stem"] += cell.kind == STEM
        delaminate(cell, world)


def leave(cell, world, action: int) -> None:
    """Clearance, death or shedding: the cell is gone and its site is free."""
    if cell.phase == SENESCENT:
        world.events[E_SENESCENT_LOST] += 1
    world.events[LEAVING_EVENT[action]] += 1
    world.remove(cell)


def shed_from_top(cell, world) -> None:
    """The top cell of a full column that is pushed up leaves the tissue."""
    world.branches["push_shed_top"] += 1
    leave(cell, world, SHED)


def push_up_above(cell, world):
    """The site above ``cell``, freed by pushing its column up by one."""
    world.branches["push"] += 1
    return world.push_column_above(cell)


def delaminate(cell, world) -> None:
    """A basal keratinocyte (an exhausted progenitor, or a damaged one leaving)
    differentiates and leaves the basal row for the suprabasal site above it (pushing that
    column up); its basal site is left free."""
    cell.kind, cell.phase = DIFFERENTIATED, ARRESTED
    cell.arrest_h, cell.cycle = 0.0, 0.0
    world.events[E_DIFFERENTIATIONS] += 1
    if cell.row + 1 < world.rows:
        world.move(cell, push_up_above(cell, world))


def divide(cell, world) -> None:
    """Division into a free neighbour (or, at the epidermal base, by pushing the column up)."""
    mother_kind = cell.kind
    direction = world.uniform(S_DIRECTION, cell.uid)
    daughter_kind, daughter_phase = mother_kind, CYCLING
    if world.geometry == DISH:
        target = world.free_neighbour(cell, direction)
    elif mother_kind == FIBROBLAST:
        target = world.free_neighbour(cell, direction, 0, world.basal_row)
    elif mother_kind == MELANOCYTE:
        target = melanocyte_division_site(cell, world, direction)
    else:
        target, daughter_kind, daughter_phase = basal_division(cell, world, direction)
    if target is None:
        world.branches["contact_inhibited"] += 1  # no room: waits at the end of its cycle
        return
    world.branches[f"division_kind_{mother_kind}"] += 1
    world.events[E_DIVISIONS] += 1
    world.events[E_BIRTHS] += 1
    child = world.new_uid()
    half = cell.mass * 0.5
    values = daughter_values(cell, world, child, half, daughter_kind, daughter_phase, mother_kind)
    cell.mass = f32(half)
    cell.gero = 0.0
    cell.age_h = 0.0
    cell.cycle = f32(newborn_cycle_position(world, cell.uid))
    daughter = world.place_daughter(target, values)
    for newborn in (cell, daughter):
        if newborn.kind == PROGENITOR and newborn.divisions_left <= 0:
            newborn.cycle = 1.0  # exhausted: leaves the cycle at once and waits to delaminate
    for newborn in (cell, daughter):
        replication_stress(newborn, world)


def daughter_values(mother, world, uid: int, mass: float, kind: int, phase: int, mother_kind: int) -> dict:
    """Every field of a newborn daughter (the mother's after ``basal_division``)."""
    if kind != PROGENITOR:
        budget = 0
    elif mother_kind == PROGENITOR:
        budget = mother.divisions_left  # a progenitor's daughter inherits what is left
    else:
        budget = progenitor_division_budget(world, uid)
    return {
        "uid": uid,
        "kind": kind,
        "phase": phase,
        "divisions_left": budget,
        "pending": NONE,
        "mass": f32(mass),
        "cycle": f32(newborn_cycle_position(world, uid)) if phase == CYCLING else 0.0,
        "p21": mother.p21,
        "p16": mother.p16,
        "gero": 0.0,
        "gero_threshold": f32(gero_threshold_at_birth(world, uid)),
        "age_h": 0.0,
        "arrest_h": 0.0,
        "clone": mother.clone,
    }


def replication_stress(cell, world) -> None:
    """Each cell coming out of a division may take a DNA-damage hit."""
    cells = world.cells
    if world.uniform(S_REPLICATION, cell.uid) < cells.damage_per_division:
        cell.p21 = f32(min(1.0, cell.p21 + cells.damage_p21_jump))
        cell.p16 = f32(min(1.0, cell.p16 + cells.damage_p16_jump))
        world.branches["replication_damage"] += 1


def basal_division(cell, world, direction: float):
    """Epidermal basal division: (daughter's site or None, daughter kind, daughter phase).

    A free basal neighbour keeps the daughter basal (a stem's daughter stays a stem with
    probability ``stem_renew_into_gap``); else the daughter takes the place of an
    exhausted progenitor neighbour, which delaminates; else she differentiates and
    pushes the column above the mother up by one.  A stem may first commit and become a
    progenitor (symmetric loss); one that does not, in a niche short of stem cells, gives a
    second stem cell, which may also take a displaceable progenitor's site.  A progenitor
    mother spends one division.
    """
    cells, mother_kind, row = world.cells, cell.kind, cell.row
    target = world.free_neighbour(cell, direction, row, row + 1)
    if target is None and row + 1 >= world.rows:
        return None, mother_kind, CYCLING  # no room at all: the mother is left unchanged
    if target is None:
        target = make_way(cell, world, direction)
    fate = world.uniform(S_FATE, cell.uid)
    commits = mother_kind == STEM and fate < cells.stem_symmetric_loss
    refills = mother_kind == STEM and not commits and stem_niche_open(cell, world)
    if refills and target is None:
        target = displace(displaceable_progenitors(cell, world), world, direction, "stem_displaces_progenitor")
    if commits:
        cell.kind = PROGENITOR
        cell.divisions_left = progenitor_division_budget(world, cell.uid)
        world.branches["stem_symmetric_loss"] += 1
    if cell.kind == PROGENITOR:
        cell.divisions_left = cell.divisions_left - 1
    if target is not None:
        if (
            mother_kind == STEM
            and not commits
            and (refills or world.uniform(S_RENEW, cell.uid) < cells.stem_renew_into_gap)
        ):
            world.branches["stem_refills_niche" if refills else "stem_renewal"] += 1
            return target, STEM, CYCLING
        return target, PROGENITOR, CYCLING
    return push_up_above(cell, world), DIFFERENTIATED, ARRESTED


def stem_niche_open(cell, world) -> bool:
    """Whether the stem cells within ``stem_niche_reach_sites`` basal sites either side (the
    cell included, senescent ones too, each site once) are fewer than ``stem_fraction`` of
    them: the niche then refills itself by a division that gives two stem cells.  With no
    niche (reach 0) a lost stem cell is never replaced."""
    if world.cells.stem_niche_reach_sites <= 0:
        return False
    is_open = not at_density(cell, world, STEM, world.cells.stem_niche_reach_sites, world.cells.stem_fraction)
    world.branches["stem_niche_open"] += is_open
    return is_open


def melanocyte_division_site(cell, world, direction: float):
    """A melanocyte below its density divides into a free basal site, else into the site of
    a progenitor beside it, which delaminates (keratinocytes keep the melanocytes' density:
    an assumption); at its density, or with neither, it waits (None)."""
    if melanocytes_at_density(cell, world):
        return None
    target = world.free_neighbour(cell, direction, cell.row, cell.row + 1)
    if target is not None or cell.row + 1 >= world.rows:
        return target
    return displace(displaceable_progenitors(cell, world), world, direction, "melanocyte_displaces_progenitor")


def displaceable_progenitors(cell, world) -> list:
    """The progenitors beside ``cell`` that a division may push out of the basal row: not
    senescent, and not one with an action pending (it would be carried up and done there)."""
    return [
        other
        for other in world.sideways_neighbours(cell)
        if other.kind == PROGENITOR and other.phase != SENESCENT and other.pending == NONE
    ]


def melanocytes_at_density(cell, world) -> bool:
    """Whether the melanocytes within ``melanocyte_reach_sites`` basal sites either side
    (the cell included, each site once) already make up ``melanocyte_fraction`` of them."""
    cells = world.cells
    dense = at_density(cell, world, MELANOCYTE, cells.melanocyte_reach_sites, cells.melanocyte_fraction)
    world.branches["melanocyte_at_density"] += dense
    return dense


def at_density(cell, world, of_kind: int, reach_sites: int, fraction: float) -> bool:
    """Whether the cells of ``of_kind`` within ``reach_sites`` basal sites either side of
    ``cell`` (itself included; each site once on a narrow row; a square on a sheet) make up
    ``fraction`` of those sites."""
    others, n_sites = world.layer_window(cell, reach_sites)
    count = 1 + sum(other.kind == of_kind for other in others)
    return count >= fraction * n_sites


def make_way(cell, world, direction: float):
    """Crowding: an exhausted progenitor beside ``cell`` (chosen by ``direction`` when more
    than one is) delaminates, and its site is returned; None when there is none."""
    exhausted = [
        other
        for other in world.sideways_neighbours(cell)
        if other.kind == PROGENITOR and other.phase == CYCLING and other.divisions_left <= 0
    ]
    return displace(exhausted, world, direction, "delamination_by_crowding")


def displace(candidates: list, world, direction: float, branch: str):
    """The ``int(direction * n)``-th of the n ``candidates`` (in the order of
    ``sideways_neighbours``) delaminates; returns its site, or None when there is none."""
    if not candidates:
        return None
    chosen = candidates[int(direction * len(candidates))]
    site = chosen.site  # taken before the cell moves away from it
    delaminate(chosen, world)
    world.branches[branch] += 1
    return site
