"""TOML config files -> validated :class:`~geroconvert.parameters.models.Params`.

The front door: everything a user writes is checked here, and every problem becomes
one :class:`ConfigError` whose message is one line naming the field and the fix.
Nothing downstream (engine, kernels) ever sees raw input.

A config file has these parts (all optional)::

    extends = "base.toml"        # load that file first (path relative to this file)

    [simulation]                 # SimulationParams: lattice, clock, recording
    [environment]                # Environment at t = 0
    [[schedule]]                 # one table per change: time_h = 72, then environment keys
    [cells]                      # paramset = "ht_p21", then any CellParams field as an override
    [assays]                     # AssayParams; rpp_every_h / rpp_until_h / rpp_from_h expand to rpp_times_h
    [sweep]                      # reserved for sweeps: kept untouched as a raw table

Overlay rules: ``extends`` loads the parent first; the child overlays it section by
section and key by key, except that a child's ``[[schedule]]`` list replaces the
parent's.  Overrides (``--set section.key=value``) come last; the value is read as a
TOML value and falls back to a plain string.

Two views of a loaded config are kept: ``mapping`` (what the user wrote, merged
over ``extends`` and ``--set``, before defaults: sweeps change paths in it and call
:func:`config_from_mapping`) and ``resolved_toml`` (every value the run used,
defaults and the parameter set included, as TOML text: loading it again gives the
same :class:`Params`).
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from geroconvert.errors import ConfigError
from geroconvert.resources import resolve_config
from geroconvert.parameters.models import ENVIRONMENT_KEYS, MAX_SITES, AssayParams, CellParams, Dosing, Environment, Params, ScheduleEvent, SimulationParams

MODEL_SECTIONS: dict[str, type[BaseModel]] = {
    "simulation": SimulationParams,
    "environment": Environment,
    "cells": CellParams,
    "assays": AssayParams,
    "dosing": Dosing,
}
SECTIONS = ("simulation", "environment", "schedule", "cells", "assays", "dosing", "sweep", "trial")
RAW_SECTIONS = ("sweep", "trial")  # kept as written for their runners (sweep.py, trial.py)
TOP_LEVEL_KEYS = ("extends", *SECTIONS)
# helper keys of [assays] that expand into rpp_times_h
RPP_HELPERS = ("rpp_every_h", "rpp_until_h", "rpp_from_h")
# The RPP time table is one setting: a child file (or a --set) that gives any of these
# replaces all of the parent's, instead of adding times to them.
RPP_GROUP = ("rpp_times_h", *RPP_HELPERS)
SCHEDULE_KEYS = ("time_h", *ENVIRONMENT_KEYS)

# Front-door limits on the work a config may ask for (the engine would try and fail late).
MAX_RECORDS = 2_000_000          # time-series rows (each row holds ~50 float64 series)
MAX_SNAPSHOT_BYTES = 4 * 2**30   # lattice snapshots kept in memory and written to the archive
MAX_RPP_TIMES = 10_000
MAX_EXTENDS_DEPTH = 32
MAX_STEPS = 20_000_000           # time steps of the run plus those of its RPP regrowth plates
SNAPSHOT_BYTES_PER_SITE = 1 + 1 + 4 * 4  # phase, kind (uint8) + mass, p16, gero, sasp (float32)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config: the parameters and everything needed to describe the run."""

    params: Params
    sweep: dict | None
    resolved_toml: str
    source_path: Path | None
    overrides: dict[str, Any] = field(default_factory=dict)
    mapping: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def overrides_json(self) -> str:
        return json.dumps(self.overrides, sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------
# small helpers


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


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


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


def fields_of(section: str) -> tuple[str, ...]:
    """The keys a section accepts."""
    if section == "schedule":
        return SCHEDULE_KEYS
    keys = tuple(MODEL_SECTIONS[section].model_fields)
    if section == "assays":
        keys += RPP_HELPERS
    return keys


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML value (``5``, ``1e-3``, ``true``, ``[0, 24]``, ``"x"``), else the string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_override(text: str) -> tuple[str, Any]:
    """``"section.key=value"`` -> (``"section.key"``, parsed value)."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ConfigError(f"--set {text!r}: expected section.key=value, e.g. --set environment.rapamycin_nM=500")
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[\w-]+)*", path):
        raise ConfigError(f"--set {text!r}: {path!r} is not a dotted path such as environment.rapamycin_nM")
    return path, parse_value(raw.strip())


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
            raise ConfigError(f"{where}: is {_type_name(node[part])}, not a table; cannot set {path}")
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[_list_index(node, last, path)] = value
    else:
        node[last] = value
    return mapping


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


# ---------------------------------------------------------------------------------------
# reading files


def read_toml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; a config is TOML text") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


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
                raise ConfigError(f"{prefix}extends: must be a file name string (got {_fmt(value)})")
            continue
        if key == "schedule":
            if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
                raise ConfigError(f"{prefix}schedule: must be a list of tables, written [[schedule]] "
                                  "with time_h = ... and environment keys")
            for i, entry in enumerate(value):
                for name in entry:
                    if name not in SCHEDULE_KEYS:
                        raise ConfigError(f"{prefix}schedule[{i}].{name}: unknown key{suggest(name, SCHEDULE_KEYS)}")
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{prefix}{key}: must be a table, written [{key}] (got {_type_name(value)})")
        if key in RAW_SECTIONS:
            continue  # kept untouched for the sweep and trial runners
        valid = fields_of(key)
        for name in value:
            if name not in valid:
                other = next((s for s in MODEL_SECTIONS if s != key and name in fields_of(s)), None)
                hint = f"; it belongs in [{other}]" if other else suggest(name, valid)
                raise ConfigError(f"{prefix}{key}.{name}: unknown key{hint}")


def load_mapping(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """The raw config of ``path`` with its ``extends`` chain merged in (no defaults, not validated)."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, resolved))
        raise ConfigError(f"{path}: extends: circular chain {cycle}; remove one of the extends")
    if len(_chain) >= MAX_EXTENDS_DEPTH:
        raise ConfigError(f"{path}: extends: chain deeper than {MAX_EXTENDS_DEPTH} files")
    data = read_toml(path)
    check_keys(data, str(path))
    parent_name = data.pop("extends", None)
    if parent_name is None:
        return data
    parent_path = (path.parent / parent_name)
    if not parent_path.is_file():
        raise ConfigError(f"{path}: extends: file {parent_name!r} not found (looked for {parent_path})")
    parent = load_mapping(parent_path, (*_chain, resolved))
    if "schedule" in data:  # a child's schedule replaces the parent's
        parent.pop("schedule", None)
    if any(key in data.get("assays", {}) for key in RPP_GROUP):  # and so do its RPP times
        _drop_rpp_times(parent)
    return merge(parent, data)


def _drop_rpp_times(mapping: dict) -> None:
    assays = mapping.get("assays")
    if isinstance(assays, dict):
        for key in RPP_GROUP:
            assays.pop(key, None)


# ---------------------------------------------------------------------------------------
# validation


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: must be a finite number (got {value}); write a number")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}[{i}]")


