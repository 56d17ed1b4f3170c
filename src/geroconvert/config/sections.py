"""What a config file may hold: its sections and their keys, checked against what was written.

An unknown section or key becomes one :class:`~geroconvert.errors.ConfigError` whose
message suggests the closest valid name; :func:`value_text` and :func:`type_name` word the
values such messages quote.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from geroconvert.errors import ConfigError
from geroconvert.parameters.models import (
    ENVIRONMENT_KEYS,
    AssayParams,
    CellParams,
    Dosing,
    Environment,
    SimulationParams,
    UVExposure,
)

MODEL_SECTIONS: dict[str, type[BaseModel]] = {
    "simulation": SimulationParams,
    "environment": Environment,
    "cells": CellParams,
    "assays": AssayParams,
    "dosing": Dosing,
    "uv": UVExposure,
}
SECTIONS = (
    "simulation",
    "environment",
    "schedule",
    "cells",
    "assays",
    "dosing",
    "uv",
    "sweep",
    "trial",
    "priors",
    "sensitivity",
)
# kept as written for their readers: sweep.py, trial.py, parameters/priors.py, sensitivity.py
RAW_SECTIONS = ("sweep", "trial", "priors", "sensitivity")
TOP_LEVEL_KEYS = ("extends", *SECTIONS)
# helper keys of [assays] that expand into rpp_times_h
RPP_HELPERS = ("rpp_every_h", "rpp_until_h", "rpp_from_h")
# The RPP time table is one setting: a child file (or a --set) that gives any of these
# replaces all of the parent's, instead of adding times to them.
RPP_GROUP = ("rpp_times_h", *RPP_HELPERS)
SCHEDULE_KEYS = ("time_h", *ENVIRONMENT_KEYS)


def fields_of(section: str) -> tuple[str, ...]:
    """The keys a section accepts."""
    if section == "schedule":
        return SCHEDULE_KEYS
    keys = tuple(MODEL_SECTIONS[section].model_fields)
    if section == "assays":
        keys += RPP_HELPERS
    return keys


def value_text(value: Any) -> str:
    """A value as an error message quotes it: whole floats without ``.0``, strings quoted, long ones cut."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def type_name(value: Any) -> str:
    """The kind of a value as an error message names it: ``"an integer"``, ``"a table"``, ..."""
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def suggest(word: str, choices) -> str:
    """``"; did you mean 'x'?"`` for the closest valid choice, or a list of the valid ones."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == word.lower() or word.lower() in c.lower()][:1]
    if close:
        return f"; did you mean {close[0]!r}?"
    if len(choices) <= 12:
        return "; valid: " + ", ".join(choices)
    return "; see `geroconvert reference` for the valid keys"


def suggest_path(text: str) -> str:
    """A suggestion for a mistyped ``section.key`` (or a bare key): ``"; did you mean 'simulation.width'?"``."""
    section, _, key = text.rpartition(".") if "." in text else ("", "", text)
    if section:
        close = difflib.get_close_matches(section, SECTIONS, n=1, cutoff=0.6)
        if close and close[0] in MODEL_SECTIONS:
            fields = fields_of(close[0])
            match = key if key in fields else next(iter(difflib.get_close_matches(key, fields, n=1)), None)
            if match:
                return f"; did you mean '{close[0]}.{match}'?"
        if close:
            return f"; did you mean {close[0]!r}?"
    owners = {f"{s}.{k}": k for s in MODEL_SECTIONS for k in fields_of(s)}
    close = difflib.get_close_matches(key, list(owners.values()), n=1, cutoff=0.6)
    if close:
        path = next(p for p, k in owners.items() if k == close[0])
        return f"; did you mean {path!r}?"
    return suggest(section or key, SECTIONS)


def check_keys(mapping: dict, where: str = "") -> None:
    """Unknown sections or keys are errors that suggest the closest valid name."""
    prefix = f"{where}: " if where else ""
    for key, value in mapping.items():
        if key not in TOP_LEVEL_KEYS:
            # a key such as `width` written before any [section] header
            owner = next((s for s in MODEL_SECTIONS if key in fields_of(s)), None)
            hint = f"; put it under [{owner}]" if owner else suggest(key, TOP_LEVEL_KEYS)
            raise ConfigError(f"{prefix}{key}: unknown section{hint}")
        if key == "extends":
            if not isinstance(value, str):
                raise ConfigError(f"{prefix}extends: must be a file name string (got {value_text(value)})")
            continue
        if key == "schedule":
            if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
                raise ConfigError(
                    f"{prefix}schedule: must be a list of tables, written [[schedule]] "
                    "with time_h = ... and environment keys"
                )
            for i, entry in enumerate(value):
                for name in entry:
                    if name not in SCHEDULE_KEYS:
                        raise ConfigError(f"{prefix}schedule[{i}].{name}: unknown key{suggest(name, SCHEDULE_KEYS)}")
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{prefix}{key}: must be a table, written [{key}] (got {type_name(value)})")
        if key in RAW_SECTIONS:
            continue  # kept untouched for the sweep and trial runners
        valid = fields_of(key)
        for name in value:
            if name not in valid:
                other = next((s for s in MODEL_SECTIONS if s != key and name in fields_of(s)), None)
                hint = f"; it belongs in [{other}]" if other else suggest(name, valid)
                raise ConfigError(f"{prefix}{key}.{name}: unknown key{hint}")
