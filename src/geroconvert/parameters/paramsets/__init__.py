"""Named, cited parameter sets.

Each module holds ``VALUES``: field -> (value, source).  A set starts from the
:class:`~geroconvert.parameters.models.CellParams` defaults (the HT-p21 line) and replaces what
it names.  ``cells("human_epidermis", {"mtor_gain": 2})`` gives validated parameters.
"""

from __future__ import annotations

from importlib import import_module

from geroconvert.parameters.models import CellParams

NAMES = ("ht_p21", "ht_p16", "human_epidermis")


def values(name: str) -> dict:
    """The field values a set overrides (sources stripped)."""
    if name not in NAMES:
        raise ValueError(f"unknown parameter set {name!r}; choose one of {', '.join(NAMES)}")
    module = import_module(f"{__name__}.{name}")
    return {key: value for key, (value, _source) in module.VALUES.items()}


def sources(name: str) -> dict:
    values(name)
    return {key: source for key, (_value, source) in import_module(f"{__name__}.{name}").VALUES.items()}


def cells(name: str = "ht_p21", overrides: dict | None = None) -> CellParams:
    """Validated cell parameters: the named set plus ``overrides``."""
    data = {"paramset": name, **values(name), **(overrides or {})}
    return CellParams(**data)


def calibrated_overrides(name: str, constants: dict[str, float]) -> dict[str, float]:
    """The cell values of set ``name`` for other values of the calibrated constants (a posterior
    draw, by field name): each scales as the set scales the package's calibrated value, so
    ``human_epidermis``, whose ``gero_rate_per_h`` is a tenth of the calibrated one, gets a
    tenth of the draw's."""
    from geroconvert.parameters.calibrated import CALIBRATED

    unknown = sorted(set(constants) - set(CALIBRATED))
    if unknown:
        raise ValueError(f"{unknown[0]} is not a calibrated constant ({', '.join(CALIBRATED)})")
    here = cells(name)
    factors = {key: getattr(here, key) / CALIBRATED[key] for key in constants}
    return {key: value if factors[key] == 1.0 else value * factors[key] for key, value in constants.items()}