_BOUND_WORDS = {"greater_than_equal": (">=", "ge", "or more"), "greater_than": (">", "gt", "above"),
                "less_than_equal": ("<=", "le", "or less"), "less_than": ("<", "lt", "below")}


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
    kind = first.get("type", "")
    got = first.get("input")
    got_text = f" (got {_fmt(got)})" if loc else ""
    ctx = first.get("ctx") or {}
    name = loc[-1] if loc else section
    if kind in _BOUND_WORDS:
        symbol, key, words = _BOUND_WORDS[kind]
        bound = _fmt(float(ctx.get(key)))
        what = _field_fix(section, name)
        return ConfigError(f"{where}: must be {symbol} {bound}{got_text}; set a {what} of {bound} {words}"
                           if symbol in (">=", "<=") else
                           f"{where}: must be {symbol} {bound}{got_text}; set a {what} {words} {bound}")
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
        raise ConfigError(f"assays.rpp_times_h: must be an array of numbers (got {_fmt(times)}); "
                          "write e.g. rpp_times_h = [0, 24, 48]")
    for i, value in enumerate(times):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"assays.rpp_times_h[{i}]: must be a number (got {_fmt(value)}); write it without quotes")
        if value < 0:
            raise ConfigError(f"assays.rpp_times_h[{i}]: must be >= 0 (got {_fmt(value)}); "
                              "RPP times are hours after the start")
    for name, value in (("rpp_every_h", every), ("rpp_until_h", until), ("rpp_from_h", start)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"assays.{name}: must be a number (got {_fmt(value)}); write it without quotes")
    if every is None:
        if until is not None or start is not None:
            name = "rpp_until_h" if until is not None else "rpp_from_h"
            raise ConfigError(f"assays.{name}: needs assays.rpp_every_h (the interval between RPP assays)")
        return assays, warnings
    start = 0.0 if start is None else float(start)
    until = float(hours) if until is None else float(until)
    if every <= 0:
        raise ConfigError(f"assays.rpp_every_h: must be > 0 (got {_fmt(every)}); set an interval above 0 h")
    if start < 0:
        raise ConfigError(f"assays.rpp_from_h: must be >= 0 (got {_fmt(start)}); set a time of 0 or more")
    if until < start:
        raise ConfigError(f"assays.rpp_until_h: must be >= rpp_from_h ({_fmt(start)}) (got {_fmt(until)})")
    count = int(math.floor((until - start) / every + 1e-9)) + 1
    if count > MAX_RPP_TIMES:
        raise ConfigError(f"assays.rpp_every_h: gives {count} RPP assays (more than {MAX_RPP_TIMES}); "
                          "raise rpp_every_h or lower rpp_until_h")
    expanded = [round(start + i * every, 9) for i in range(count)]
    assays["rpp_times_h"] = sorted(set(float(t) for t in times) | set(expanded))
    return assays, warnings


