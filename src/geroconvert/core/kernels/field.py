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


@njit(inline="always", cache=True)
def update_sheet_site(field, base, col, left, right, front, back, centre, below, above, coef, keep):
    c = centre[col]
    lap = centre[left] + centre[right] + centre[front] + centre[back] + below[col] + above[col] - 6.0 * c
    field[base + col] = keep * (c + coef * lap)


@njit(cache=True)
def update_sheet(field, base, plane, sheet_width, centre, below, above, coef, keep):
    """One layer of a sheet: six neighbours, wrapping both ways in the layer (a sheet two
    sites deep has the same site in front and behind, counted twice, as a row two sites
    wide has on its left and right).  The edge columns wrap; the interior has no branch."""
    w = sheet_width
    depth = plane // w
    for y in range(depth):
        front = (y - 1 if y > 0 else depth - 1) * w
        back = (y + 1 if y < depth - 1 else 0) * w
        start = y * w
        update_sheet_site(
            field, base, start, start + w - 1 if w > 1 else start, start + 1 if w > 1 else start,
            front, back, centre, below, above, coef, keep,
        )  # fmt: skip
        # views of the row and of its neighbours in front and behind, so the loop indexes
        # them all by x alone, as the row stencil does (it then vectorises)
        here, ahead, behind = centre[start : start + w], centre[front : front + w], centre[back : back + w]
        under, over, out = below[start : start + w], above[start : start + w], field[base + start : base + start + w]
        for x in range(1, w - 1):
            c = here[x]
            lap = here[x - 1] + here[x + 1] + ahead[x] + behind[x] + under[x] + over[x] - 6.0 * c
            out[x] = keep * (c + coef * lap)
        if w > 1:
            update_sheet_site(
                field, base, start + w - 1, start + w - 2, start, front + w - 1, back + w - 1,
                centre, below, above, coef, keep,
            )  # fmt: skip


@njit(parallel=True, cache=True)
def diffuse(geometry, plane, sheet_width, rows, field, coef, keep):
    """One explicit step in place: ``field = keep * (field + coef * laplacian(field))``.

    The dish wraps both ways; the epidermis wraps sideways and has no-flux top and
    bottom edges.  A layer is a row, or a sheet ``sheet_width`` sites wide that wraps
    front to back too (``kernels.sheet``).  ``coef`` = D * dt (sites^2) must be at most
    0.25 on rows, 1/6 under a sheet, for stability; the caller splits a step into sub-steps
    to keep it so (``inputs.sasp_substeps``).  ``keep`` = exp(-decay * dt).

    In place, to save a scratch array (4 bytes per site): blocks of rows run in
    parallel; each keeps the old values of the row below it in a rolling buffer, and
    the old first and last rows of every block are saved before anything changes, for
    the neighbouring blocks.
    """
    n_blocks = min(rows, N_BLOCKS)
    first = np.empty((n_blocks, plane), np.float32)
    last = np.empty((n_blocks, plane), np.float32)
    for b in prange(n_blocks):
        lo, hi = block_rows(b, n_blocks, rows)
        first[b, :] = field[lo * plane : (lo + 1) * plane]
        last[b, :] = field[(hi - 1) * plane : hi * plane]
    for b in prange(n_blocks):
        lo, hi = block_rows(b, n_blocks, rows)
        below = np.empty(plane, np.float32)
        centre = np.empty(plane, np.float32)
        above = np.empty(plane, np.float32)
        for row in range(lo, hi):
            centre[:] = field[row * plane : (row + 1) * plane]
            if row == lo:  # the row below belongs to the previous block (or wraps, or is the edge)
                if row > 0:
                    below[:] = last[b - 1]
                elif geometry == DISH:
                    below[:] = last[n_blocks - 1]
                else:
                    below[:] = centre
            if row < hi - 1:
                above[:] = field[(row + 1) * plane : (row + 2) * plane]
            elif row < rows - 1:
                above[:] = first[b + 1]
            elif geometry == DISH:
                above[:] = first[0]
            else:
                above[:] = centre
            base = row * plane
            if sheet_width != plane:
                update_sheet(field, base, plane, sheet_width, centre, below, above, coef, keep)
                below[:] = centre
                continue
            # the two edge columns wrap; the interior has no branch and vectorises
            update_site(
                field, base, 0, plane - 1 if plane > 1 else 0, 1 if plane > 1 else 0, centre, below, above, coef, keep
            )
            for col in range(1, plane - 1):
                c = centre[col]
                lap = centre[col - 1] + centre[col + 1] + below[col] + above[col] - 4.0 * c
                field[base + col] = keep * (c + coef * lap)
            if plane > 1:
                update_site(field, base, plane - 1, plane - 2, 0, centre, below, above, coef, keep)
            below[:] = centre
