"""The design of a sensitivity study: a ``[sensitivity]`` section -> the points to run.

    [sensitivity]
    method = "morris"            # or "sobol" (Saltelli's scheme)
    parameters = ["cells.w_gero", "cells.gero_rate_per_h"]   # config paths, each with a prior
    outputs = ["t50_h", "slowdown"]  # with 0 and >= 3 doses in the contrast also "ec50_nM", "smax"
    samples = 20                 # Morris: trajectories; Sobol: N, a power of two
    levels = 4                   # Morris: grid levels (even)
    second_order = false         # Sobol: also the pairwise indices (N x (2D + 2) rows, not N x (D + 2))
    replicates = 2               # seeds per point, the same seeds at every point
    seed = 0                     # of the design and of the runs (replicate r: seed + r)
    [sensitivity.contrast]       # optional: every point runs in every arm (control first, then
    "environment.rapamycin_nM" = [0, 500]   # treated; NAME:ratio compares the last with the first)

A config with a ``[trial]`` section may instead ask for the split-hand trial's outputs
(``trial_difference``, ``trial_treated_change``, ... : :data:`TRIAL_OUTPUTS`).  Every point
then runs the whole trial, one run per subject: the replicates are the trial's subjects
(``trial.subjects``; subject s keeps seed ``trial.seed + s`` at every point, so the cohort
is the same everywhere) and the indices are of the cohort mean.  The trial is its own
contrast (treated and placebo hands), so such a study has no ``[sensitivity.contrast]``.

SALib draws the design in the unit cube; each parameter's prior
(:mod:`geroconvert.parameters.priors`) maps it to values.  The indices are computed in the
unit cube too, so Morris's mu* is the effect of moving a parameter across its whole prior.
The design is a pure function of the section and the priors: the study and its report
both make it from the archive's config, and the report checks it against the values the
runs stored.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from geroconvert.config import MODEL_SECTIONS, fields_of, suggest_path
from geroconvert.config.trial_section import TRIAL_OUTPUTS, TrialSpec
from geroconvert.errors import ConfigError
from geroconvert.parameters.priors import Prior, prior_of, priors_for

METHODS = ("morris", "sobol")
KEYS = ("method", "parameters", "outputs", "samples", "levels", "second_order", "replicates", "seed", "contrast")
MAX_DESIGN_POINTS = 50_000  # distinct points x arms; with replicates the sweep's own limit applies too
# Summary names a run writes (core.readouts.summarise); t50_h and rpp_final need RPP times,
# the stem count and thickness an epidermis.
RPP_OUTPUTS = ("t50_h", "rpp_final")
ANY_OUTPUTS = ("final_n_cells", "final_p16_positive_fraction", "final_senescent_fraction", "final_mean_mass")
EPIDERMIS_OUTPUTS = ("final_n_stem", "final_thickness_rows")
DERIVED = {"slowdown": "t50_h:ratio"}  # the rapamycin slowdown of the papers: t50(treated) / t50(control)
CONTRASTS = ("ratio", "difference")  # NAME:ratio = treated / control arm, NAME:difference = treated - control
# a dose response over the contrast's arms (control 0, then >= 3 doses), Hill-fitted per point
# and replicate: its EC50 and maximum slowdown
HILL_OUTPUTS = ("ec50_nM", "smax")
DEFAULT_PARAMETERS = {
    "dish": (
        "cells.cycle_h",
        "cells.division_mass",
        "cells.hypertrophy_rate_per_h",
        "cells.contact_inhibition_max",
        "cells.rapa_s6k_ic50_nM",
        "cells.rapa_4e_imax",
        "cells.w_gero",
        "cells.gero_rate_per_h",
        "cells.gero_threshold_sigma",
        "cells.p21_tau_h",
    ),
    "epidermis": (
        "environment.damage_increase_per_h_per_year",
        "cells.stem_mtor_factor",
        "cells.damage_p16_jump",
        "cells.p16_rise_arrested_per_h",
        "cells.clearance_beta_per_h",
        "cells.gero_rate_per_h",
        "cells.w_gero",
        "cells.cycle_h",
        "dosing.penetration_fraction",
    ),
}


@dataclass(frozen=True)
class Design:
    """The points of a study: ``unit`` (rows x parameters, in [0, 1]) and their ``values``."""

    method: str
    parameters: tuple[str, ...]
    priors: tuple[Prior, ...]
    outputs: tuple[str, ...]
    samples: int
    levels: int
    second_order: bool
    replicates: int
    seed: int
    contrast: tuple[str, tuple] | None  # (config path, (control value, treated value))
    unit: np.ndarray
    values: np.ndarray

    @property
    def problem(self) -> dict:
        """The SALib problem, in the unit cube."""
        names = list(self.parameters)
        return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}

    @property
    def arms(self) -> tuple:
        """The contrast's values, or one arm (None) without a contrast."""
        return self.contrast[1] if self.contrast else (None,)

    def point(self, row: int, arm) -> dict:
        """The config overrides of one design row in one arm (path -> value)."""
        overrides = {path: _plain(self.values[row, j], prior) for j, (path, prior) in enumerate(self.by_path())}
        if self.contrast:
            overrides[self.contrast[0]] = arm
        return overrides

    def by_path(self) -> list[tuple[str, Prior]]:
        return list(zip(self.parameters, self.priors))

    @property
    def trial(self) -> bool:
        """Whether the outputs are the split-hand trial's (each run is then one subject)."""
        return any(name in TRIAL_OUTPUTS for name in self.outputs)


