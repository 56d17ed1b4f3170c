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

The parts, one module each (they import each other, never this package):
:mod:`~geroconvert.config.sections` (which sections and keys exist; suggestions for
mistyped ones), :mod:`~geroconvert.config.paths` (dotted paths and ``--set``),
:mod:`~geroconvert.config.loading` (files, ``extends``, :func:`load_config`),
:mod:`~geroconvert.config.validation` (mapping -> ``Params``, one-line errors),
:mod:`~geroconvert.config.limits` (the work a config may ask for),
:mod:`~geroconvert.config.toml_writer` and :mod:`~geroconvert.config.reference`
(the generated key reference).
"""

from geroconvert.config.limits import (
    MAX_CONFIG_BYTES,
    MAX_RECORDS,
    MAX_RPP_TIMES,
    MAX_SNAPSHOT_BYTES,
    MAX_STEPS,
    SNAPSHOT_BYTES_PER_SITE,
)
from geroconvert.config.loading import MAX_EXTENDS_DEPTH, LoadedConfig, load_config, load_mapping, read_toml
from geroconvert.config.paths import get_path, merge, parse_override, parse_value, set_path, with_values
from geroconvert.config.reference import reference_markdown
from geroconvert.config.sections import (
    MODEL_SECTIONS,
    RAW_SECTIONS,
    RPP_GROUP,
    RPP_HELPERS,
    SCHEDULE_KEYS,
    SECTIONS,
    TOP_LEVEL_KEYS,
    check_keys,
    fields_of,
    suggest,
    suggest_path,
    value_text,
)
from geroconvert.config.toml_writer import dumps_toml
from geroconvert.config.validation import build, config_from_mapping, from_validation_error, params_to_mapping
from geroconvert.errors import ConfigError

__all__ = [
    # loading
    "LoadedConfig",
    "load_config",
    "load_mapping",
    "read_toml",
    "ConfigError",
    # mapping -> Params and back
    "build",
    "config_from_mapping",
    "params_to_mapping",
    "from_validation_error",
    # paths and overrides
    "parse_value",
    "parse_override",
    "set_path",
    "with_values",
    "get_path",
    "merge",
    # sections and keys
    "MODEL_SECTIONS",
    "SECTIONS",
    "RAW_SECTIONS",
    "TOP_LEVEL_KEYS",
    "RPP_HELPERS",
    "RPP_GROUP",
    "SCHEDULE_KEYS",
    "fields_of",
    "check_keys",
    "suggest",
    "suggest_path",
    "value_text",
    # limits
    "MAX_CONFIG_BYTES",
    "MAX_RECORDS",
    "MAX_SNAPSHOT_BYTES",
    "MAX_RPP_TIMES",
    "MAX_EXTENDS_DEPTH",
    "MAX_STEPS",
    "SNAPSHOT_BYTES_PER_SITE",
    # writing TOML and the reference
    "dumps_toml",
    "reference_markdown",
]
