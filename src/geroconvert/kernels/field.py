"""The SASP field: explicit diffusion with decay on the lattice."""

from numba import njit, prange

from .layout import DISH


@njit(parallel=True, cache=True)
def diffuse(geometry, width, rows, field, out, coef, keep):
    """One explicit step: ``out = keep * (field + coef * laplacian(field))``.

    The dish wraps both ways; the epidermis wraps sideways and has no-flux top and
    bottom edges.  ``coef`` = D * dt (sites^2) must be at most 0.25 for stability;
    the caller splits a step into sub-steps to keep it so.  ``keep`` = exp(-decay*dt).
    """
    for row in prange(rows):
        base = row * width
        if geometry == DISH:
            below = (row - 1 if row > 0 else rows - 1) * width
            above = (row + 1 if row < rows - 1 else 0) * width
        else:
            below = (row - 1) * width if row > 0 else base
            above = (row + 1) * width if row < rows - 1 else base
        for col in range(width):
            left = col - 1 if col > 0 else width - 1
            right = col + 1 if col < width - 1 else 0
            centre = field[base + col]
            lap = (field[base + left] + field[base + right] + field[below + col] + field[above + col]
                   - 4.0 * centre)
            out[base + col] = keep * (centre + coef * lap)