def _cells(data: dict) -> CellParams:
    from geroconvert.parameters import paramsets

    data = dict(data)
    name = data.pop("paramset", "ht_p21")
    if not isinstance(name, str):
        raise ConfigError(f"cells.paramset: must be a string (got {_fmt(name)}); "
                          f"one of {', '.join(repr(n) for n in paramsets.NAMES)}")
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


def _work_limits(sim: SimulationParams, assays: AssayParams, schedule) -> list[str]:
    """Refuse configs that would exhaust memory or never finish; warn about times after the end of the run."""
    records = sim.hours / max(sim.record_every_h, sim.dt_h)
    if records > MAX_RECORDS:
        raise ConfigError(f"simulation.record_every_h: {records:.3g} time-series rows (hours / record_every_h) "
                          f"is more than {MAX_RECORDS:,}; raise record_every_h or shorten hours")
    if sim.snapshot_every_h > 0:
        count = int(sim.hours / max(sim.snapshot_every_h, sim.dt_h)) + 1
        sites = sim.width * (sim.height + sim.dermis_rows)
        size = count * sites * SNAPSHOT_BYTES_PER_SITE
        if size > MAX_SNAPSHOT_BYTES:
            raise ConfigError(f"simulation.snapshot_every_h: {count} snapshots of {sites:,} sites need "
                              f"{size / 2**30:.1f} GiB (limit {MAX_SNAPSHOT_BYTES / 2**30:.0f} GiB); "
                              "raise snapshot_every_h or set it to 0")
    steps = sim.hours / sim.dt_h
    if steps > MAX_STEPS:
        raise ConfigError(f"simulation.dt_h: {steps:.3g} time steps (hours / dt_h) is more than {MAX_STEPS:,}; "
                          "raise dt_h or shorten hours")
    assayed = [t for t in assays.rpp_times_h if t <= sim.hours + 1e-9]
    regrowth = len(assayed) * assays.replate_hours / sim.dt_h
    if steps + regrowth > MAX_STEPS:
        raise ConfigError(f"assays.replate_hours: {len(assayed)} RPP assays of {_fmt(assays.replate_hours)} h "
                          f"need {regrowth:.3g} time steps (more than {MAX_STEPS:,}); shorten replate_hours, "
                          "measure RPP less often or raise simulation.dt_h")
    if assayed:  # the replated cells sit one per tile on a square plate
        replated = min(assays.max_cells, sim.width * (sim.height + sim.dermis_rows))
        plate = (math.ceil(math.sqrt(replated)) * assays.tile_sites) ** 2
        if plate > MAX_SITES:
            raise ConfigError(f"assays.max_cells: replating up to {replated:,} cells {assays.tile_sites} sites apart "
                              f"needs a plate of {plate:,} sites (more than {MAX_SITES:,}); "
                              "lower max_cells or tile_sites")
    if len(assays.rpp_times_h) > MAX_RPP_TIMES:
        raise ConfigError(f"assays.rpp_times_h: {len(assays.rpp_times_h)} RPP assays is more than {MAX_RPP_TIMES}")
    warnings = []
    late = [t for t in assays.rpp_times_h if t > sim.hours + 1e-9]
    if late:
        warnings.append(f"assays.rpp_times_h: {len(late)} time(s) after the end of the run "
                        f"(simulation.hours = {_fmt(sim.hours)}) will not be measured")
    late_events = [e.time_h for e in schedule if e.time_h > sim.hours + 1e-9]
    if late_events:
        warnings.append(f"schedule: {len(late_events)} change(s) after the end of the run "
                        f"(simulation.hours = {_fmt(sim.hours)}) will not happen")
    return warnings


