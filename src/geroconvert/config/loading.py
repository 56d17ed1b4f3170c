"""Loading a config: read TOML files, follow ``extends``, apply ``--set`` overrides, validate.

:func:`load_config` is the front door (see the package docstring for the file format and
the overlay rules); :func:`load_mapping` gives the raw merged mapping of a file and its
``extends`` chain, before defaults and validation.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geroconvert.config.limits import MAX_CONFIG_BYTES
from geroconvert.config.paths import digits_fix, merge, parse_override, set_path, too_many_digits
from geroconvert.config.sections import RAW_SECTIONS, RPP_GROUP, TOP_LEVEL_KEYS, check_keys, fields_of, suggest_path
from geroconvert.config.toml_writer import dumps_toml
from geroconvert.config.validation import build
from geroconvert.errors import ConfigError
from geroconvert.parameters.models import Params
from geroconvert.resources import resolve_config

MAX_EXTENDS_DEPTH = 32
NOT_FOUND = "not found"
SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


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
    """A TOML file as a dict; a missing, special, oversized or malformed file is a one-line ConfigError."""
    problem = file_problem(path)
    if problem == NOT_FOUND:
        raise ConfigError(f"{path}: config file not found")
    if problem:
        raise ConfigError(f"{path}: {problem}")
    try:
        text = _read_at_most(path, MAX_CONFIG_BYTES).decode("utf-8-sig")  # a BOM, as some editors save
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; a config is TOML text") from None
    return parse_toml(text, str(path))


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a config file, or None.

    Asked before the file is opened: opening a FIFO blocks until a writer comes, and a
    device such as /dev/zero never ends.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return NOT_FOUND
    except OSError as error:
        return f"cannot read ({error.strerror or error})"
    return _kind_problem(info.st_mode, info.st_size)


def _kind_problem(mode: int, size: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "is a directory, not a config file"
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in SPECIAL_KINDS if test(mode)), "a special file")
        return f"is {kind}, not a regular file; a config is a TOML file"
    if size > MAX_CONFIG_BYTES:
        return (
            f"is larger than the {MAX_CONFIG_BYTES:,} bytes a config file may have ({size:,} bytes); "
            "check that it is a config"
        )
    return None


def _read_at_most(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, refused past ``limit`` without reading more than ``limit + 1``."""
    try:
        # O_NONBLOCK: a FIFO put in the file's place since file_problem() must not block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            problem = _kind_problem(info.st_mode, info.st_size)
            data = b"" if problem else handle.read(limit + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror or error})") from None
    if not problem and len(data) > limit:  # it grew, or its size was not known (procfs reports 0)
        problem = _kind_problem(stat.S_IFREG, len(data))
    if problem:
        raise ConfigError(f"{path}: {problem}")
    return data


def parse_toml(text: str, where: str) -> dict:
    """TOML text as a dict; a syntax error or an over-long integer is a one-line ConfigError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: invalid TOML: {error}") from None
    except ValueError as error:
        if not too_many_digits(error):
            raise
        raise ConfigError(f"{where}: {_place_of_long_integer(text)}{digits_fix()}") from None


def _place_of_long_integer(text: str) -> str:
    """``"line 4, simulation.seed: "`` for the first integer past int()'s digit limit (tomllib does not say)."""
    limit = sys.get_int_max_str_digits()
    numbers = re.finditer(r"(?<![\w.])[0-9][0-9_]*(?![\w.])", text)  # integers, not the digits of a float
    match = next((m for m in numbers if len(m[0].replace("_", "")) > limit and not _in_string(text, m.start())), None)
    if match is None:
        return ""
    before = text[: match.start()].split("\n")
    key = table = None
    for line in reversed(before):
        line = line.strip()
        if key is None and (found := re.match(r"([\w\-.\"' ]+?)\s*=", line)):
            key = re.sub(r"[\"'\s]", "", found[1])
        if header := re.match(r"\[\[?([^\]]+)\]", line):
            table = re.sub(r"[\"'\s]", "", header[1])
            break
    field = ".".join(part for part in (table, key) if part)
    return f"line {len(before)}, {field}: " if field else f"line {len(before)}: "


def _in_string(text: str, pos: int) -> bool:
    """Whether ``pos`` is inside a one-line string (an odd number of quotes before it on its line)."""
    line = text[text.rfind("\n", 0, pos) + 1 : pos].replace('\\"', "")
    return line.count('"') % 2 == 1 or line.count("'") % 2 == 1


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
    problem = file_problem(parent_path)
    if problem == NOT_FOUND:
        raise ConfigError(f"{path}: extends: file {parent_name!r} not found (looked for {parent_path})")
    if problem:  # a directory, a FIFO, a device or a huge file is there: say which
        raise ConfigError(f"{path}: extends: {parent_name!r} {problem} (at {parent_path})")
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
