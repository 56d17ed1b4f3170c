"""The calibrated constants, in one place: ``calibrated.json`` beside this module.

Three constants of geroconversion are fitted to the HT-p21 protocol by
:mod:`geroconvert.studies.calibration` (``geroconvert calibrate``); with ``--write`` it
replaces the values here, rounded to four significant digits, with the fit's targets and
achieved numbers.  The :class:`~geroconvert.parameters.models.CellParams` defaults and the
parameter sets read them from :data:`CALIBRATED`, so no value is written twice.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

CALIBRATED_NAMES = ("gero_rate_per_h", "gero_threshold_sigma", "w_gero")


def calibration_file() -> Path:
    return Path(str(resources.files("geroconvert.parameters").joinpath("calibrated.json")))


def read() -> dict:
    """The whole record: ``values`` (name -> float) and ``fit`` (targets, achieved, seeds)."""
    return json.loads(calibration_file().read_text(encoding="utf-8"))


def write(values: dict[str, float], fit: dict, path: Path | None = None) -> Path:
    """Replace the calibrated values (rounded to 4 significant digits) and their fit record."""
    missing = set(CALIBRATED_NAMES) - set(values)
    if missing:
        raise ValueError(f"calibrated values missing: {sorted(missing)}")
    record = read()
    record["values"] = {name: float(f"{values[name]:.4g}") for name in CALIBRATED_NAMES}
    record["fit"] = fit
    target = path or calibration_file()
    target.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target


CALIBRATED: dict[str, float] = {name: float(read()["values"][name]) for name in CALIBRATED_NAMES}
