"""CellState: the structure of arrays.  No biology here.

One slot per lattice site (index = row * plane + column), so the capacity is the
lattice size and a neighbour is an index away.  A row (layer) holds ``plane`` = width x
depth sites: ``depth`` is 1 on the dish and the epidermal cross-section, and more on a
basal sheet under stacked layers, whose column index is y * width + x.  A free site has ``phase == EMPTY``;
every other array is meaningless there.  Dtypes are chosen for memory: a site costs
``bytes_per_site`` bytes (float32 where 7 significant digits are enough).

The arrays are declared once, in :data:`FIELDS`; every list of them (``CELL_FIELDS``,
``MOVING_FIELDS``, the attributes of :class:`CellState`, the tuple the kernels take) is
derived from it, so adding an array is one line here plus the rules that use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from geroconvert.core.layout import EMPTY


class CellField(NamedTuple):
    name: str
    dtype: type
    meaning: str
    moves: bool = True  # travels with a cell when it moves (False: a property of the site)


FIELDS = (
    CellField("uid", np.uint32, "unique, never reused; 4.29e9 births per run (engine checks)"),
    CellField("kind", np.uint8, "STEM .. MELANOCYTE"),
    CellField("phase", np.uint8, "EMPTY, CYCLING, ARRESTED, SENESCENT"),
    CellField("divisions_left", np.int8, "progenitors' remaining divisions"),
    CellField("pending", np.uint8, "action decided this step (kernels only)"),
    CellField("mass", np.float32, "newborn = 1"),
    CellField("cycle", np.float32, "<0: G0 rest still to go; 0..1: progress through the cycle"),
    CellField("p21", np.float32, "0..1"),
    CellField("p16", np.float32, "0..1"),
    CellField("gero", np.float32, "geroconversion progress"),
    CellField("gero_threshold", np.float32, "per cell, lognormal, drawn at birth"),
    CellField("age_h", np.float32, "hours since birth"),
    CellField("arrest_h", np.float32, "hours since the cycle stopped (arrest, or terminal differentiation)"),
    CellField("clone", np.int32, "lineage label"),
    CellField("sasp", np.float32, "SASP field at this site (a property of the site, not the cell)", moves=False),
)

# name -> dtype, in declaration order
CELL_FIELDS = {field.name: field.dtype for field in FIELDS}

# arrays that travel with a cell when it moves (everything but the site's field)
MOVING_FIELDS = tuple(field.name for field in FIELDS if field.moves)


def _tuple_of(names: tuple[str, ...]) -> Callable[[Any], tuple]:
    """``lambda state: (state.uid, ..., state.sasp)`` for these names, compiled once: it
    runs every step, and takes 90 ns where operator.attrgetter takes 230."""
    assert all(name.isidentifier() for name in names)
    return eval("lambda state: (" + "".join(f"state.{name}, " for name in names) + ")")


# The kernels take every array as one tuple in CELL_FIELDS order (``CellState.cell_arrays()``).
# A plain tuple, not a named one: numba loses the writes made through a named tuple's
# arrays inside a prange loop (numba issues 5872, 7135, 10338), and types a named tuple
# about 1 us slower per call (benchmarks/kernel_arguments.py).
_kernel_order = _tuple_of(tuple(CELL_FIELDS))

# C_UID, C_KIND, ..., C_SASP: each array's index in that tuple, for ``arrays[C_PHASE]`` in
# a kernel.  Numba takes an element of a mixed tuple only at a compile-time constant index,
# and reads a module-level integer as one; generated, so they cannot drift from FIELDS.
for _index, _name in enumerate(CELL_FIELDS):
    globals()["C_" + _name.upper()] = _index
del _index, _name


class CellState:
    """The lattice's arrays as attributes (``state.phase``...), plus its shape and the next uid.

    ``CellState(width, rows, next_uid=0, depth=1, **arrays)`` with one array per name in
    CELL_FIELDS.  ``depth``: sheet rows front to back (1: every layer is a row).
    """

    # slots: a misspelt array name fails instead of adding an attribute no kernel sees
    __slots__ = ("width", "depth", "rows", "next_uid", *CELL_FIELDS)
    width: int
    depth: int
    rows: int
    next_uid: int

    if TYPE_CHECKING:  # the arrays are slots named by CELL_FIELDS, which a type checker cannot read

        def __getattr__(self, name: str) -> np.ndarray: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def __init__(self, width: int, rows: int, next_uid: int = 0, depth: int = 1, **arrays: np.ndarray):
        if set(arrays) != set(CELL_FIELDS):
            raise TypeError(f"CellState needs exactly the arrays {list(CELL_FIELDS)}, got {sorted(arrays)}")
        self.width = width
        self.depth = depth
        self.rows = rows
        self.next_uid = next_uid
        for name, array in arrays.items():
            setattr(self, name, array)

    def __repr__(self) -> str:
        sheet = f", depth={self.depth}" if self.depth > 1 else ""
        return f"CellState(width={self.width}{sheet}, rows={self.rows}, next_uid={self.next_uid})"

    @classmethod
    def empty(cls, width: int, rows: int, depth: int = 1) -> CellState:
        n = width * depth * rows
        arrays: dict[str, np.ndarray] = {name: np.zeros(n, dtype) for name, dtype in CELL_FIELDS.items()}
        arrays["phase"][:] = EMPTY
        return cls(width, rows, 0, depth, **arrays)

    @property
    def plane(self) -> int:
        """Sites per row (layer): width x depth."""
        return self.width * self.depth

    @property
    def capacity(self) -> int:
        return self.plane * self.rows

    @property
    def shape(self) -> tuple[int, ...]:
        """The lattice as an array shape: (rows, width) on a row, (rows, depth, width) on a sheet."""
        return (self.rows, self.width) if self.depth == 1 else (self.rows, self.depth, self.width)

    @staticmethod
    def bytes_per_site() -> int:
        return sum(np.dtype(d).itemsize for d in CELL_FIELDS.values())

    def occupied(self) -> np.ndarray:
        return self.phase != EMPTY

    # cell_arrays(): every per-site array, in CELL_FIELDS order: the tuple the kernels take.
    # Built on each call, so an array replaced on the state is never missed.
    cell_arrays = _kernel_order

    def copy(self) -> CellState:
        arrays = {name: getattr(self, name).copy() for name in CELL_FIELDS}
        return CellState(self.width, self.rows, self.next_uid, self.depth, **arrays)

    def cells(self) -> dict[str, np.ndarray]:
        """Live cells only, as a dict of arrays (copies), with their site index, row and
        column (and, on a basal sheet, ``y``: the sheet row)."""
        sites = np.flatnonzero(self.occupied())
        result = {name: getattr(self, name)[sites] for name in MOVING_FIELDS if name != "pending"}
        result["site"] = sites
        result["row"] = sites // self.plane
        result["column"] = sites % self.width
        if self.depth > 1:
            result["y"] = (sites % self.plane) // self.width
        return result
