"""Dotted config paths (``section.key``) and ``--set`` overrides: parse, read, write, overlay.

``set_path(mapping, "schedule.0.time_h", 72)`` and ``get_path`` walk a raw config
mapping (a numeric part indexes a list); :func:`parse_override` reads
``section.key=value``; :func:`merge` overlays one mapping on another (``extends``).
"""

from __future__ import annotations

import copy
import re
import sys
import tomllib
from typing import Any

from geroconvert.config.sections import type_name
from geroconvert.errors import ConfigError


def too_many_digits(error: ValueError) -> bool:
    """Whether ``error`` is int() refusing a decimal integer longer than ``sys.get_int_max_str_digits()``.

    tomllib lets that ValueError out (it guards against quadratic-time conversion).
    """
    return "integer string conversion" in str(error)


def digits_fix() -> str:
    return f"an integer of more than {sys.get_int_max_str_digits()} digits; write a smaller number"


def parse_value(text: str, where: str = "--set") -> Any:
    """A ``--set`` value: a TOML value (``5``, ``1e-3``, ``true``, ``[0, 24]``, ``"x"``), else the string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except ValueError as error:
        if not too_many_digits(error):
            raise
        raise ConfigError(f"{where}: {digits_fix()}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """``"section.key=value"`` -> (``"section.key"``, parsed value)."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ConfigError(f"--set {text!r}: expected section.key=value, e.g. --set environment.rapamycin_nM=500")
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[\w-]+)*", path):
        raise ConfigError(f"--set {text!r}: {path!r} is not a dotted path such as environment.rapamycin_nM")
    return path, parse_value(raw.strip(), f"--set {path}")


def set_path(mapping: dict, path: str, value: Any) -> dict:
    """Set ``mapping["a"]["b"] = value`` for ``path = "a.b"`` (in place; returns ``mapping``).

    Missing tables are created.  A numeric part indexes a list, so
    ``"schedule.0.time_h"`` changes the first schedule entry.
    """
    parts = path.split(".")
    node: Any = mapping
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            node = node[_list_index(node, part, where)]
            continue
        if part not in node:
            node[part] = {}
        elif not isinstance(node[part], (dict, list)):
            raise ConfigError(f"{where}: is {type_name(node[part])}, not a table; cannot set {path}")
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[_list_index(node, last, path)] = value
    else:
        node[last] = value
    return mapping


def with_values(mapping: dict, values: dict) -> dict:
    """A deep copy of ``mapping`` with each ``path -> value`` of ``values`` set (a sweep or
    study point): the caller's mapping and values are left as they were."""
    out = copy.deepcopy(mapping)
    for path, value in values.items():
        set_path(out, path, copy.deepcopy(value))
    return out


def _list_index(node: list, part: str, where: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"{where}: no such entry; this list has {len(node)} entries (indices 0 to {len(node) - 1})")
    return int(part)


def get_path(mapping: dict, path: str, default: Any = None) -> Any:
    node: Any = mapping
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return default
    return node


def merge(parent: dict, child: dict) -> dict:
    """Overlay ``child`` on ``parent``: tables key by key (recursively), everything else replaced."""
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
