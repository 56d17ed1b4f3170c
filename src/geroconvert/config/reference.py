"""The config reference (README and ``geroconvert reference``), generated from the parameter models.

One Markdown table per model section (key, unit, default, range, meaning and source,
read from each pydantic field's description and constraints; for ``[cells]``,
``[dosing]``, ``[environment]`` and ``[uv]`` also the HT-p21 prior of each field, from
:mod:`geroconvert.parameters.priors`), then the sections that have no model:
``[[schedule]]``, ``[trial]``, ``[sweep]``, ``[priors]`` and ``extends``.
"""

from __future__ import annotations

import typing

from geroconvert.config.sections import MODEL_SECTIONS, value_text
from geroconvert.config.toml_writer import toml_value
from geroconvert.parameters.models import ENVIRONMENT_KEYS
from geroconvert.parameters.priors import PRIOR_SECTIONS, default_priors

TABLE_HEADER = ["| key | unit | default | range | meaning, source |", "|---|---|---|---|---|"]
PRIOR_TABLE_HEADER = ["| key | unit | default | range | prior | meaning, source |", "|---|---|---|---|---|---|"]
RPP_HELPER_ROWS = [
    "| `rpp_every_h` | h | - | > 0 | helper: RPP every this many hours (expands into `rpp_times_h`) |",
    "| `rpp_until_h` | h | `simulation.hours` | | helper: last RPP time |",
    "| `rpp_from_h` | h | `0` | >= 0 | helper: first RPP time |",
]


def reference_markdown() -> str:
    """Every section and key with its unit, default and source, from the parameter models."""
    out = []
    intros = _intros()
    priors = default_priors("ht_p21")
    for section in ("simulation", "environment", "cells", "assays", "dosing", "uv"):
        model = MODEL_SECTIONS[section]
        with_priors = section in PRIOR_SECTIONS
        out += [f"### `[{section}]`", "", intros[section], "", *(PRIOR_TABLE_HEADER if with_priors else TABLE_HEADER)]
        for name, info in model.model_fields.items():
            prior = priors.get(f"{section}.{name}")
            # a string field (cells.paramset) has no prior: an empty cell keeps the columns
            out.append(_field_row(name, info, (prior.describe() if prior else "") if with_priors else None))
        if section == "assays":
            out += RPP_HELPER_ROWS
        out.append("")
    return "\n".join(out + _sections_without_model())


def _intros() -> dict[str, str]:
    from geroconvert.parameters import paramsets

    return {
        "simulation": "Lattice, clock and recording (`SimulationParams`).",
        "environment": "The environment at t = 0 (`Environment`); `[[schedule]]` changes it later.",
        "cells": (
            "Cell biology (`CellParams`). `paramset` picks a named, cited set "
            f"({', '.join(f'`{n}`' for n in paramsets.NAMES)}); any other key overrides one value of it. "
            "Defaults shown are the HT-p21 line."
        ),
        "assays": "The virtual colony-formation (RPP) assay (`AssayParams`).",
        "dosing": (
            "Rapamycin reaching skin (`Dosing`): topical cream on a schedule, decaying between "
            "applications and with depth, plus systemic (blood) exposure; added to "
            "`environment.rapamycin_nM`."
        ),
        "uv": (
            "Solar UV on the skin (`UVExposure`, epidermis only): a daily erythemal dose over a "
            "daily window, falling with depth as UVB and UVA do, adding DNA-damage events to the "
            "age-related ones of `[environment]`; 0 SED a day = protected skin."
        ),
    }


def _field_row(name: str, info, prior: str | None = None) -> str:
    """One table row: the field's description is ``"[unit] meaning, source"``; ``prior`` adds that column."""
    description = info.description or ""
    unit, _, source = description.partition("] ")
    unit = unit.lstrip("[") if source else ""
    source = source or description
    bounds = []
    for meta in info.metadata:
        for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(meta, attr, None) is not None:
                bound = getattr(meta, attr)
                bounds.append(f"{symbol} {value_text(bound) if isinstance(bound, float) else bound}")
    if typing.get_origin(info.annotation) is typing.Literal:
        bounds.append(" or ".join(f"`{toml_value(v)}`" for v in typing.get_args(info.annotation)))
    default = info.default
    default_text = "`[]`" if default == () else f"`{toml_value(default) if default is not None else ''}`"
    prior_cell = "" if prior is None else f" {prior} |"
    return f"| `{name}` | {unit} | {default_text} | {', '.join(bounds)} |{prior_cell} {source.replace('|', '/')} |"