def _plain(value: float, prior: Prior) -> float | int:
    return int(round(value)) if prior.integer else float(value)


def design_from_mapping(mapping: dict) -> Design:
    """The design of a config's ``[sensitivity]`` section (ConfigError naming the key on bad input)."""
    table = mapping.get("sensitivity")
    if table is None:
        raise ConfigError("sensitivity: no [sensitivity] section; add one (see configs/sensitivity_ht_p21.toml)")
    if not isinstance(table, dict):
        raise ConfigError("sensitivity: must be a table, written [sensitivity] (see configs/sensitivity_ht_p21.toml)")
    _check_keys(table)
    geometry = str(mapping.get("simulation", {}).get("geometry", "dish"))
    method = _method(table)
    parameters = _parameters(table, geometry)
    priors = priors_for(mapping)
    chosen = tuple(prior_of(path, priors) for path in parameters)
    contrast = _contrast(table, parameters)
    outputs = _outputs(table, mapping, geometry, contrast)
    samples, levels = _samples(table, method, len(parameters))
    second_order = _second_order(table, method)
    replicates = _trial_subjects(table, mapping, outputs, contrast) or _integer(table, "replicates", 1, 1, 1000)
    seed = _integer(table, "seed", int(mapping.get("simulation", {}).get("seed", 0)), 0, 2**32 - 1)
    rows = expected_rows(method, len(parameters), samples, second_order) * (2 if contrast else 1)
    if rows > MAX_DESIGN_POINTS:
        raise ConfigError(
            f"sensitivity.samples: {rows:,} points is more than {MAX_DESIGN_POINTS:,}; use fewer samples or parameters"
        )
    return build_design(method, parameters, chosen, outputs, samples, levels, second_order, replicates, seed, contrast)


def build_design(
    method: str,
    parameters: tuple[str, ...],
    priors: tuple[Prior, ...],
    outputs: tuple[str, ...],
    samples: int,
    levels: int = 4,
    second_order: bool = False,
    replicates: int = 1,
    seed: int = 0,
    contrast: tuple[str, tuple] | None = None,
) -> Design:
    """A design from checked settings: SALib's unit-cube sample, mapped through the priors."""
    unit = sample_unit(method, len(parameters), samples, levels, seed, second_order)
    values = np.column_stack([_values(method, prior, unit[:, j]) for j, prior in enumerate(priors)])
    return Design(
        method, parameters, priors, outputs, samples, levels, second_order, replicates, seed, contrast, unit, values
    )


def _values(method: str, prior: Prior, u: np.ndarray) -> np.ndarray:
    """The prior's values at ``u``.  Morris steps by whole levels: an integer parameter takes the
    level nearest to low + u (high - low), so every step moves it by the same amount (the
    prior's own inverse CDF gives each integer an equal share instead, for Sobol)."""
    if method == "morris" and prior.integer and prior.low is not None and prior.high is not None:
        return np.round(prior.low + u * (prior.high - prior.low))
    return prior.from_unit(u)


def expected_rows(method: str, n_parameters: int, samples: int, second_order: bool) -> int:
    """Rows of the design: (D + 1) per Morris trajectory; N (D + 2), or N (2D + 2), for Sobol."""
    if method == "morris":
        return samples * (n_parameters + 1)
    return samples * ((2 if second_order else 1) * n_parameters + 2)


DESIGN_LINE = "# sensitivity design:"


def design_line(design: Design) -> str:
    """A comment for the study's stored config that fixes its design: rows, a digest of the
    unit sample and the values, and the SALib that drew it.  ``--resume`` compares the
    config text, so a design that changed (other priors, another SALib) is refused there,
    and ``report`` refuses to match runs to a design other than theirs."""
    from importlib.metadata import version

    return f"{DESIGN_LINE} {len(design.unit)} rows, sha256 {design_digest(design)}, SALib {version('SALib')}"


