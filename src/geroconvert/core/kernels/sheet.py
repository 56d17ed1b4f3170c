"""Where a site's neighbours lie within its layer: a row, or a 2-D sheet.

The lattice is ``rows`` layers of ``plane`` sites each (site = row * plane + column).  A
layer is a row of ``plane`` sites (the cross-section, and the dish) or, in the stratified
epidermis, a sheet of ``sheet_width`` x ``plane // sheet_width`` sites (column =
y * sheet_width + x).  Both wrap sideways.  On a row ``sheet_width == plane`` and every
function here gives what the row code always gave, so a cross-section is unchanged bit
for bit.
"""

import numpy as np
from numba import njit

from geroconvert.core.layout import EMPTY


@njit(inline="always", cache=True)
def lateral_sites(i, row, plane, sheet_width):
    """(left, right, front, back): the site's neighbours in its layer, wrapping.

    On a row, front and back are -1 (there are none); on a sheet two sites deep the two
    are one site, given once (back is -1).  Left and right may be one site, on a row two
    sites wide, as they always were."""
    col = i - row * plane
    if sheet_width == plane:  # a row: no division by the width (the dish asks this of every cell)
        start = row * plane
        return start + (col - 1 if col > 0 else plane - 1), start + (col + 1 if col < plane - 1 else 0), -1, -1
    # one division (x), in 32 bits, which is several times faster than in 64; front and back
    # are a sheet row away, wrapping within the layer
    x = int(np.uint32(col) % np.uint32(sheet_width))
    left = i - 1 if x > 0 else i + sheet_width - 1
    right = i + 1 if x < sheet_width - 1 else i - sheet_width + 1
    front = i - sheet_width if col >= sheet_width else i - sheet_width + plane
    back = i + sheet_width if col + sheet_width < plane else i + sheet_width - plane
    if back == front:  # a sheet two sites deep
        back = -1
    return left, right, front, back


@njit(inline="always", cache=True)
def window_count(i, row, plane, sheet_width, reach_sites, of_kind, kind, phase):
    """(cells of ``of_kind``, sites) in the square of ``reach_sites`` either side of the site
    at ``i`` in its layer (on a row: the stretch of that many either side), each site once
    and the site itself included as one of ``of_kind``: the neighbourhood whose density the
    niche and the melanocytes keep."""
    depth = plane // sheet_width
    col = i - row * plane
    y = col // sheet_width
    x = col - y * sheet_width
    reach_x = min(reach_sites, (sheet_width - 1) // 2)  # each site once on a narrow sheet
    reach_y = min(reach_sites, (depth - 1) // 2)
    count = 1
    for dy in range(-reach_y, reach_y + 1):
        yy = y + dy
        if yy < 0:
            yy += depth
        elif yy >= depth:
            yy -= depth
        for dx in range(-reach_x, reach_x + 1):
            if dx == 0 and dy == 0:
                continue
            xx = x + dx
            if xx < 0:
                xx += sheet_width
            elif xx >= sheet_width:
                xx -= sheet_width
            j = row * plane + yy * sheet_width + xx
            if phase[j] != EMPTY and kind[j] == of_kind:
                count += 1
    return count, (2 * reach_x + 1) * (2 * reach_y + 1)
