"""Time series of tallies and events in preallocated arrays, and run results."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geroconvert.core import layout as L
from geroconvert.core.readouts import basal_in_cycle_fraction, senescent_half_life_h, tally_readouts

# name -> units, in the order they are recorded
SERIES_UNITS = {
    "time_h": "h",
    "n_cells": "cells",
    "n_cycling": "cells",
    "n_arrested": "cells",
    "n_senescent": "cells",
    "n_stem": "cells (stem, not senescent)",
    "n_stem_senescent": "cells",
    "p16_positive_fraction": "fraction of cells",
    "senescent_fraction": "fraction of cells",
    "mean_mass": "newborn masses",
    "mean_p16": "0-1",
    "mean_sasp": "SASP units per site",
    "thickness_rows": "cell layers above the basal row (epidermis)",
    "p16_positive_fraction_epidermis": "fraction of epidermal cells (stem, progenitor, differentiated)",
    "p16_positive_fraction_dermis": "fraction of fibroblasts",
    "basal_in_cycle_fraction": "fraction of basal cells (stem, progenitor) in the cycle, not resting or arrested",
    "senescent_half_life_h": "h: ln 2 / (senescent cells lost per senescent cell-hour) since the previous record",
}
for _kind in L.KIND_NAMES:
    for _phase in L.PHASE_NAMES[1:]:
        SERIES_UNITS[f"n_{_kind}_{_phase}"] = "cells"
for _event in L.EVENT_NAMES:
    SERIES_UNITS[f"events_{_event}"] = "events since the previous record"


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
    def __init__(self, n_records: int):
        self.n = 0
        self.data = {name: np.zeros(n_records, np.float64) for name in SERIES_UNITS}

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
    ):
        """One row from a tally: counts[kind, phase], p16+ counts[kind, phase], float sums (reduce.F_*)."""
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
        return {name: values[: self.n].copy() for name, values in self.data.items()}