def design_digest(design: Design) -> str:
    import hashlib

    digest = hashlib.sha256()
    digest.update("|".join([design.method, *design.parameters]).encode())
    digest.update(np.ascontiguousarray(design.unit, np.float64).tobytes())
    digest.update(np.ascontiguousarray(design.values, np.float64).tobytes())
    return digest.hexdigest()


def stored_design_line(config_toml: str) -> str | None:
    return next((line for line in config_toml.splitlines() if line.startswith(DESIGN_LINE)), None)


def sample_unit(
    method: str, n_parameters: int, samples: int, levels: int, seed: int, second_order: bool = False
) -> np.ndarray:
    """SALib's design in the unit cube: Morris trajectories, or Saltelli's N x (D + 2) rows
    (N x (2D + 2) with the second-order indices)."""
    problem = {
        "num_vars": n_parameters,
        "names": [f"x{j}" for j in range(n_parameters)],
        "bounds": [[0, 1]] * n_parameters,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sizes were checked above; SALib's own warnings add nothing
        if method == "morris":
            from SALib.sample import morris

            return np.asarray(morris.sample(problem, samples, num_levels=levels, seed=seed), np.float64)
        from SALib.sample import sobol

        return np.asarray(sobol.sample(problem, samples, calc_second_order=second_order, seed=seed), np.float64)


# ---- the section's keys -------------------------------------------------------------------
def _check_keys(table: dict) -> None:
    from difflib import get_close_matches

    for key in table:
        if key not in KEYS:
            close = get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(KEYS)}"
            raise ConfigError(f"sensitivity.{key}: unknown key{hint}")


def _method(table: dict) -> str:
    method = table.get("method", "morris")
    if method not in METHODS:
        raise ConfigError(f"sensitivity.method: must be one of {', '.join(map(repr, METHODS))} (got {method!r})")
    return method


def _parameters(table: dict, geometry: str) -> tuple[str, ...]:
    names = table.get("parameters", list(DEFAULT_PARAMETERS.get(geometry, DEFAULT_PARAMETERS["dish"])))
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError('sensitivity.parameters: give a list of config paths, e.g. ["cells.w_gero", "cells.cycle_h"]')
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"sensitivity.parameters: {twice!r} is listed twice; list each parameter once")
    if len(names) < 2:
        raise ConfigError("sensitivity.parameters: give at least two parameters (one has no ranking to tell)")
    return tuple(names)


def _contrast(table: dict, parameters: tuple[str, ...]) -> tuple[str, tuple] | None:
    contrast = table.get("contrast")
    if contrast is None:
        return None
    if not isinstance(contrast, dict) or len(contrast) != 1:
        raise ConfigError(
            'sensitivity.contrast: give one config path and its two arms, e.g. "environment.rapamycin_nM" = [0, 500]'
        )
    ((path, arms),) = contrast.items()
    where = f'sensitivity.contrast."{path}"'
    section, _, key = path.partition(".")
    if section not in MODEL_SECTIONS or key not in fields_of(section):
        raise ConfigError(f"{where}: not a config key{suggest_path(path)}")
    if path == "simulation.seed":
        raise ConfigError(f"{where}: the study sets the seeds (sensitivity.seed + replicate); contrast something else")
    if not isinstance(arms, list) or len(arms) < 2 or not all(_number(a) for a in arms) or len(set(arms)) != len(arms):
        raise ConfigError(
            f"{where}: give two or more different numbers, [control, treated] or [0, dose, ...], e.g. [0, 500]"
        )
    if path in parameters:
        raise ConfigError(f"{where}: is also a parameter; keep it in one of the two")
    return path, tuple(arms)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _outputs(table: dict, mapping: dict, geometry: str, contrast) -> tuple[str, ...]:
    has_rpp = bool(_rpp_times(mapping))
    known = [*ANY_OUTPUTS, *(RPP_OUTPUTS if has_rpp else ()), *(EPIDERMIS_OUTPUTS if geometry == "epidermis" else ())]
    if mapping.get("trial"):  # as `trial` and `check` read it: an empty [trial] is no trial
        known += TRIAL_OUTPUTS
    default = ["t50_h", "slowdown"] if has_rpp and contrast else (["t50_h"] if has_rpp else [known[1]])
    outputs = table.get("outputs", default)
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        raise ConfigError('sensitivity.outputs: give a list of summary names, e.g. ["t50_h", "slowdown"]')
    for name in outputs:
        _check_output(name, known, contrast, has_rpp)
    return tuple(outputs)


