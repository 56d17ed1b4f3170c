"""A merged config mapping -> validated :class:`~geroconvert.parameters.models.Params`.

Every section is checked by its pydantic model (strictly: no strings for numbers), the
``[assays]`` RPP helper keys are expanded into ``rpp_times_h``, and the first pydantic
error becomes one :class:`~geroconvert.errors.ConfigError` line naming the field and the
fix (:func:`from_validation_error`).  :func:`params_to_mapping` goes back: every value of
a ``Params`` as a config mapping.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from geroconvert.config.limits import MAX_RPP_TIMES, work_limits
from geroconvert.config.sections import RAW_SECTIONS, check_keys, suggest, value_text
from geroconvert.errors import ConfigError
from geroconvert.parameters.models import (
    AssayParams,
    CellParams,
    Dosing,
    Environment,
    Params,
    ScheduleEvent,
    SimulationParams,
    UVExposure,
)
from geroconvert.parameters.priors import priors_for


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: must be a finite number (got {value}); write a number")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}[{i}]")


_BOUND_WORDS = {
    "greater_than_equal": (">=", "ge", "or more"),
    "greater_than": (">", "gt", "above"),
    "less_than_equal": ("<=", "le", "or less"),
    "less_than": ("<", "lt", "below"),
}


def _field_fix(section: str, name: str) -> str:
    if name.endswith("_nM"):
        return "dose"
    if name.endswith("_h"):
        return "time"
    return "value"


def from_validation_error(error: ValidationError, section: str, data: dict | None = None) -> ConfigError:
    """The first pydantic error as one line: ``section.key: must be ... (got ...); fix``."""
    first = error.errors(include_url=False)[0]
    loc = [str(part) for part in first.get("loc", ())]
    if section.startswith("schedule") and loc[:1] == ["set"]:
        loc = loc[1:]
    where = ".".join([section, *loc]) if loc else section
    if section == "params" and not loc:  # a check across sections names its own field first
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        return ConfigError(message)
    kind = first.get("type", "")
    got = first.get("input")
    got_text = f" (got {value_text(got)})" if loc else ""
    ctx = first.get("ctx") or {}
    name = loc[-1] if loc else section
    if kind in _BOUND_WORDS:
        symbol, key, words = _BOUND_WORDS[kind]
        bound = value_text(float(ctx[key]))
        what = _field_fix(section, name)
        return ConfigError(
            f"{where}: must be {symbol} {bound}{got_text}; set a {what} of {bound} {words}"
            if symbol in (">=", "<=")
            else f"{where}: must be {symbol} {bound}{got_text}; set a {what} {words} {bound}"
        )
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return ConfigError(f"{where}: must be a whole number{got_text}; write it without quotes or decimals")
    if kind in ("float_type", "float_parsing"):
        return ConfigError(f"{where}: must be a number{got_text}; write it without quotes, e.g. {name} = 1.5")
    if kind in ("string_type",):
        return ConfigError(f"{where}: must be a string{got_text}; write it in quotes")
    if kind in ("tuple_type", "list_type"):
        return ConfigError(f"{where}: must be an array of numbers{got_text}; write e.g. {name} = [0, 24, 48]")
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        hint = suggest(str(got), re.findall(r"'([^']*)'", expected)) if isinstance(got, str) else ""
        return ConfigError(f"{where}: must be {expected.replace(' or ', ' or ')}{got_text}{hint}")
    if kind == "missing":
        return ConfigError(f"{where}: is required; add {name} = ...")
    if kind == "finite_number":
        return ConfigError(f"{where}: must be a finite number{got_text}")
    message = str(first.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return ConfigError(f"{where}: {message}{got_text}")


def _validate(model: type[BaseModel], data: dict, section: str):
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as error:
        raise from_validation_error(error, section, data) from None


def _expand_rpp(assays: dict, hours: float) -> tuple[dict, list[str]]:
    """``rpp_every_h`` (+ ``rpp_until_h``, ``rpp_from_h``) -> ``rpp_times_h`` (merged with any listed)."""
    assays = dict(assays)
    warnings: list[str] = []
    every = assays.pop("rpp_every_h", None)
    until = assays.pop("rpp_until_h", None)
    start = assays.pop("rpp_from_h", None)
    times = assays.get("rpp_times_h", [])
    if not isinstance(times, (list, tuple)):
        raise ConfigError(
            f"assays.rpp_times_h: must be an array of numbers (got {value_text(times)}); "
            "write e.g. rpp_times_h = [0, 24, 48]"
        )
    for i, value in enumerate(times):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(
                f"assays.rpp_times_h[{i}]: must be a number (got {value_text(value)}); write it without quotes"
            )
        if value < 0:
            raise ConfigError(
                f"assays.rpp_times_h[{i}]: must be >= 0 (got {value_text(value)}); RPP times are hours after the start"
            )
    for name, value in (("rpp_every_h", every), ("rpp_until_h", until), ("rpp_from_h", start)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"assays.{name}: must be a number (got {value_text(value)}); write it without quotes")
    if every is None:
        if until is not None or start is not None:
            name = "rpp_until_h" if until is not None else "rpp_from_h"
            raise ConfigError(f"assays.{name}: needs assays.rpp_every_h (the interval between RPP assays)")
        return assays, warnings
    start = 0.0 if start is None else float(start)
    until = float(hours) if until is None else float(until)
    if every <= 0:
        raise ConfigError(f"assays.rpp_every_h: must be > 0 (got {value_text(every)}); set an interval above 0 h")
    if start < 0:
        raise ConfigError(f"assays.rpp_from_h: must be >= 0 (got {value_text(start)}); set a time of 0 or more")
    if until < start:
        raise ConfigError(f"assays.rpp_until_h: must be >= rpp_from_h ({value_text(start)}) (got {value_text(until)})")
    count = int(math.floor((until - start) / every + 1e-9)) + 1
    if count > MAX_RPP_TIMES:
        raise ConfigError(
            f"assays.rpp_every_h: gives {count} RPP assays (more than {MAX_RPP_TIMES}); "
            "raise rpp_every_h or lower rpp_until_h"
        )
    expanded = [round(start + i * every, 9) for i in range(count)]
    assays["rpp_times_h"] = sorted(set(float(t) for t in times) | set(expanded))
    return assays, warnings


def _cells(data: dict) -> CellParams:
    from geroconvert.parameters import paramsets

    data = dict(data)
    name = data.pop("paramset", "ht_p21")
    if not isinstance(name, str):
        raise ConfigError(
            f"cells.paramset: must be a string (got {value_text(name)}); "
            f"one of {', '.join(repr(n) for n in paramsets.NAMES)}"
        )
    if name not in paramsets.NAMES:
        raise ConfigError(f"cells.paramset: unknown parameter set {name!r}{suggest(name, paramsets.NAMES)}")
    # strict check first (rejects "1.5" strings and booleans), then the set's own constructor
    _validate(CellParams, {**paramsets.values(name), **data, "paramset": name}, "cells")
    try:
        return paramsets.cells(name, data)
    except ValidationError as error:
        raise from_validation_error(error, "cells") from None


def _schedule(entries: list) -> tuple[ScheduleEvent, ...]:
    events = []
    for i, entry in enumerate(entries):
        where = f"schedule[{i}]"
        entry = dict(entry)
        if "time_h" not in entry:
            raise ConfigError(f"{where}.time_h: is required; add time_h = <hours> to this [[schedule]] entry")
        time_h = entry.pop("time_h")
        changes = {}
        for key, value in entry.items():
            if isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            changes[key] = value
        _validate(Environment, changes, where)
        events.append(_validate(ScheduleEvent, {"time_h": time_h, "set": changes}, where))
    return tuple(events)


def build(mapping: dict) -> tuple[Params, dict, list[str]]:
    """Validate a merged mapping: (Params, the fully resolved mapping, warnings)."""
    check_keys(mapping)
    if "extends" in mapping:
        raise ConfigError("extends: only a config file may extend another; resolve it with load_config first")
    for section in ("simulation", "environment", "cells", "assays", "dosing", "uv"):
        for key, value in mapping.get(section, {}).items():
            _check_finite(value, f"{section}.{key}")
    for i, entry in enumerate(mapping.get("schedule", [])):
        for key, value in entry.items():
            _check_finite(value, f"schedule[{i}].{key}")
    sim = _validate(SimulationParams, mapping.get("simulation", {}), "simulation")
    environment = _validate(Environment, mapping.get("environment", {}), "environment")
    cells = _cells(mapping.get("cells", {}))
    schedule = _schedule(mapping.get("schedule", []))
    assays_data, warnings = _expand_rpp(mapping.get("assays", {}), sim.hours)
    if "rpp_times_h" in assays_data:
        assays_data["rpp_times_h"] = tuple(assays_data["rpp_times_h"])
    assays = _validate(AssayParams, assays_data, "assays")
    dosing = _validate(Dosing, mapping.get("dosing", {}), "dosing")
    uv = _validate(UVExposure, mapping.get("uv", {}), "uv")
    warnings += work_limits(sim, assays, schedule)
    try:
        params = Params(
            simulation=sim,
            environment=environment,
            cells=cells,
            schedule=schedule,
            assays=assays,
            dosing=dosing,
            uv=uv,
        )
    except ValidationError as error:  # the sections were validated one by one; this is how they combine
        raise from_validation_error(error, "params") from None
    if mapping.get("priors") is not None:
        priors_for(mapping)  # a bad prior is refused at load, not when a study first samples it
    resolved = params_to_mapping(params)
    for section in RAW_SECTIONS:
        if mapping.get(section) is not None:
            resolved[section] = copy.deepcopy(mapping[section])
    return params, resolved, warnings


def config_from_mapping(mapping: dict) -> Params:
    """Validated :class:`Params` from a merged config mapping (e.g. a sweep point); raises ConfigError."""
    return build(mapping)[0]


def params_to_mapping(params: Params) -> dict:
    """Every value of ``params`` as a config mapping (what ``resolved_toml`` holds)."""
    data = params.model_dump(mode="python")
    out = {
        "simulation": data["simulation"],
        "environment": data["environment"],
        "cells": data["cells"],
        "assays": {**data["assays"], "rpp_times_h": list(data["assays"]["rpp_times_h"])},
        "dosing": data["dosing"],
        "uv": data["uv"],
    }
    if data["schedule"]:
        out["schedule"] = [{"time_h": event["time_h"], **event["set"]} for event in data["schedule"]]
    return out
