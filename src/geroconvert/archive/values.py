"""What an archive's values may be: HDF5 attribute values checked and converted to Python.

Each conversion (:func:`number`, :func:`count`, :func:`flag`, :func:`text`,
:func:`json_object`, :func:`json_names`) returns the plain value or raises :class:`Wrong`
saying what the value is and what was expected; :func:`attr` turns that into the one-line
:class:`~geroconvert.errors.ArchiveError` that names the attribute.  The schema checks of
:mod:`geroconvert.archive.validate` are built on these.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from geroconvert.archive.schema import READ_ERRORS, plain
from geroconvert.errors import ArchiveError

FIX = "the archive was not written by geroconvert or was edited"
REQUIRED = object()


class Wrong(Exception):
    """A value that does not fit; the message says what it is and what was expected."""


def bad(path, where: str, what: str) -> ArchiveError:
    return ArchiveError(f"{path}: {where} {what}; {FIX}")


def first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def _what(value: Any) -> str:
    if isinstance(value, (str, bytes)):
        return "a string"
    if isinstance(value, (bool, np.bool_)):
        return "a boolean"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, np.void):
        return "a compound value"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    if type(value).__name__ == "Empty":  # h5py.Empty: an attribute without a value
        return "empty"
    return f"of type {type(value).__name__}"  # object references, ...


def number(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Wrong(f"is {_what(value)}, expected a number")
    return float(value)


def count(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise Wrong(f"is {_what(value)}, expected a whole number >= 0")
    return int(value)


def flag(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise Wrong(f"is {_what(value)}, expected 0 or 1")


def text(value: Any) -> str:
    try:
        if isinstance(value, bytes):
            return value.decode("utf-8")
        if isinstance(value, str):
            value.encode("utf-8")  # h5py keeps bytes that are not UTF-8 as surrogates
            return str(value)
    except UnicodeError:
        raise Wrong("is not UTF-8 text") from None
    raise Wrong(f"is {_what(value)}, expected text")


def _json(value: Any) -> Any:
    try:
        return json.loads(text(value))
    except json.JSONDecodeError:
        raise Wrong("is not JSON text") from None


def json_object(value: Any) -> dict:
    loaded = _json(value)
    if not isinstance(loaded, dict):
        raise Wrong(f"is the JSON {type(loaded).__name__} {json.dumps(loaded)[:40]}, expected a JSON object")
    return loaded


def json_names(value: Any) -> list[str]:
    loaded = _json(value)
    if not isinstance(loaded, list) or not all(isinstance(name, str) for name in loaded):
        raise Wrong(f"is the JSON {json.dumps(loaded)[:40]}, expected a JSON list of names")
    return loaded


EXPECTED: dict[Callable, str] = {
    number: "a number",
    count: "a whole number",
    flag: "0 or 1",
    text: "text",
    json_object: "a JSON object",
    json_names: "a JSON list of names",
}


def _attr_label(obj, name: str) -> str:
    return f"root attribute {name}" if obj.name == "/" else f"{obj.name} attribute {name}"


def attr(obj, name: str, path, convert: Callable, default: Any = REQUIRED) -> Any:
    """``obj.attrs[name]`` as ``convert`` makes it, or an ArchiveError naming the attribute."""
    if name not in obj.attrs:
        if default is REQUIRED:
            raise bad(path, obj.name, f"has no attribute {name} ({EXPECTED[convert]})")
        return default
    try:
        value = obj.attrs[name]
    except READ_ERRORS as error:
        raise bad(path, _attr_label(obj, name), f"cannot be read ({first_line(error)})") from None
    try:
        return convert(value)
    except Wrong as wrong:
        raise bad(path, _attr_label(obj, name), str(wrong)) from None


def other_attrs(obj, known) -> dict:
    """The attributes this version does not know, passed through as read (those that read at all)."""
    out = {}
    for name in obj.attrs:
        if name not in known:
            try:
                out[name] = plain(obj.attrs[name])
            except READ_ERRORS:
                continue
    return out
