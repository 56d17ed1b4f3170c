"""The counter-based generator: the pure-Python copy equals the numba one bit for bit,
and the draws look uniform, independent across keys, and normal where they should.

Samples are fixed (keys 0..n-1 with fixed seeds), so every test is deterministic; the
acceptance bounds are loose enough for a good hash (p > 1e-4, |r| < 5 / sqrt(n)) and
tight enough that a broken one fails: the last tests feed the same checks a weak
generator and require them to reject it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from geroconvert.core import layout as L
from geroconvert.core.kernels import rng
from geroconvert.oracle import reference as R

N = 20_000
P_MIN = 1e-4
MASK64 = (1 << 64) - 1


def python_uniforms(seed, stream, uids, step):
    return np.array([R.uniform(seed, stream, int(u), step) for u in uids])


# ---- bit-for-bit equality ------------------------------------------------------------------
EDGE_KEYS = [
    (0, 0, 0, 0),
    (1, 1, 1, 1),
    (7, L.S_EVENTS, 5, 0),
    (2**63 - 1, 12, 2**62 + 3, 10**9),
    (123456789, L.S_THRESHOLD_A, 0, 0),
    (42, L.S_DIVISIONS, 99, 2**31),
    (2**40 + 17, L.S_INIT, 2**33, 4),
]


@pytest.mark.parametrize("key", EDGE_KEYS)
def test_python_generator_equals_numba_on_edge_keys(key):
    assert R.uniform(*key) == rng.uniform(*key)


def test_python_generator_equals_numba_bit_for_bit():
    gen = np.random.default_rng(2024)
    for _ in range(300):
        seed = int(gen.integers(0, 2**63 - 1))
        stream = int(gen.integers(0, 16))
        step = int(gen.integers(0, 2**40))
        uids = gen.integers(0, 2**62, size=20)
        expected = rng.uniforms(seed, stream, uids, step)
        got = python_uniforms(seed, stream, uids, step)
        assert np.array_equal(expected, got), (seed, stream, step)
        assert R.uniform(seed, stream, int(uids[0]), step) == rng.uniform(seed, stream, int(uids[0]), step)


def test_mix64_equals_numba_and_splitmix64():
    # splitmix64's first output from state 0 (Steele, Lea & Flood 2014; Vigna's reference code)
    assert R.mix64(0) == 0xE220A8397B1DCDAF == int(rng.mix64(np.uint64(0)))
    for x in (1, 2, 0xDEADBEEF, MASK64, MASK64 - 1, 1 << 63):
        assert R.mix64(x) == int(rng.mix64(np.uint64(x)))


def test_normal_equals_numba():
    # Box-Muller through libm log/cos/sqrt: the same C functions, so bit-identical here;
    # allow one part in 1e14 in case a libm rounds a last bit differently
    for uid in range(2000):
        a = R.normal(5, L.S_THRESHOLD_A, L.S_THRESHOLD_B, uid, 0)
        b = rng.normal(5, L.S_THRESHOLD_A, L.S_THRESHOLD_B, uid, 0)
        assert math.isclose(a, b, rel_tol=1e-14, abs_tol=1e-14), uid


# ---- statistical quality -----------------------------------------------------------------------
def uniformity_p(u) -> float:
    """Smaller of the KS and 64-bin chi-square p-values against U(0, 1)."""
    ks = stats.kstest(u, "uniform").pvalue
    counts = np.histogram(u, bins=64, range=(0.0, 1.0))[0]
    return min(ks, stats.chisquare(counts).pvalue)


def independence_p(u, v, bins=10) -> float:
    """Chi-square p-value of the joint histogram of pairs against independence."""
    table = np.histogram2d(u, v, bins=bins, range=((0, 1), (0, 1)))[0]
    return stats.chi2_contingency(table).pvalue


def max_abs_correlation(*samples) -> float:
    c = np.corrcoef(np.vstack(samples))
    return float(np.max(np.abs(c - np.eye(len(samples)))))


def test_draws_lie_in_unit_interval_and_use_53_bits():
    u = rng.uniforms(3, L.S_EVENTS, np.arange(N), 0)
    assert u.min() >= 0.0 and u.max() < 1.0
    scaled = u * 2.0**53
    assert np.array_equal(scaled, np.floor(scaled))
    assert np.mean(np.mod(scaled, 2) == 1) == pytest.approx(0.5, abs=0.02)  # the lowest bit is used


@pytest.mark.parametrize("seed,stream,step", [(0, L.S_EVENTS, 0), (1, L.S_FATE, 17), (2**62, L.S_FATE, 10**6)])
def test_uniform_over_uids(seed, stream, step):
    assert uniformity_p(rng.uniforms(seed, stream, np.arange(N), step)) > P_MIN


def test_uniform_over_steps_and_seeds_for_one_cell():
    over_steps = np.array([R.uniform(9, L.S_DIRECTION, 123, t) for t in range(5000)])
    over_seeds = np.array([R.uniform(s, L.S_DIRECTION, 123, 0) for s in range(5000)])
    assert uniformity_p(over_steps) > P_MIN
    assert uniformity_p(over_seeds) > P_MIN


def test_streams_uids_steps_and_seeds_are_uncorrelated():
    uids = np.arange(N)
    base = rng.uniforms(5, L.S_EVENTS, uids, 10)
    other_stream = rng.uniforms(5, L.S_FATE, uids, 10)
    next_step = rng.uniforms(5, L.S_EVENTS, uids, 11)
    other_seed = rng.uniforms(6, L.S_EVENTS, uids, 10)
    next_uid = rng.uniforms(5, L.S_EVENTS, uids + 1, 10)
    assert max_abs_correlation(base, other_stream, next_step, other_seed, next_uid) < 5.0 / math.sqrt(N)
    for other in (other_stream, next_step, other_seed, next_uid):
        assert independence_p(base, other) > P_MIN
    # consecutive steps of one cell, the way a cell meets them over a run
    one_cell = rng.uniforms(5, L.S_EVENTS, [77], 0)  # warm-up of the vectorised path
    series = np.array([rng.uniform(5, L.S_EVENTS, 77, t) for t in range(N)])
    assert one_cell[0] == series[0]
    assert abs(np.corrcoef(series[:-1], series[1:])[0, 1]) < 5.0 / math.sqrt(N)
    assert independence_p(series[:-1], series[1:]) > P_MIN


def test_draws_of_different_streams_rarely_coincide():
    # every decision of a cell in a step has its own stream: no two should share draws
    uids = np.arange(2000)
    draws = np.vstack([rng.uniforms(1, stream, uids, 3) for stream in range(1, 13)])
    for row in range(draws.shape[0]):
        assert np.count_nonzero(np.any(np.delete(draws, row, axis=0) == draws[row], axis=0)) == 0


def test_normal_has_mean_zero_and_unit_sd():
    z = np.array([rng.normal(11, L.S_THRESHOLD_A, L.S_THRESHOLD_B, uid, 0) for uid in range(N)])
    assert abs(z.mean()) < 5.0 / math.sqrt(N)
    assert z.std() == pytest.approx(1.0, abs=0.03)
    assert stats.kstest(z, "norm").pvalue > P_MIN
    # the gero threshold is lognormal: about half the cells lie below the median
    assert np.mean(z < 0) == pytest.approx(0.5, abs=0.02)


# ---- the checks reject a weak generator ----------------------------------------------------------
def test_the_checks_can_fail():
    uids = np.arange(N)
    # a Weyl sequence is perfectly uniform, but consecutive keys are deterministic neighbours
    weyl = np.mod(uids * 0.6180339887498949, 1.0)
    assert uniformity_p(weyl) > P_MIN
    assert independence_p(weyl[:-1], weyl[1:]) < P_MIN
    # a hash that ignored the stream would give two decisions the same numbers
    damage = rng.uniforms(5, L.S_EVENTS, uids, 10)
    assert max_abs_correlation(damage, damage.copy()) > 0.99
    # one that mixed the uid in linearly would correlate neighbouring cells
    assert max_abs_correlation(weyl[:-1], weyl[1:]) > 5.0 / math.sqrt(N)
    # a hash whose low bits are thrown away is not uniform at the bin level
    coarse = np.floor(rng.uniforms(5, L.S_EVENTS, uids, 10) * 48) / 48
    assert uniformity_p(coarse) < P_MIN
    # a generator biased by one part in 20 fails the KS test
    biased = rng.uniforms(5, L.S_EVENTS, uids, 10) ** 1.05
    assert uniformity_p(biased) < P_MIN


def test_derive_seed_equals_the_kernel_mix():
    """derive_seed is plain Python (no kernel to load): the same bits as mixing with the kernel."""

    def with_kernel(seed, *salt):
        h = int(rng.mix64(np.uint64(seed)))
        for s in salt:
            h = int(rng.mix64(np.uint64(h ^ (int(s) & MASK64))))
        return h >> 1

    gen = np.random.default_rng(7)
    cases = [(0,), (1, 0), (2**63 - 1, 2**63 - 1), (5, -1, 24000), (MASK64, 3)]
    cases += [(int(gen.integers(0, 2**63 - 1)), int(gen.integers(0, 10**6))) for _ in range(200)]
    for seed, *salt in cases:
        assert rng.derive_seed(seed, *salt) == with_kernel(seed, *salt), (seed, salt)
