"""ABC-SMC (studies.bayes) on a toy problem whose answer is known, and the posterior file."""

from __future__ import annotations

import numpy as np
import pytest

from geroconvert.archive.posterior import Posterior, read_posterior, write_posterior
from geroconvert.errors import ArchiveError
from geroconvert.parameters.priors import Prior
from geroconvert.studies.bayes import Target, abc_smc

pytest.importorskip("pyabc")  # the bayes extra; `make test` installs it

TRUE_A, TRUE_B = 1.0, 0.5
NOISE = 0.02


def toy(values: dict[str, float], seed: int) -> dict[str, float]:
    """Statistics a and a*b, with measurement noise of their own seed."""
    rng = np.random.default_rng(seed)
    a, b = values["a"], values["b"]
    return {"a": a + rng.normal(0, NOISE), "ab": a * b + rng.normal(0, NOISE)}


TARGETS = (Target("a", TRUE_A, 0.1, "setting: toy"), Target("ab", TRUE_A * TRUE_B, 0.1, "setting: toy"))
PRIORS = {"a": Prior("uniform", 0.0, 2.0, "setting: toy"), "b": Prior("loguniform", 0.1, 10.0, "setting: toy")}


@pytest.fixture(scope="module")
def posterior():
    return abc_smc(toy, PRIORS, TARGETS, particles=150, generations=8, seed=1)


def test_abc_smc_recovers_the_known_parameters_within_its_interval(posterior):
    quantiles = posterior.quantiles((0.05, 0.5, 0.95))
    for name, truth in (("a", TRUE_A), ("b", TRUE_B)):
        low, median, high = quantiles[name]
        assert low <= truth <= high, (name, quantiles[name])
        assert abs(median - truth) < 0.1 * truth + 0.02, (name, median)
    # the prior spanned 0-2 and 0.1-10: the data narrowed both by an order of magnitude
    assert quantiles["a"][2] - quantiles["a"][0] < 0.3
    assert quantiles["b"][2] - quantiles["b"][0] < 0.4
    # the run stopped once every accepted particle met every target within its tolerance
    assert posterior.generations[-1]["epsilon"] <= 1.0
    assert np.all(posterior.distance <= posterior.generations[-1]["epsilon"] + 1e-12)
    for target in TARGETS:
        assert np.all(np.abs(posterior.statistics[target.name] - target.value) <= target.tolerance + 1e-12)


def test_the_same_seed_gives_the_same_posterior_on_one_worker(posterior):
    again = abc_smc(toy, PRIORS, TARGETS, particles=150, generations=8, seed=1)
    np.testing.assert_array_equal(again.samples, posterior.samples)
    np.testing.assert_array_equal(again.weights, posterior.weights)


def test_the_posterior_is_the_same_on_one_and_on_two_workers():
    one = abc_smc(toy, PRIORS, TARGETS, particles=40, generations=3, seed=2, workers=1)
    two = abc_smc(toy, PRIORS, TARGETS, particles=40, generations=3, seed=2, workers=2)
    np.testing.assert_array_equal(one.samples, two.samples)
    np.testing.assert_array_equal(one.weights, two.weights)
    np.testing.assert_array_equal(one.distance, two.distance)
    assert one.generations == two.generations  # epsilon and evaluations of every generation
    other = abc_smc(toy, PRIORS, TARGETS, particles=40, generations=3, seed=3, workers=2)
    assert not np.array_equal(other.samples, two.samples)  # the seed, not the workers, decides


def test_a_posterior_file_round_trips_and_draws_by_weight(tmp_path, posterior):
    path = write_posterior(tmp_path / "p.h5", posterior, {"command": "test"})
    back = read_posterior(path)
    assert back.names == ("a", "b")
    np.testing.assert_array_equal(back.samples, posterior.samples)
    np.testing.assert_array_equal(back.weights, posterior.weights)
    assert back.priors["b"] == "log-uniform 0.1-10"
    assert back.targets[1]["name"] == "ab" and back.targets[1]["tolerance"] == 0.1
    draws = back.draws(40, seed=3)
    assert draws == back.draws(40, seed=3) and draws != back.draws(40, seed=4)  # reproducible
    assert sum(n for _, n in draws) == 40 and len({tuple(d.values()) for d, _ in draws}) == len(draws)
    assert back.draws(41, seed=3)[: len(draws) - 1] == draws[:-1]  # more draws begin with the same ones
    with pytest.raises(ValueError, match="at least 1"):
        back.draws(0)


def test_draws_follow_the_weights():
    """Draws by weight, counted: a particle with 10 times the weight is drawn about 10 times as often."""
    weights = np.array([10.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]) / 20.0
    posterior = Posterior(
        names=("a",),
        samples=np.arange(11.0)[:, None],
        weights=weights,
        distance=np.zeros(11),
        targets=[],
        generations=[],
    )
    counts = {int(d["a"]): n for d, n in posterior.draws(20_000, seed=0)}
    assert abs(counts[0] / 20_000 - 0.5) < 0.02 and all(abs(counts[k] / 20_000 - 0.05) < 0.01 for k in range(1, 11))


def test_bad_posterior_files_are_one_line_errors(tmp_path, posterior):
    import h5py

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    empty = tmp_path / "empty.h5"
    write_posterior(empty, posterior, {})
    with h5py.File(empty, "a") as f:
        for name in ("weights", "distance", "parameters/a", "parameters/b", "statistics/a", "statistics/ab"):
            del f[name]
        f["weights"] = np.zeros(0)
        f["distance"] = np.zeros(0)
    for path, words in (
        (foreign, "not a posterior file"),
        (text, "not an HDF5 file"),
        (empty, "holds no particle"),
        (tmp_path / "missing.h5", "no such file"),
    ):
        with pytest.raises(ArchiveError, match=words) as caught:
            read_posterior(path)
        assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_posterior_file_given_where_an_archive_belongs_says_what_it_is(tmp_path, posterior):
    from geroconvert.archive.reader import read_rows

    path = write_posterior(tmp_path / "p.h5", posterior, {})
    with pytest.raises(ArchiveError, match="a posterior file .* pass it to sweep, validate or trial as --posterior"):
        read_rows(path)