def build(mapping: dict) -> tuple[Params, dict, list[str]]:
    """Validate a merged mapping: (Params, the fully resolved mapping, warnings)."""
    check_keys(mapping)
    if "extends" in mapping:
        raise ConfigError("extends: only a config file may extend another; resolve it with load_config first")
    for section in ("simulation", "environment", "cells", "assays", "dosing"):
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
    warnings += _work_limits(sim, assays, schedule)
    try:
        params = Params(simulation=sim, environment=environment, cells=cells, schedule=schedule, assays=assays,
                        dosing=dosing)
    except ValidationError as error:  # pragma: no cover - the sections were validated one by one
        raise from_validation_error(error, "params") from None
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
    }
    if data["schedule"]:
        out["schedule"] = [{"time_h": event["time_h"], **event["set"]} for event in data["schedule"]]
    return out


def load_config(path: str | Path | None = None, overrides=None, mapping: dict | None = None) -> LoadedConfig:
    """Load ``path`` (and its ``extends``), apply ``overrides``, validate everything.

    ``overrides`` is a list of ``"section.key=value"`` strings or a dict path -> value.
    Without ``path``, ``mapping`` (or an empty config: all defaults) is the base.
    """
    if path is not None:
        path = resolve_config(path)
        base = load_mapping(path)
    else:
        base = copy.deepcopy(mapping or {})
        check_keys(base)
    if overrides is None:
        items: list[tuple[str, Any]] = []
    elif isinstance(overrides, dict):
        items = list(overrides.items())
    else:
        items = [parse_override(text) for text in overrides]
    if any(key in {f"assays.{name}" for name in RPP_GROUP} for key, _ in items):
        _drop_rpp_times(base)  # --set of RPP times replaces the file's RPP time table
    for key, value in items:
        section = key.split(".")[0]
        if section not in TOP_LEVEL_KEYS or section == "extends":
            raise ConfigError(f"--set {key}: unknown section {section!r}{suggest_path(key)}")
        if "." not in key and section not in RAW_SECTIONS:
            raise ConfigError(f"--set {key}: name a key inside the section, e.g. {section}.{fields_of(section)[0]}")
        set_path(base, key, value)
    params, resolved, warnings = build(base)
    header = ["# geroconvert resolved config: every value this run used"]
    if path is not None:
        header.append(f"# source: {path}")
    if items:
        header.append("# overrides: " + json.dumps(dict(items), default=str))
    return LoadedConfig(params=params, sweep=copy.deepcopy(base.get("sweep")),
                        resolved_toml="\n".join(header) + "\n\n" + dumps_toml(resolved),
                        source_path=Path(path) if path is not None else None, overrides=dict(items),
                        mapping=base, warnings=tuple(warnings))


# ---------------------------------------------------------------------------------------
# a small TOML writer (strings, numbers, booleans, dates, arrays, tables, arrays of tables)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    return out.replace("\x7f", "\\u007F")


