"""Credible bands of the validation cases over posterior draws (studies.predictive) and `validate --posterior`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geroconvert.studies.predictive import combine
from geroconvert.studies.validation import Case
from tests.interfaces.test_sweep_cli import geroconvert


def case(name: str, value: float, low: float = 2.5, high: float = 3.5) -> Case:
    return Case(name, "published", "source", value, (value, value), low, high, low <= value <= high, "prediction; x")


def test_bands_probabilities_and_verdicts_come_from_the_draws():
    values = np.linspace(2.0, 4.0, 21)  # 11 of 21 draws inside 2.5-3.5
    per_draw = [[case("slowdown", v), case("t50", 60.0, 48.0, 72.0)] for v in values]
    slowdown, t50 = combine(per_draw)
    low, median, high = slowdown.band
    assert median == pytest.approx(3.0) and low == pytest.approx(2.1) and high == pytest.approx(3.9)
    assert slowdown.probability == pytest.approx(11 / 21) and slowdown.verdict == "uncertain"
    assert t50.probability == 1.0 and t50.verdict == "holds"
    assert slowdown.note == "prediction"
    record = slowdown.as_json()
    assert record["band_5_95"] == [pytest.approx(2.1), pytest.approx(3.9)] and len(record["values"]) == 21


def test_a_case_that_never_holds_fails_and_non_finite_values_leave_the_band():
    per_draw = [[case("ec50", v, 0.01, 10.0)] for v in (20.0, 30.0, math.nan)]
    (ec50,) = combine(per_draw)
    assert ec50.verdict == "fails" and ec50.band[1] == pytest.approx(25.0)
    assert ec50.as_json()["values"][2] is None


def test_validate_refuses_a_foreign_or_missing_posterior_in_one_line(tmp_path):
    import h5py

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    for path, words in ((foreign, "not a posterior file"), (tmp_path / "none.h5", "no such file")):
        done = geroconvert("validate", "--posterior", path, "--quick")
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
    done = geroconvert("validate", "--posterior", foreign, "--only", "skin")
    assert done.returncode == 2 and "drop --only skin" in done.stderr


def test_a_particle_drawn_twice_counts_twice():
    (case_,) = combine([[case("slowdown", 3.0)], [case("slowdown", 4.0)]], counts=[3, 1])
    assert case_.values == [3.0, 3.0, 3.0, 4.0] and case_.probability == 0.75


def test_trial_summary_counts_each_particle_as_drawn_and_names_every_verdict():
    from types import SimpleNamespace

    from geroconvert.studies.predictive import trial_summary, verdict_kind

    def result(difference: float, verdict: str):
        paired = SimpleNamespace(mean=difference)
        return SimpleNamespace(final_difference=paired, treated_change=paired, placebo_change=paired,
                               verdict=verdict, measure="p16_positive_fraction")  # fmt: skip

    results = [result(-0.003, "slowing: below placebo"), result(0.0, "no detectable effect at this cohort size")]
    summary = trial_summary(results, counts=[3, 1])
    assert summary["probability"] == {"reversal": 0.0, "slowing": 0.75, "no detectable effect": 0.25}
    assert summary["treated_minus_placebo_points"][0] == pytest.approx(-0.3)
    with pytest.raises(ValueError, match="unknown kind"):
        verdict_kind("something else")
