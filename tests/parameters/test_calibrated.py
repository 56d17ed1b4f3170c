"""The calibrated constants live in one file, which every default and parameter set reads."""

from __future__ import annotations

import json

import pytest

from geroconvert.parameters import calibrated, paramsets
from geroconvert.parameters.models import CellParams


def test_defaults_and_parameter_sets_read_the_calibrated_file():
    values = calibrated.read()["values"]
    defaults = CellParams()
    for name in calibrated.CALIBRATED_NAMES:
        assert getattr(defaults, name) == values[name]
        assert getattr(paramsets.cells("ht_p21"), name) == values[name]
    assert paramsets.cells("human_epidermis").gero_rate_per_h == values["gero_rate_per_h"] / 10.0


def test_write_rounds_to_four_digits_and_keeps_the_fit(tmp_path):
    target = tmp_path / "calibrated.json"
    fit = {"command": "geroconvert calibrate", "achieved": {"slowdown": 3.01}}
    calibrated.write(
        {"gero_rate_per_h": 0.017858783, "gero_threshold_sigma": 0.176216, "w_gero": 0.654397}, fit, path=target
    )
    record = json.loads(target.read_text())
    assert record["values"] == {"gero_rate_per_h": 0.01786, "gero_threshold_sigma": 0.1762, "w_gero": 0.6544}
    assert record["fit"] == fit
    with pytest.raises(ValueError, match="w_gero"):
        calibrated.write({"gero_rate_per_h": 0.1, "gero_threshold_sigma": 0.1}, fit, path=target)