def _scalar(value: Any) -> str:
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
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_scalar(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(item, dict) for item in value)


def _emit_table(lines: list[str], table: dict, prefix: tuple[str, ...]) -> None:
    for key, value in table.items():
        if not isinstance(value, dict) and not _is_table_array(value):
            lines.append(f"{_key(str(key))} = {_scalar(value)}")
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


# ---------------------------------------------------------------------------------------
# the config reference (README and `geroconvert reference`)


def reference_markdown() -> str:
    """Every section and key with its unit, default and source, from the parameter models."""
    from geroconvert.parameters import paramsets

    out = []
    intros = {
        "simulation": "Lattice, clock and recording (`SimulationParams`).",
        "environment": "The environment at t = 0 (`Environment`); `[[schedule]]` changes it later.",
        "cells": ("Cell biology (`CellParams`). `paramset` picks a named, cited set "
                  f"({', '.join(f'`{n}`' for n in paramsets.NAMES)}); any other key overrides one value of it. "
                  "Defaults shown are the HT-p21 line."),
        "assays": "The virtual colony-formation (RPP) assay (`AssayParams`).",
        "dosing": ("Rapamycin reaching skin (`Dosing`): topical cream on a schedule, decaying between "
                   "applications and with depth, plus systemic (blood) exposure; added to "
                   "`environment.rapamycin_nM`."),
    }
    for section in ("simulation", "environment", "cells", "assays", "dosing"):
        model = MODEL_SECTIONS[section]
        out += [f"### `[{section}]`", "", intros[section], "", "| key | unit | default | range | meaning, source |",
                "|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            description = info.description or ""
            unit, _, source = description.partition("] ")
            unit = unit.lstrip("[") if source else ""
            source = source or description
            bounds = []
            for meta in info.metadata:
                for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                    if getattr(meta, attr, None) is not None:
                        bound = getattr(meta, attr)
                        bounds.append(f"{symbol} {_fmt(bound) if isinstance(bound, float) else bound}")
            if typing.get_origin(info.annotation) is typing.Literal:
                bounds.append(" or ".join(f"`{_scalar(v)}`" for v in typing.get_args(info.annotation)))
            default = info.default
            default_text = "`[]`" if default == () else f"`{_scalar(default) if default is not None else ''}`"
            out.append(f"| `{name}` | {unit} | {default_text} | {', '.join(bounds)} | {source.replace('|', '/')} |")
        if section == "assays":
            out += ["| `rpp_every_h` | h | - | > 0 | helper: RPP every this many hours (expands into `rpp_times_h`) |",
                    "| `rpp_until_h` | h | `simulation.hours` | | helper: last RPP time |",
                    "| `rpp_from_h` | h | `0` | >= 0 | helper: first RPP time |"]
        out.append("")
    out += ["### `[[schedule]]`", "",
            "One table per change, applied when the clock reaches `time_h` (h, >= 0): any of "
            + ", ".join(f"`{k}`" for k in ENVIRONMENT_KEYS) + " (same units and bounds as `[environment]`).", "",
            "### `[trial]`", "", "Used by `geroconvert trial` (the split-hand trial; see `geroconvert.studies.trial`): "
            "`subjects`, `seed`, `age_min_years`, `age_max_years`, `damage_sd_log`, `visits_months`, "
            "`start_age_years`.", "",
            "### `[sweep]`", "", "Used by `geroconvert sweep` (ignored by `run`): `replicates` (runs per grid point, default 1), "
            "`seed` (replicate r uses seed + r at every grid point: common random numbers; default "
            "`simulation.seed`), `[sweep.grid]` (config path -> list of values; the axes are crossed) and "
            "`[sweep.zip]` (config path -> list; all lists one length, varied together as one axis). "
            "A list may be written `{ logspace = [first, last, count], zero = true }` or "
            "`{ linspace = [first, last, count] }`.", "",
            "### `extends`", "",
            "Top-level `extends = \"base.toml\"` (relative to this file) loads that config first; this file "
            "overlays it section by section, key by key; a `[[schedule]]` list replaces the parent's.", ""]
    return "\n".join(out)
