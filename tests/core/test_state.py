"""The cell arrays are declared once (core/state.py FIELDS); every list of them follows it."""

import inspect

import numpy as np
import pytest

from geroconvert.core import layout as L
from geroconvert.core import state as S
from geroconvert.core.kernels import cells, divisions, field, reduce, seeding
from geroconvert.core.state import CELL_FIELDS, FIELDS, MOVING_FIELDS, CellState


def test_the_lists_follow_the_declaration():
    assert list(CELL_FIELDS) == [f.name for f in FIELDS]
    assert all(CELL_FIELDS[f.name] is f.dtype for f in FIELDS)
    assert all(f.meaning for f in FIELDS), "every array says what it holds"
    assert tuple(f.name for f in FIELDS if f.moves) == MOVING_FIELDS
    for index, name in enumerate(CELL_FIELDS):
        assert getattr(S, "C_" + name.upper()) == index


def test_cell_arrays_are_the_state_arrays_in_kernel_order():
    state = CellState.empty(5, 4)
    arrays = state.cell_arrays()
    assert type(arrays) is tuple  # a plain tuple: see cell_arrays in core/state.py
    assert all(array is getattr(state, name) for name, array in zip(CELL_FIELDS, arrays, strict=True))
    state.sasp = np.ones(state.capacity, np.float32)  # an array replaced on the state is what kernels get
    assert state.cell_arrays()[S.C_SASP] is state.sasp


def test_state_arrays_and_copy():
    state = CellState.empty(5, 4)
    assert state.capacity == 20 and (state.phase == L.EMPTY).all()
    assert all(
        getattr(state, name).dtype == dtype and getattr(state, name).size == 20 for name, dtype in CELL_FIELDS.items()
    )
    assert CellState.bytes_per_site() == sum(np.dtype(d).itemsize for d in CELL_FIELDS.values())
    state.next_uid = 7
    twin = state.copy()
    twin.mass[0] = 3.0
    assert state.mass[0] == 0.0 and twin.next_uid == 7 and (twin.width, twin.rows) == (5, 4)


def test_state_refuses_unknown_or_missing_arrays():
    state = CellState.empty(2, 2)
    with pytest.raises(AttributeError):
        state.phse = state.phase  # a misspelt name must not become an array nobody reads
    arrays = {name: getattr(state, name) for name in CELL_FIELDS if name != "clone"}
    with pytest.raises(TypeError, match="clone"):
        CellState(2, 2, **arrays)


def test_shift_up_moves_every_moving_array_and_leaves_the_site_field():
    """divisions.shift_up copies every array FIELDS marks as moving (it lists them by hand)."""
    width, col = 3, 1
    state = CellState.empty(width, 5)
    for offset, name in enumerate(CELL_FIELDS):
        getattr(state, name)[:] = np.arange(state.capacity) % 7 + offset + 1  # distinct, nonzero values
    state.phase[3 * width + col] = L.EMPTY  # rows 0-2 of the column hold cells, row 3 is free
    before = state.copy()
    divisions.shift_up(col, 0, 3, width, state.cell_arrays())
    for name in MOVING_FIELDS:
        column, old = getattr(state, name)[col::width], getattr(before, name)[col::width]
        assert (column[1:4] == old[0:3]).all(), name
        assert column[4] == old[4], name
    assert state.phase[col] == L.EMPTY and state.pending[col] == L.NONE
    for name in CELL_FIELDS:
        other = np.arange(state.capacity) % width != col
        assert (getattr(state, name)[other] == getattr(before, name)[other]).all(), f"{name} moved in another column"
    for name in set(CELL_FIELDS) - set(MOVING_FIELDS):
        assert (getattr(state, name) == getattr(before, name)).all(), f"{name} belongs to the site"


def test_kernels_take_the_cell_arrays_as_one_tuple():
    """No kernel spells out the list of cell arrays: the ones that read many take ``arrays``;
    small helpers may take the two or three they read.  update_one is the exception: it runs
    per cell, so update_cells takes each array out of the tuple once and passes them by keyword."""
    spelt_out = {}
    for module in (cells, divisions, field, reduce, seeding):
        for name, kernel in vars(module).items():
            function = getattr(kernel, "py_func", None)
            if function is None or function.__module__ != module.__name__ or kernel is cells.update_one:
                continue
            taken = [p for p in inspect.signature(function).parameters if p in CELL_FIELDS]
            if len(taken) > 3:
                spelt_out[f"{module.__name__}.{name}"] = taken
    assert not spelt_out
    entries = (
        cells.update_cells,
        divisions.apply_pending,
        divisions.push_column,
        divisions.shift_up,
        seeding.seed_dish,
        seeding.seed_epidermis,
        reduce.tally,
        reduce.in_cycle_by_kind,
    )
    assert all("arrays" in inspect.signature(kernel.py_func).parameters for kernel in entries)
