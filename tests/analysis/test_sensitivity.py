"""The sensitivity estimators on functions whose indices are known, through the model's code path.

``build_design`` and ``analyse`` are what ``geroconvert sensitivity`` and ``report`` use; here
the model is replaced by the Ishigami function (Sobol indices known in closed form) and by
a linear function (Morris effects known exactly), with and without replicate noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geroconvert.analysis.sensitivity import analyse, noise_fraction
from geroconvert.analysis.sensitivity_design import build_design, expected_rows
from geroconvert.parameters.priors import Prior

pytestmark = pytest.mark.unit

A, B = 7.0, 0.1  # the usual Ishigami constants


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """Closed-form first-order and total indices of the Ishigami function on U(-pi, pi)^3."""
    pi = math.pi
    v1 = 0.5 * (1 + B * pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * pi**8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / total, np.array([v1 + v13, v2, v13]) / total


def uniform(low: float, high: float) -> Prior:
    return Prior("uniform", low, high, "setting: test function")


def test_sobol_recovers_the_ishigami_indices_within_their_intervals():
    priors = (uniform(-math.pi, math.pi),) * 3
    design = build_design("sobol", ("x1", "x2", "x3"), priors, ("y",), samples=2048, seed=3)
    assert design.values.shape == (expected_rows("sobol", 3, 2048, False), 3)
    assert design.values.min() >= -math.pi and design.values.max() <= math.pi
    result = analyse(design, "y", ishigami(design.values)[:, None])
    s1, st = ishigami_indices()
    # the estimator's error at N = 2048 is a few hundredths; its own 95% interval must cover the truth
    for name, truth in (("S1", s1), ("ST", st)):
        estimate, half_width = result.columns[name], result.columns[f"{name}_conf"]
        assert np.all(np.abs(estimate - truth) < 0.05), (name, estimate, truth)
        assert np.all(np.abs(estimate - truth) <= 3 * half_width + 0.01), (name, estimate, truth, half_width)
    assert result.columns["ST"][2] > 0.2 > result.columns["S1"][2]  # x3 acts only with x1


def test_second_order_design_has_the_saltelli_size_and_the_same_first_order_answer():
    priors = (uniform(-math.pi, math.pi),) * 3
    design = build_design("sobol", ("x1", "x2", "x3"), priors, ("y",), samples=1024, second_order=True, seed=1)
    assert len(design.values) == 1024 * (2 * 3 + 2)
    s1, _ = ishigami_indices()
    assert np.all(np.abs(analyse(design, "y", ishigami(design.values)[:, None]).columns["S1"] - s1) < 0.06)


def test_morris_gives_the_exact_effects_of_a_linear_function_on_log_and_linear_priors():
    priors = (uniform(0.0, 2.0), Prior("loguniform", 0.1, 10.0, "setting: test"), uniform(5.0, 6.0))
    design = build_design("morris", ("a", "b", "c"), priors, ("y",), samples=12, levels=4, seed=0)
    assert len(design.values) == expected_rows("morris", 3, 12, False)
    # linear in the unit cube: y = 3 u_a - 2 u_b + 0 u_c, whatever the priors
    u = np.column_stack([p.to_unit(design.values[:, j]) for j, p in enumerate(priors)])
    np.testing.assert_allclose(u, design.unit, atol=1e-12)
    y = 3 * u[:, 0] - 2 * u[:, 1]
    result = analyse(design, "y", y[:, None])
    np.testing.assert_allclose(result.columns["mu_star"], [3.0, 2.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(result.columns["mu"], [3.0, -2.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(result.columns["sigma"], 0.0, atol=1e-9)


def test_replicate_noise_is_measured_and_common_seeds_keep_the_ranking():
    priors = (uniform(-math.pi, math.pi),) * 3
    design = build_design("sobol", ("x1", "x2", "x3"), priors, ("y",), samples=1024, replicates=4, seed=2)
    rng = np.random.default_rng(0)
    clean = ishigami(design.values)
    noise_sd = 0.5 * clean.std()
    y = clean[:, None] + rng.normal(0.0, noise_sd, size=(len(clean), 4))
    result = analyse(design, "y", y)
    expected = noise_sd**2 / (clean.var() + noise_sd**2)  # within-point variance / total variance
    assert abs(result.noise_fraction - expected) < 0.03
    assert np.argsort(result.columns["ST"]).tolist() == [2, 1, 0]
    assert noise_fraction(np.repeat(clean[:, None], 3, axis=1)) < 1e-12  # identical replicates: no noise
    assert math.isnan(noise_fraction(clean[:, None]))


def test_an_output_with_undefined_values_or_no_variation_gets_nan_indices_and_a_note():
    priors = (uniform(0.0, 1.0),) * 2
    design = build_design("morris", ("a", "b"), priors, ("ratio",), samples=4, seed=0)
    y = np.ones((len(design.values), 1))
    flat = analyse(design, "flat", y)
    assert np.all(np.isnan(flat.columns["mu_star"])) and "does not vary" in flat.notes[0]
    # Sobol's estimator needs every row: an undefined value leaves the output without indices
    sobol = build_design("sobol", ("a", "b"), priors, ("ratio",), samples=64, seed=0)
    y = sobol.unit[:, :1].copy()
    y[0, 0] = np.nan
    undefined = analyse(sobol, "ratio", y, notes=["1 of 256 values are undefined"])
    assert np.all(np.isnan(undefined.columns["S1"]))
    assert undefined.notes == ["1 of 256 values are undefined", "indices not computed: the estimators need every value"]


def test_second_order_pairs_are_reported_for_every_pair():
    from geroconvert.analysis.sensitivity import pairs_of

    priors = (uniform(-math.pi, math.pi),) * 3
    design = build_design("sobol", ("x1", "x2", "x3"), priors, ("y",), samples=1024, second_order=True, seed=1)
    pairs = pairs_of(analyse(design, "y", ishigami(design.values)[:, None]))
    assert [(p["parameter"], p["with"]) for p in pairs] == [("x1", "x2"), ("x1", "x3"), ("x2", "x3")]
    # the Ishigami function's only interaction is x1 with x3: V13 / V
    v13_share = ishigami_indices()[1][2]
    s2 = {(p["parameter"], p["with"]): p["S2"] for p in pairs}
    assert abs(s2[("x1", "x3")] - v13_share) < 0.08 and abs(s2[("x1", "x2")]) < 0.08


def test_the_noise_share_of_the_replicate_mean_shrinks_with_replicates():
    rng = np.random.default_rng(1)
    signal = rng.normal(0, 1, size=(400, 1))
    y = signal + rng.normal(0, 1, size=(400, 4))  # within = between = 1
    assert abs(noise_fraction(y) - 0.5) < 0.05
    assert abs(noise_fraction(y, of_mean=True) - 0.2) < 0.05  # (1/4) / (1/4 + 1)


def test_morris_leaves_out_the_trajectories_with_an_undefined_value_and_says_so():
    priors = (uniform(0.0, 1.0),) * 3
    design = build_design("morris", ("a", "b", "c"), priors, ("y",), samples=10, levels=4, seed=0)
    y = (3 * design.unit[:, 0] - 2 * design.unit[:, 1])[:, None]
    y[5, 0] = np.nan  # in the second trajectory (rows 4-7)
    result = analyse(design, "y", y, notes=[])
    assert "1 of 10 trajectories with an undefined value are left out" in result.notes[0]
    np.testing.assert_allclose(result.columns["mu_star"], [3.0, 2.0, 0.0], atol=1e-9)
