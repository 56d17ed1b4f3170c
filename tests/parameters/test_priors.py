"""Every cell, dosing and environment parameter has a documented prior inside its bounds.

The tables are checked against the pydantic models (every numeric field, every default
value inside its set's prior, every range a model accepts), the sources against
docs/science.md, the inverse CDF against its CDF, and a config's ``[priors]`` table
against each way it can be wrong.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from geroconvert.config import config_from_mapping
from geroconvert.errors import ConfigError
from geroconvert.parameters import paramsets
from geroconvert.parameters.models import CellParams, Dosing, Environment, UVExposure
from geroconvert.parameters.priors import (
    PRIOR_SECTIONS,
    Prior,
    default_priors,
    hard_bounds,
    prior_of,
    priors_for,
)
from tests.conftest import run_geroconvert
from tests.test_docs import science_keys, source_problems

MODELS = {"cells": CellParams, "dosing": Dosing, "environment": Environment, "uv": UVExposure}
NORMALISATIONS = ("cells.mtor_m0", "cells.gero_threshold_median", "cells.p21_threshold", "cells.p16_threshold")
CALIBRATED = ("cells.gero_rate_per_h", "cells.gero_threshold_sigma", "cells.w_gero")


def numeric_fields() -> list[str]:
    return [
        f"{section}.{name}"
        for section, model in MODELS.items()
        for name, info in model.model_fields.items()
        if info.annotation in (int, float)
    ]


def default_values(paramset: str) -> dict[str, float]:
    """Each parameter's value in a set: the set's cells, the model defaults of dosing and environment."""
    sections = {
        "cells": paramsets.cells(paramset),
        "dosing": Dosing(),
        "environment": Environment(),
        "uv": UVExposure(),
    }
    return {f"{s}.{k}": v for s, model in sections.items() for k, v in model.model_dump().items()}


def sampled(priors: dict[str, Prior]) -> dict[str, Prior]:
    return {path: prior for path, prior in priors.items() if prior.distribution != "fixed"}


# ---- the tables ------------------------------------------------------------------------------
@pytest.mark.parametrize("paramset", paramsets.NAMES)
def test_every_numeric_field_has_a_prior(paramset):
    priors = default_priors(paramset)
    fields = numeric_fields()
    assert len(fields) > 60, "too few fields found; did the models move?"
    assert sorted(priors) == sorted(fields)
    assert {path.partition(".")[0] for path in priors} == set(PRIOR_SECTIONS)
    for path, prior in priors.items():
        section, _, name = path.partition(".")
        assert prior.integer == (MODELS[section].model_fields[name].annotation is int), path


@pytest.mark.parametrize("paramset", paramsets.NAMES)
def test_every_prior_lies_inside_the_hard_bounds(paramset):
    for path, prior in sampled(default_priors(paramset)).items():
        assert prior.distribution in ("uniform", "loguniform"), path
        assert prior.low < prior.high, path
        assert prior.distribution == "uniform" or prior.low > 0, path
        low, low_inclusive, high, high_inclusive = hard_bounds(path)
        if low is not None:
            assert prior.low > low or (low_inclusive and prior.low == low), (path, prior, low)
        if high is not None:
            assert prior.high < high or (high_inclusive and prior.high == high), (path, prior, high)


@pytest.mark.parametrize("paramset", paramsets.NAMES)
def test_the_model_accepts_both_ends_of_every_prior(paramset):
    """Independent of hard_bounds: pydantic itself takes each end, one parameter at a time."""
    base = {"paramset": paramset, **paramsets.values(paramset)}
    for path, prior in sampled(default_priors(paramset)).items():
        section, _, name = path.partition(".")
        for value in prior.from_unit([0.0, 1.0]):
            value = int(value) if prior.integer else float(value)
            try:
                MODELS[section](**({**base, name: value} if section == "cells" else {name: value}))
            except ValidationError as error:
                pytest.fail(f"{path} = {value}: {error}")


@pytest.mark.parametrize("paramset", paramsets.NAMES)
def test_each_default_value_lies_inside_its_prior(paramset):
    values = default_values(paramset)
    outside = [
        f"{path} = {values[path]} outside {prior.describe()}"
        for path, prior in sampled(default_priors(paramset)).items()
        if not prior.low <= values[path] <= prior.high
    ]
    assert not outside, outside


@pytest.mark.parametrize("paramset", paramsets.NAMES)
def test_every_source_is_a_science_key_or_an_assumption(paramset):
    keys = science_keys()
    for path, prior in default_priors(paramset).items():
        assert not source_problems(prior.source, keys), (path, prior.source, source_problems(prior.source, keys))
        if prior.distribution == "fixed":
            assert prior.source.startswith(("setting:", "normalisation:")), (path, prior.source)
        else:
            assert prior.source.startswith("assumption:") or any(prior.source.startswith(key) for key in keys), (
                path,
                prior.source,
            )


def test_normalisations_are_fixed_and_the_calibrated_constants_are_wide():
    for paramset in paramsets.NAMES:
        priors = default_priors(paramset)
        for path in NORMALISATIONS:
            assert priors[path].distribution == "fixed" and priors[path].source.startswith("normalisation:"), path
        for path in CALIBRATED:
            prior = priors[path]
            assert "calibrat" in prior.source, path
            assert prior.high / prior.low >= 3 if prior.distribution == "loguniform" else prior.high - prior.low >= 0.4


def test_the_sets_differ_where_their_values_differ():
    ht, p16, skin = (default_priors(name) for name in ("ht_p21", "ht_p16", "human_epidermis"))
    assert p16["cells.p16_tau_h"] != ht["cells.p16_tau_h"]
    assert p16["cells.inducer_to_p16"].distribution != "fixed" and ht["cells.inducer_to_p16"].distribution == "fixed"
    for path in ("cells.cycle_h", "cells.p16_tau_h", "cells.gero_rate_per_h", "cells.clearance_beta_per_h"):
        assert skin[path] != ht[path], path
    assert skin["dosing.penetration_fraction"] == ht["dosing.penetration_fraction"]


# ---- Prior ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prior",
    [Prior("uniform", 18.0, 30.0, "assumption: x"), Prior("loguniform", 1e-4, 1e-2, "assumption: x")],
    ids=["uniform", "loguniform"],
)
def test_from_unit_and_to_unit_are_inverse(prior):
    u = np.linspace(0.0, 1.0, 101)
    x = prior.from_unit(u)
    assert x.dtype == np.float64
    assert np.all(np.diff(x) > 0)
    assert x[0] == prior.low and x[-1] == prior.high
    np.testing.assert_allclose(prior.to_unit(x), u, rtol=0, atol=1e-12)
    np.testing.assert_allclose(prior.from_unit(prior.to_unit(x)), x, rtol=1e-12)
    assert prior.to_unit([prior.low / 2, prior.high * 2]).tolist() == [0.0, 1.0]


def test_loguniform_median_is_the_geometric_mean_and_uniform_the_mean():
    assert float(Prior("loguniform", 0.1, 10.0, "a").from_unit(0.5)) == pytest.approx(1.0)
    assert float(Prior("loguniform", 1e-4, 1e-2, "a").from_unit(0.5)) == pytest.approx(1e-3)
    assert float(Prior("uniform", 18.0, 30.0, "a").from_unit(0.5)) == pytest.approx(24.0)
    # a quarter of the log-uniform mass lies below the first quarter of its decades
    draws = Prior("loguniform", 1.0, 1e4, "a").from_unit(np.random.default_rng(0).random(20_000))
    assert np.mean(draws < 10.0) == pytest.approx(0.25, abs=0.02)


def test_an_integer_prior_gives_every_whole_number_alike():
    prior = Prior("uniform", 3.0, 5.0, "a", integer=True)
    draws = prior.from_unit(np.random.default_rng(1).random(30_000))
    assert set(np.unique(draws)) == {3.0, 4.0, 5.0}
    assert np.allclose([np.mean(draws == k) for k in (3, 4, 5)], 1 / 3, atol=0.02)
    assert prior.from_unit([0.0, 1.0]).tolist() == [3.0, 5.0]
    assert prior.from_unit(prior.to_unit([3.0, 4.0, 5.0])).tolist() == [3.0, 4.0, 5.0]


def test_describe_and_bad_use():
    assert Prior("uniform", 18.0, 30.0, "a").describe() == "uniform 18-30"
    assert Prior("loguniform", 1e-4, 1e-2, "a").describe() == "log-uniform 1e-4-1e-2"
    assert Prior("fixed", None, None, "setting: x").describe() == "fixed"
    with pytest.raises(ValueError):
        Prior("fixed", None, None, "setting: x").from_unit(0.5)
    with pytest.raises(ValueError):
        Prior("uniform", 0.0, 1.0, "a").from_unit([0.5, 1.5])
    with pytest.raises(ValueError):
        Prior("normal", 0.0, 1.0, "a")
    with pytest.raises(ValueError):
        Prior("uniform", None, 1.0, "a")


def test_hard_bounds_read_the_field_metadata():
    assert hard_bounds("cells.cycle_h") == (0.0, False, None, False)
    assert hard_bounds("cells.w_gero") == (0.0, True, 1.0, True)
    assert hard_bounds("dosing.penetration_fraction") == (0.0, False, 1.0, True)
    assert hard_bounds("environment.mtor_gain") == (0.0, True, 20.0, True)
    with pytest.raises(ConfigError, match="cells.cycle_h"):
        hard_bounds("cells.cylce_h")


# ---- a config's [priors] -----------------------------------------------------------------------
def test_narrowing_keeps_the_distribution_and_replacing_changes_it():
    priors = priors_for(
        {
            "priors": {
                "cells.w_gero": {"low": 0.8, "high": 1.0},
                "cells.gero_rate_per_h": {"high": 0.02},
                "cells.cycle_h": {"distribution": "loguniform", "low": 20, "high": 25, "source": "assumption: y"},
                "cells.mtor_m0": {"distribution": "uniform", "low": 0.5, "high": 2.0},
                "cells.rapa_hill": {"distribution": "fixed"},
            }
        }
    )
    defaults = default_priors()
    assert priors["cells.w_gero"] == Prior("uniform", 0.8, 1.0, priors["cells.w_gero"].source)
    assert priors["cells.w_gero"].source.startswith("assumption:")
    rate = priors["cells.gero_rate_per_h"]
    assert (rate.distribution, rate.low, rate.high) == ("loguniform", defaults["cells.gero_rate_per_h"].low, 0.02)
    assert priors["cells.cycle_h"] == Prior("loguniform", 20.0, 25.0, "assumption: y")
    assert prior_of("cells.mtor_m0", priors).describe() == "uniform 0.5-2"
    assert priors["cells.rapa_hill"].distribution == "fixed"
    assert priors["cells.p21_tau_h"] == defaults["cells.p21_tau_h"]


def test_the_paramset_picks_the_table():
    skin = priors_for({"cells": {"paramset": "human_epidermis"}, "priors": {}})
    assert skin == default_priors("human_epidermis") != default_priors("ht_p21")
    narrowed = priors_for({"cells": {"paramset": "human_epidermis"}, "priors": {"cells.cycle_h": {"low": 150}}})
    assert narrowed["cells.cycle_h"].high == default_priors("human_epidermis")["cells.cycle_h"].high


def test_prior_of_says_how_to_give_a_prior():
    priors = default_priors()
    assert prior_of("cells.cycle_h", priors) is priors["cells.cycle_h"]
    for path in ("cells.mtor_m0", "environment.rapamycin_nM"):
        with pytest.raises(ConfigError) as caught:
            prior_of(path, priors)
        message = str(caught.value)
        assert message.startswith(f"{path}: has no prior") and "[priors]" in message and "\n" not in message
        assert f'"{path}" = {{ distribution = "uniform"' in message
    with pytest.raises(ConfigError, match="did you mean 'cells.cycle_h'"):
        prior_of("cells.cylce_h", priors)


BAD = [
    ("unknown-path", "cells.cylce_h", {"low": 1, "high": 2}, "did you mean 'cells.cycle_h'?"),
    ("bare-key", "cycle_h", {"low": 1, "high": 2}, "did you mean 'cells.cycle_h'?"),
    ("outside-sections", "simulation.width", {"low": 1, "high": 2}, "only cells, dosing, environment and uv"),
    ("not-a-table", "cells.cycle_h", 20, "must be a table"),
    ("unknown-key", "cells.cycle_h", {"low": 20, "hgih": 25}, "unknown key 'hgih'; did you mean 'high'?"),
    ("unknown-distribution", "cells.cycle_h", {"distribution": "normal"}, "use one of uniform, loguniform, fixed"),
    ("string-bound", "cells.cycle_h", {"low": "20"}, "low must be a number"),
    ("bool-bound", "cells.cycle_h", {"high": True}, "high must be a number"),
    ("infinite-bound", "cells.cycle_h", {"high": math.inf}, "high must be a finite number"),
    ("nan-bound", "cells.cycle_h", {"low": math.nan}, "low must be a finite number"),
    ("low-not-below-high", "cells.cycle_h", {"low": 25, "high": 25}, "low (25) must be below high (25)"),
    ("loguniform-at-zero", "cells.rest_mean_h", {"distribution": "loguniform"}, "log-uniform prior needs low > 0"),
    ("above-le", "cells.w_gero", {"low": 0.5, "high": 1.2}, "cells.w_gero must be <= 1; use high <= 1"),
    ("below-ge", "cells.w_grow", {"low": -0.1}, "cells.w_grow must be >= 0; use low >= 0"),
    ("at-gt", "cells.cycle_h", {"low": 0}, "cells.cycle_h must be > 0; use low > 0"),
    ("narrow-a-fixed", "cells.mtor_m0", {"low": 0.5, "high": 2}, "has no default prior to narrow"),
    ("fixed-default-no-range", "environment.rapamycin_nM", {"distribution": "uniform"}, "has no default low"),
    ("fixed-with-range", "cells.cycle_h", {"distribution": "fixed", "low": 20}, "a fixed prior takes no low"),
    ("string-field", "cells.paramset", {"low": 1, "high": 2}, "cells.paramset is not a number"),
    ("whole-number", "cells.progenitor_divisions_max", {"high": 4.5}, "must be a whole number"),
    ("bad-source", "cells.cycle_h", {"source": 3}, "source must be a non-empty string"),
]


@pytest.mark.parametrize(("path", "entry", "expected"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_bad_prior_is_one_line_naming_the_field(path, entry, expected):
    with pytest.raises(ConfigError) as caught:
        priors_for({"priors": {path: entry}})
    message = str(caught.value)
    assert message.startswith(f'priors."{path}": '), message
    assert expected in message and "\n" not in message, message


def test_a_loguniform_prior_at_a_gt_bound_and_a_uniform_one_just_above_it():
    with pytest.raises(ConfigError, match="log-uniform prior needs low > 0"):
        priors_for({"priors": {"dosing.penetration_fraction": {"low": 0.0}}})
    assert priors_for({"priors": {"cells.cycle_h": {"low": 1e-9}}})["cells.cycle_h"].low == 1e-9


def test_loading_refuses_a_bad_prior_and_keeps_a_good_one():
    with pytest.raises(ConfigError, match=r'^priors\."cells\.w_gero": high = 1\.2'):
        config_from_mapping({"priors": {"cells.w_gero": {"low": 0.5, "high": 1.2}}})
    # the human_epidermis table is the one checked: its cycle_h default range is not HT-p21's
    with pytest.raises(ConfigError, match="cells.cycle_h must be > 0"):
        config_from_mapping({"cells": {"paramset": "human_epidermis"}, "priors": {"cells.cycle_h": {"low": -1}}})
    config_from_mapping({"cells": {"paramset": "human_epidermis"}, "priors": {"cells.cycle_h": {"low": 150}}})


def test_check_refuses_a_bad_prior_with_exit_2_and_one_line(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[priors]\n"cells.w_gero" = { low = 0.5, high = 1.2 }\n', encoding="utf-8")
    done = run_geroconvert("check", config, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert 'priors."cells.w_gero"' in lines[0] and "use high <= 1" in lines[0], lines[0]

    config.write_text('[priors]\n"cells.w_gero" = { low = 0.5, high = 0.9 }\n', encoding="utf-8")
    done = run_geroconvert("check", config, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_posterior_draw_reaches_each_parameter_set_through_its_own_scaling():
    from geroconvert.parameters.calibrated import CALIBRATED
    from geroconvert.parameters.paramsets import calibrated_overrides, cells

    draw = {name: 1.2 * value for name, value in CALIBRATED.items()}
    assert calibrated_overrides("ht_p21", draw) == draw  # the line the constants were fitted to
    skin = calibrated_overrides("human_epidermis", draw)
    tissue = cells("human_epidermis")
    for name in CALIBRATED:  # the draw scales the set's value as it scales the calibrated one
        assert skin[name] == pytest.approx(1.2 * getattr(tissue, name), rel=1e-12)
    assert skin["gero_rate_per_h"] == pytest.approx(0.1 * draw["gero_rate_per_h"], rel=1e-3)
    with pytest.raises(ValueError, match="cycle_h is not a calibrated constant"):
        calibrated_overrides("ht_p21", {"cycle_h": 20.0})
