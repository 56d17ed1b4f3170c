"""CellState: the structure of arrays.  No biology here.

One slot per lattice site (index = row * width + column), so the capacity is the
lattice size and a neighbour is an index away.  A free site has ``phase == EMPTY``;
every other array is meaningless there.  Dtypes are chosen for memory: a site costs
``bytes_per_site`` bytes (float32 where 7 significant digits are enough).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from geroconvert.core.layout import EMPTY

# name -> dtype, in the order the kernels take them
CELL_FIELDS = {
    "uid": np.uint32,           # unique, never reused; 4.29e9 births per run (engine checks)
    "kind": np.uint8,           # STEM .. LINE
    "phase": np.uint8,          # EMPTY, CYCLING, ARRESTED, SENESCENT
    "divisions_left": np.int8,  # progenitors' remaining divisions
    "pending": np.uint8,        # action decided this step (kernels only)
    "mass": np.float32,         # newborn = 1
    "cycle": np.float32,        # <0: G0 rest still to go; 0..1: progress through the cycle
    "p21": np.float32,          # 0..1
    "p16": np.float32,          # 0..1
    "gero": np.float32,         # geroconversion progress
    "gero_threshold": np.float32,  # per cell, lognormal, drawn at birth
    "age_h": np.float32,        # hours since birth
    "arrest_h": np.float32,     # hours since the cycle stopped (arrest, or terminal differentiation)
    "clone": np.int32,          # lineage label
    "sasp": np.float32,         # SASP field at this site (a property of the site, not the cell)
}

# arrays that travel with a cell when it moves (everything but the site's field and scratch)
MOVING_FIELDS = tuple(name for name in CELL_FIELDS if name != "sasp")


@dataclass
class CellState:
    width: int
    rows: int
    uid: np.ndarray
    kind: np.ndarray
    phase: np.ndarray
    divisions_left: np.ndarray
    pending: np.ndarray
    mass: np.ndarray
    cycle: np.ndarray
    p21: np.ndarray
    p16: np.ndarray
    gero: np.ndarray
    gero_threshold: np.ndarray
    age_h: np.ndarray
    arrest_h: np.ndarray
    clone: np.ndarray
    sasp: np.ndarray
    next_uid: int = 0

    @classmethod
    def empty(cls, width: int, rows: int) -> "CellState":
        n = width * rows
        arrays = {name: np.zeros(n, dtype) for name, dtype in CELL_FIELDS.items()}
        arrays["phase"][:] = EMPTY
        return cls(width=width, rows=rows, **arrays)

    @property
    def capacity(self) -> int:
        return self.width * self.rows

    @staticmethod
    def bytes_per_site() -> int:
        return sum(np.dtype(d).itemsize for d in CELL_FIELDS.values())

    def occupied(self) -> np.ndarray:
        return self.phase != EMPTY

    def cell_arrays(self) -> tuple:
        """The per-site arrays in kernel order."""
        return tuple(getattr(self, name) for name in CELL_FIELDS)

    def copy(self) -> "CellState":
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in CELL_FIELDS:
            out[name] = out[name].copy()
        return CellState(**out)

    def cells(self) -> dict[str, np.ndarray]:
        """Live cells only, as a dict of arrays (copies), with their site index."""
        sites = np.flatnonzero(self.occupied())
        result = {name: getattr(self, name)[sites] for name in MOVING_FIELDS if name != "pending"}
        result["site"] = sites
        result["row"] = sites // self.width
        result["column"] = sites % self.width
        return result
