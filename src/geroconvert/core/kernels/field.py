"""The SASP field: explicit diffusion with decay on the lattice, updated in place."""

import numpy as np
from numba import njit, prange

from geroconvert.core.layout import DISH

N_BLOCKS = 64  # row blocks; fixed, so the result does not depend on the thread count


@njit(inline="always", cache=True)
def block_rows(b, n_blocks, rows):
    return rows * b // n_blocks, rows * (b + 1) // n_blocks


@njit(inline="always", cache=True)
def update_site(field, base, col, left, right, centre, below, above, coef, keep):
    c = centre[col]
    lap = centre[left] + centre[right] + below[col] + above[col] - 4.0 * c
    field[base + col] = keep * (c + coef * lap)


@njit(parallel=True, cache=True)
def diffuse(geometry, width, rows, field, coef, keep):
    """One explicit step in place: ``field = keep * (field + coef * laplacian(field))``.

    The dish wraps both ways; the epidermis wraps sideways and has no-flux top and
    bottom edges.  ``coef`` = D * dt (sites^2) must be at most 0.25 for stability; the
    caller splits a step into sub-steps to keep it so.  ``keep`` = exp(-decay * dt).

    In place, to save a scratch array (4 bytes per site): blocks of rows run in
    parallel; each keeps the old values of the row below it in a rolling buffer, and
    the old first and last rows of every block are saved before anything changes, for
    the neighbouring blocks.
    """
    n_blocks = min(rows, N_BLOCKS)
    first = np.empty((n_blocks, width), np.float32)
    last = np.empty((n_blocks, width), np.float32)
    for b in prange(n_blocks):
        lo, hi = block_rows(b, n_blocks, rows)
        first[b, :] = field[lo * width : (lo + 1) * width]
        last[b, :] = field[(hi - 1) * width : hi * width]
    for b in prange(n_blocks):
        lo, hi = block_rows(b, n_blocks, rows)
        below = np.empty(width, np.float32)
        centre = np.empty(width, np.float32)
        above = np.empty(width, np.float32)
        for row in range(lo, hi):
            centre[:] = field[row * width : (row + 1) * width]
            if row == lo:  # the row below belongs to the previous block (or wraps, or is the edge)
                if row > 0:
                    below[:] = last[b - 1]
                elif geometry == DISH:
                    below[:] = last[n_blocks - 1]
                else:
                    below[:] = centre
            if row < hi - 1:
                above[:] = field[(row + 1) * width : (row + 2) * width]
            elif row < rows - 1:
                above[:] = first[b + 1]
            elif geometry == DISH:
                above[:] = first[0]
            else:
                above[:] = centre
            base = row * width
            # the two edge columns wrap; the interior has no branch and vectorises
            update_site(
                field, base, 0, width - 1 if width > 1 else 0, 1 if width > 1 else 0, centre, below, above, coef, keep
            )
            for col in range(1, width - 1):
                c = centre[col]
                lap = centre[col - 1] + centre[col + 1] + below[col] + above[col] - 4.0 * c
                field[base + col] = keep * (c + coef * lap)
            if width > 1:
                update_site(field, base, width - 1, width - 2, 0, centre, below, above, coef, keep)
            below[:] = centre
