"""Initial lattices: a sparse dish, or an epidermis cross-section with an optional dermis."""

import math

from numba import njit

from geroconvert.core.kernels.cells import gero_threshold_draw
from geroconvert.core.kernels.divisions import progenitor_divisions
from geroconvert.core.kernels.rng import stream_key, uniform
from geroconvert.core.layout import (
    ARRESTED,
    CYCLING,
    DIFFERENTIATED,
    FIBROBLAST,
    K_TRANSIT_H,
    LINE,
    MELANOCYTE,
    PROGENITOR,
    S_DIVISIONS,
    S_INIT,
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
    C_PHASE,
    C_UID,
)


@njit(inline="always", cache=True)
def place(site, kind_code, phase_code, cycle_value, arrays, k, seed, new_uid):
    """A new cell at ``site``, its own clone; the site's pending and SASP are left as they are."""
    arrays[C_UID][site] = new_uid
    arrays[C_KIND][site] = kind_code
    arrays[C_PHASE][site] = phase_code
    arrays[C_DIVISIONS_LEFT][site] = 0
    arrays[C_CYCLE][site] = cycle_value
    arrays[C_MASS][site] = 2.0 ** max(cycle_value, 0.0)
    arrays[C_P21][site] = 0.0
    arrays[C_P16][site] = 0.0
    arrays[C_GERO][site] = 0.0
    arrays[C_GERO_THRESHOLD][site] = gero_threshold_draw(k, seed, new_uid)
    arrays[C_AGE_H][site] = 0.0
    arrays[C_ARREST_H][site] = 0.0
    arrays[C_CLONE][site] = new_uid


@njit(inline="always", cache=True)
def start_cycle(seed, site, rest_fraction):
    """A position in the cycle, or in G0 with probability ``rest_fraction``."""
    u = uniform(seed, S_INIT, site, 1)
    if uniform(seed, S_INIT, site, 2) < rest_fraction:
        return math.log(1.0 - u)
    return u


@njit(cache=True)
def seed_dish(width, rows, density, arrays, k, seed):
    """Scatter cultured-line cells over the torus; returns the next free uid.

    ``arrays``: every cell array, in ``state.CELL_FIELDS`` order (``CellState.cell_arrays()``).
    """
    next_uid = 0
    for site in range(width * rows):
        if uniform(seed, S_INIT, site, 0) < density:
            place(site, LINE, CYCLING, uniform(seed, S_INIT, site, 1), arrays, k, seed, next_uid)
            next_uid += 1
    return next_uid


@njit(cache=True)
def seed_epidermis(
    width,
    rows,
    basal_row,
    thickness,
    dermis_density,
    stem_fraction,
    melanocyte_fraction,
    rest_fraction,
    arrays,
    k,
    seed,
):
    """Dermis band, a full basal row of melanocytes (each site with probability
    ``melanocyte_fraction``), stem and progenitor cells, and ``thickness`` suprabasal rows
    whose time since differentiation rises with height (``arrays`` as in :func:`seed_dish`)."""
    next_uid = 0
    for site in range(basal_row * width):
        if uniform(seed, S_INIT, site, 0) < dermis_density:
            place(site, FIBROBLAST, CYCLING, start_cycle(seed, site, rest_fraction), arrays, k, seed, next_uid)
            next_uid += 1
    for col in range(width):
        site = basal_row * width + col
        # a draw of its own, so that without melanocytes every other draw is as before
        if melanocyte_fraction > 0.0 and uniform(seed, S_INIT, site, 5) < melanocyte_fraction:
            place(site, MELANOCYTE, CYCLING, start_cycle(seed, site, rest_fraction), arrays, k, seed, next_uid)
            next_uid += 1
            continue
        is_stem = uniform(seed, S_INIT, site, 3) < stem_fraction
        place(
            site,
            STEM if is_stem else PROGENITOR,
            CYCLING,
            start_cycle(seed, site, rest_fraction),
            arrays,
            k,
            seed,
            next_uid,
        )
        if not is_stem:
            arrays[C_DIVISIONS_LEFT][site] = progenitor_divisions(k, stream_key(seed, S_DIVISIONS, 0), next_uid)
        next_uid += 1
    for layer in range(1, thickness + 1):
        row = basal_row + layer
        if row >= rows:
            break
        for col in range(width):
            site = row * width + col
            place(site, DIFFERENTIATED, ARRESTED, 0.0, arrays, k, seed, next_uid)
            arrays[C_ARREST_H][site] = k[K_TRANSIT_H] * (layer - uniform(seed, S_INIT, site, 4)) / (thickness + 1)
            next_uid += 1
    return next_uid
