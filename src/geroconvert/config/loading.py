"""Loading a config: read TOML files, follow ``extends``, apply ``--set`` overrides, validate.

:func:`load_config` is the front door (see the package docstring for the file format and
the overlay rules); :func:`load_mapping` gives the raw merged mapping of a file and its
``extends`` chain, before defaults and validation.
"""

from __future__ import annotations

import copy
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geroconvert.config.paths import merge, parse_override, set_path
from geroconvert.config.sections import RAW_SECTIONS, RPP_GROUP, TOP_LEVEL_KEYS, check_keys, fields_of, suggest_path
from geroconvert.config.toml_writer import dumps_toml
from geroconvert.config.validation import build
from geroconvert.errors import ConfigError
from geroconvert.parameters.models import Params
from geroconvert.resources import resolve_config

MAX_EXTENDS_DEPTH = 32


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
    files: tuple[Path, ...] = ()  # every config file read (resolved): the file, then its extends chain

    @property
    def overrides_json(self) -> str:
        return json.dumps(self.overrides, sort_keys=True, default=str)


def read_toml(path: Path) -> dict:
    """A TOML file as a dict; a missing, unreadable or malformed file is a one-line ConfigError."""
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


def load_mapping(path: str | Path, _chain: tuple[Path, ...] = (), files: list[Path] | None = None) -> dict:
    """The raw config of ``path`` with its ``extends`` chain merged in (no defaults, not validated).

    ``files``, when given, receives every file read (resolved), ``path`` first.
    """
    path = Path(path)
    resolved = path.resolve()
    if files is not None:
        files.append(resolved)
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
    parent_path = path.parent / parent_name
    if not parent_path.is_file():
        raise ConfigError(f"{path}: extends: file {parent_name!r} not found (looked for {parent_path})")
    parent = load_mapping(parent_path, (*_chain, resolved), files)
    if "schedule" in data:  # a child's schedule replaces the parent's
        parent.pop("schedule", None)
    if any(key in data.get("assays", {}) for key in RPP_GROUP):  # and so do its RPP times
        drop_rpp_times(parent)
    return merge(parent, data)


def drop_rpp_times(mapping: dict) -> None:
    """Remove the whole RPP time table (``rpp_times_h`` and its helper keys) from ``[assays]``."""
    assays = mapping.get("assays")
    if isinstance(assays, dict):
        for key in RPP_GROUP:
            assays.pop(key, None)


def load_config(path: str | Path | None = None, overrides=None, mapping: dict | None = None) -> LoadedConfig:
    """Load ``path`` (and its ``extends``), apply ``overrides``, validate everything.

    ``overrides`` is a list of ``"section.key=value"`` strings or a dict path -> value.
    Without ``path``, ``mapping`` (or an empty config: all defaults) is the base.
    """
    files: list[Path] = []
    if path is not None:
        path = resolve_config(path)
        base = load_mapping(path, files=files)
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
        drop_rpp_times(base)  # --set of RPP times replaces the file's RPP time table
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
    return LoadedConfig(
        params=params,
        sweep=copy.deepcopy(base.get("sweep")),
        resolved_toml="\n".join(header) + "\n\n" + dumps_toml(resolved),
        source_path=Path(path) if path is not None else None,
        overrides=dict(items),
        mapping=base,
        warnings=tuple(warnings),
        files=tuple(files),
    )