def _trial_subjects(table: dict, mapping: dict, outputs: tuple[str, ...], contrast) -> int:
    """A trial study's replicates: its subjects (0 when the outputs are not the trial's)."""
    trial = [name for name in outputs if name in TRIAL_OUTPUTS]
    if not trial:
        return 0
    other = [name for name in outputs if name not in TRIAL_OUTPUTS]
    if other:
        raise ConfigError(
            f"sensitivity.outputs: {trial[0]!r} is the trial's and {other[0]!r} a single run's; "
            "a trial study's runs are subjects, so study the two in separate configs"
        )
    if contrast is not None:
        raise ConfigError("sensitivity.contrast: the trial is its own contrast (treated and placebo hands); remove it")
    if "replicates" in table:
        raise ConfigError(
            "sensitivity.replicates: a trial study's replicates are the trial's subjects; set trial.subjects instead"
        )
    return TrialSpec.for_mapping(mapping).subjects  # the table, the geometry and the hands' configs checked


def _check_output(name: str, known: list[str], contrast, has_rpp: bool) -> None:
    if name in TRIAL_OUTPUTS:
        if name not in known:
            raise ConfigError(
                f"sensitivity.outputs: {name!r} is an output of the split-hand trial; add a [trial] section "
                "(see configs/split_hand_trial.toml)"
            )
        return
    if name in HILL_OUTPUTS:
        if not has_rpp:
            raise ConfigError(f"sensitivity.outputs: {name!r} needs RPP times (assays.rpp_every_h)")
        if contrast is None or contrast[1][0] != 0 or sum(a > 0 for a in contrast[1]) < 3:
            raise ConfigError(
                f"sensitivity.outputs: {name!r} fits a dose response; give [sensitivity.contrast] a dose path "
                'with 0 and at least 3 doses, e.g. "environment.rapamycin_nM" = [0, 1, 10, 100, 1000]'
            )
        return
    base, _, kind = DERIVED.get(name, name).partition(":")
    if base in TRIAL_OUTPUTS:
        raise ConfigError(
            f"sensitivity.outputs: {name!r}: the trial is its own contrast (treated and placebo hands); "
            f"ask for {base!r} itself"
        )
    if kind and kind not in CONTRASTS:
        raise ConfigError(f"sensitivity.outputs: {name!r}: after ':' write one of {', '.join(CONTRASTS)}")
    if kind and contrast is None:
        raise ConfigError(
            f"sensitivity.outputs: {name!r} compares two arms; add [sensitivity.contrast], "
            'e.g. "environment.rapamycin_nM" = [0, 500]'
        )
    if base not in known:
        from difflib import get_close_matches

        why = "; it needs RPP times (assays.rpp_every_h)" if base in RPP_OUTPUTS and not has_rpp else ""
        choices = [*known, *DERIVED] + [f"{k}:{c}" for k in known[:1] for c in CONTRASTS]
        close = get_close_matches(name, choices, n=1)
        hint = why or (f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(known)}")
        raise ConfigError(f"sensitivity.outputs: unknown output {name!r}{hint}")


def _rpp_times(mapping: dict) -> list:
    assays = mapping.get("assays", {})
    return list(assays.get("rpp_times_h", [])) or ([1] if "rpp_every_h" in assays else [])


def _samples(table: dict, method: str, n_parameters: int) -> tuple[int, int]:
    if method == "morris":
        samples = _integer(table, "samples", 10, 2, 10_000)
        levels = _integer(table, "levels", 4, 2, 100)
        if levels % 2:
            raise ConfigError(f"sensitivity.levels: must be even (got {levels}); Morris's design needs it, e.g. 4")
        return samples, levels
    samples = _integer(table, "samples", 256, 2, 65_536)
    if samples & (samples - 1):
        lower = 2 ** int(math.log2(samples))
        raise ConfigError(
            f"sensitivity.samples: Sobol's N must be a power of two (got {samples}); use {lower} or {2 * lower}"
        )
    if "levels" in table:
        raise ConfigError("sensitivity.levels: is a Morris setting; remove it for method = 'sobol'")
    return samples, 0


def _second_order(table: dict, method: str) -> bool:
    value = table.get("second_order", False)
    if not isinstance(value, bool):
        raise ConfigError(f"sensitivity.second_order: must be true or false (got {value!r})")
    if value and method != "sobol":
        raise ConfigError("sensitivity.second_order: is a Sobol setting; remove it for method = 'morris'")
    return value


def _integer(table: dict, key: str, default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"sensitivity.{key}: must be an integer from {low} to {high} (got {value!r})")
    return value