def _sections_without_model() -> list[str]:
    return [
        "### `[[schedule]]`",
        "",
        "One table per change, applied when the clock reaches `time_h` (h, >= 0): any of "
        + ", ".join(f"`{k}`" for k in ENVIRONMENT_KEYS)
        + " (same units and bounds as `[environment]`).",
        "",
        "### `[trial]`",
        "",
        "Used by `geroconvert trial` (the split-hand trial; see `geroconvert.studies.trial`): "
        "`subjects`, `seed`, `age_min_years`, `age_max_years`, `damage_sd_log`, `visits_months`, "
        "`start_age_years`.",
        "",
        "### `[sweep]`",
        "",
        "Used by `geroconvert sweep` (ignored by `run`): `replicates` (runs per grid point, default 1), "
        "`seed` (replicate r uses seed + r at every grid point: common random numbers; default "
        "`simulation.seed`), `[sweep.grid]` (config path -> list of values; the axes are crossed) and "
        "`[sweep.zip]` (config path -> list; all lists one length, varied together as one axis). "
        "A list may be written `{ logspace = [first, last, count], zero = true }` or "
        "`{ linspace = [first, last, count] }`. `[sweep.posterior]` (config path -> list, one entry per "
        "posterior draw, crossed with the other axes) is written by `sweep --posterior FILE --draws K`.",
        "",
        "### `[priors]`",
        "",
        "The plausible range of a parameter, for sensitivity studies: a config path -> an inline table "
        'with `distribution` (`"uniform"`, `"loguniform"` or `"fixed"`), `low`, `high` and `source` '
        '(a key of docs/science.md, or `"assumption: why this range"`). Every cells, dosing, '
        "environment and uv parameter has a default prior (the prior column above; settings and "
        'normalisations are "fixed"). An entry with only `low`/`high` narrows the default and keeps '
        'its distribution, e.g. `"cells.w_gero" = { low = 0.5, high = 0.8 }`; one with a '
        "`distribution` replaces it. A range outside the field's bounds is refused at load. "
        "The column shows the HT-p21 priors; `cells.paramset` picks the table, and `ht_p16` and "
        "`human_epidermis` have their own where their values differ "
        '(`geroconvert.parameters.priors.default_priors("human_epidermis")`). How the ranges were '
        "chosen is in the Priors section of docs/science.md.",
        "",
        "### `[sensitivity]`",
        "",
        "Used by `geroconvert sensitivity` (ignored by `run`): `method` (`morris` or `sobol`), "
        "`parameters` (config paths, each with a prior; default: a set per geometry), `outputs` "
        "(summary names, `NAME:ratio`, `NAME:difference`, `slowdown`, `ec50_nM`, `smax`), "
        "`samples` (Morris trajectories, "
        "default 10; Sobol N, a power of two, default 256), `levels` (Morris, even, default 4), "
        "`second_order` (Sobol pairs, default false), `replicates` (default 1), `seed` (default "
        "`simulation.seed`) and `[sensitivity.contrast]` (one config path = [control, treated, ...]; "
        "0 and at least 3 doses make a dose response for `ec50_nM` and `smax`). With a `[trial]` "
        "section the outputs may instead be the split-hand trial's (`trial_difference`, "
        "`trial_treated_change`, `trial_placebo_change`, `trial_baseline`, each also `_epidermis` "
        "and `_dermis`): every point runs the cohort, its subjects are the replicates, and "
        "`replicates` and the contrast are refused.",
        "",
        "### `extends`",
        "",
        'Top-level `extends = "base.toml"` (relative to this file) loads that config first; this file '
        "overlays it section by section, key by key; a `[[schedule]]` list replaces the parent's.",
        "",
    ]
