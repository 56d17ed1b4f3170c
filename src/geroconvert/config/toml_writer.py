"""A small TOML writer: strings, numbers, booleans, dates, arrays, tables and arrays of tables.

Enough for configs (the standard library reads TOML but does not write it):
``tomllib.loads(dumps_toml(mapping)) == mapping`` for the simple types configs use.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    return out.replace("\x7f", "\\u007F")


def toml_value(value: Any) -> str:
    """One value as TOML text: a scalar, an array or an inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(item, dict) for item in value)


def _emit_table(lines: list[str], table: dict, prefix: tuple[str, ...]) -> None:
    for key, value in table.items():
        if not isinstance(value, dict) and not _is_table_array(value):
            lines.append(f"{_key(str(key))} = {toml_value(value)}")
    for key, value in table.items():
        path = (*prefix, str(key))
        name = ".".join(_key(part) for part in path)
        if isinstance(value, dict):
            lines.append("")
            lines.append(f"[{name}]")
            _emit_table(lines, value, path)
        elif _is_table_array(value):
            for item in value:
                lines.append("")
                lines.append(f"[[{name}]]")
                _emit_table(lines, item, path)


def dumps_toml(mapping: dict) -> str:
    """TOML text for a mapping of the simple types configs use; ``tomllib.loads`` reads it back equal."""
    lines: list[str] = []
    _emit_table(lines, mapping, ())
    return "\n".join(lines).lstrip("\n") + "\n"
