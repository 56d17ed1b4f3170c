"""Time series of tallies and events in preallocated arrays, and run results."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geroconvert.core import layout as L
from geroconvert.core.readouts import (
    CLONE_READOUTS,
    CLONE_SIZE_BINS,
    basal_in_cycle_fraction,
    clone_bin_name,
    clone_readouts,
    senescent_half_life_h,
    tally_readouts,
)

# name -> (CF-style units, what the series is), in the order they are recorded.  The units
# are what xarray and netCDF tools read ("1": a count or a fraction, "h": hours); the
# explanation goes to the archive's ``long_name``.
SERIES_INFO = {
    "time_h": ("h", "time since the start of the run"),
    "n_cells": ("1", "live cells"),
    "n_cycling": ("1", "live cells in the cycle (growing or resting, not arrested)"),
    "n_arrested": ("1", "arrested cells (p16/p21 high, not yet senescent)"),
    "n_senescent": ("1", "senescent cells"),
    "n_stem": ("1", "stem cells, not senescent"),
    "n_stem_senescent": ("1", "senescent stem cells"),
    "p16_positive_fraction": ("1", "fraction of live cells that are p16-positive"),
    "senescent_fraction": ("1", "fraction of live cells that are senescent"),
    "mean_mass": ("1", "mean cell mass, in newborn-cell masses"),
    "mean_p16": ("1", "mean p16 level of live cells (0 to 1)"),
    "mean_sasp": ("1", "mean SASP per lattice site, in SASP units"),
    "thickness_rows": ("1", "differentiated cell layers above the basal row (cells per column)"),
    "p16_positive_fraction_epidermis": (
        "1",
        "fraction of epidermal cells (stem, progenitor, differentiated, melanocyte), p16+",
    ),
    "p16_positive_fraction_dermis": ("1", "fraction of fibroblasts p16-positive"),
    "p16_positive_fraction_keratinocyte": ("1", "fraction of keratinocytes (stem, progenitor, differentiated), p16+"),
    "p16_positive_fraction_melanocyte": ("1", "fraction of melanocytes p16-positive"),
    "melanocyte_share_of_p16_positive": ("1", "melanocytes among p16+ epidermal cells (NaN when none is p16+)"),
    "basal_in_cycle_fraction": ("1", "fraction of basal cells (stem, progenitor) in the cycle, not resting/arrested"),
    "senescent_half_life_h": ("h", "ln 2 / (senescent cells lost per senescent cell-hour) over the previous interval"),
}
SERIES_INFO.update(
    {
        "clones_surviving": ("1", "clones founded by the basal cells at the run's start that still hold a basal cell"),
        "clone_mean_basal_cells": ("1", "mean basal cells (stem, progenitor) per surviving clone"),
        "clone_mean_cells": ("1", "mean epidermal cells (basal and suprabasal) per surviving clone"),
        **{
            clone_bin_name(low, high): (
                "1",
                f"surviving clones with {low}{'' if high == low else ' or more' if high is None else f'-{high}'} "
                "basal cells",
            )
            for low, high in CLONE_SIZE_BINS
        },
    }
)
for _kind in L.KIND_NAMES:
    for _phase in L.PHASE_NAMES[1:]:
        SERIES_INFO[f"n_{_kind}_{_phase}"] = ("1", f"{_kind} cells that are {_phase}")
for _event in L.EVENT_NAMES:
    SERIES_INFO[f"events_{_event}"] = ("1", f"{_event.replace('_', ' ')} events over the previous interval")
SERIES_UNITS = {name: units for name, (units, _) in SERIES_INFO.items()}
SERIES_LONG_NAMES = {name: long_name for name, (_, long_name) in SERIES_INFO.items()}

# Series that count what a dish cannot hold (skin cell kinds, layers, the basal row): a dish
# run leaves them out rather than recording zeros.  An epidermis has no cell-line cells.
EPIDERMIS_ONLY = (
    "n_stem",
    "n_stem_senescent",
    "thickness_rows",
    "p16_positive_fraction_epidermis",
    "p16_positive_fraction_dermis",
    "p16_positive_fraction_keratinocyte",
    "p16_positive_fraction_melanocyte",
    "melanocyte_share_of_p16_positive",
    "basal_in_cycle_fraction",
    *CLONE_READOUTS,
    *(f"n_{kind}_{phase}" for kind in L.KIND_NAMES if kind != "line" for phase in L.PHASE_NAMES[1:]),
)
DISH_ONLY = tuple(f"n_line_{phase}" for phase in L.PHASE_NAMES[1:])


def series_for(geometry: str) -> tuple[str, ...]:
    """The series a run of ``geometry`` ("dish" or "epidermis") records, in order."""
    left_out = EPIDERMIS_ONLY if geometry == "dish" else DISH_ONLY
    return tuple(name for name in SERIES_INFO if name not in left_out)


@dataclass
class Results:
    """What a run produced: time series, RPP assay table and scalar summary."""

    timeseries: dict[str, np.ndarray]
    units: dict[str, str]
    rpp: dict[str, np.ndarray]
    summary: dict[str, float]
    events: dict[str, int] = field(default_factory=dict)
    snapshots: dict[float, dict[str, np.ndarray]] = field(default_factory=dict)


class Recorder:
    def __init__(self, n_records: int, geometry: str = "epidermis"):
        self.n = 0
        self.data = {name: np.zeros(n_records, np.float64) for name in SERIES_UNITS}
        self.names = series_for(geometry)  # what series() returns; the rest are computed, not kept

    def reserve(self, more: int) -> None:
        """Room for ``more`` rows beyond those recorded (a run continued with another run())."""
        need = self.n + more
        if need > len(self.data["time_h"]):
            for name, values in self.data.items():
                grown = np.zeros(need, np.float64)
                grown[: self.n] = values[: self.n]
                self.data[name] = grown

    def record(
        self,
        time_h: float,
        counts,
        p16pos,
        sums,
        n_sites: int,
        thickness_rows: float,
        events_since: np.ndarray,
        in_cycle: np.ndarray,
        clones: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        """One row from a tally: counts[kind, phase], p16+ counts[kind, phase], float sums (reduce.F_*);
        ``clones``: (cells, basal cells) of each labelled clone (an epidermis; else left at 0)."""
        row = self.n
        d = self.data
        d["time_h"][row] = time_h
        for name, value in tally_readouts(counts, p16pos, sums, n_sites).items():
            d[name][row] = value
        d["thickness_rows"][row] = thickness_rows
        d["basal_in_cycle_fraction"][row] = basal_in_cycle_fraction(counts, in_cycle)
        d["senescent_half_life_h"][row] = self._half_life(
            time_h, d["n_senescent"][row], events_since[L.E_SENESCENT_LOST]
        )
        for k, kind in enumerate(L.KIND_NAMES):
            for p in range(1, L.N_PHASES):
                d[f"n_{kind}_{L.PHASE_NAMES[p]}"][row] = counts[k, p]
        for e, event in enumerate(L.EVENT_NAMES):
            d[f"events_{event}"][row] = events_since[e]
        if clones is not None:
            for name, value in clone_readouts(*clones).items():
                d[name][row] = value
        self.n += 1

    def _half_life(self, time_h: float, n_senescent: float, lost: int) -> float:
        """Senescent-cell half-life since the previous record (NaN at the first record)."""
        if self.n == 0:
            return float("nan")
        previous = self.n - 1
        return senescent_half_life_h(
            time_h - self.data["time_h"][previous], self.data["n_senescent"][previous], n_senescent, lost
        )

    def series(self) -> dict[str, np.ndarray]:
        return {name: self.data[name][: self.n].copy() for name in self.names}
