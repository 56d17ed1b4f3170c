"""Readouts: the scalar results of one run, computed from its recorded series and RPP curve.

One place for them, used by the engine (each run's summary), the archive's summary table
and the analysis of sweeps.
"""

from __future__ import annotations

import math

import numpy as np

from geroconvert.core import layout as L
from geroconvert.units import LN2


def t50(time_h, rpp, level: float = 0.5) -> float:
    """First time the RPP curve falls to ``level``, by linear interpolation; NaN if it never does."""
    t = np.asarray(time_h, np.float64)
    r = np.asarray(rpp, np.float64)
    ok = np.isfinite(r)
    t, r = t[ok], r[ok]
    if t.size == 0:
        return math.nan
    if r[0] <= level:
        return float(t[0])
    below = np.flatnonzero(r <= level)
    if below.size == 0:
        return math.nan
    j = below[0]
    t0, t1, r0, r1 = t[j - 1], t[j], r[j - 1], r[j]
    return float(t0 + (r0 - level) * (t1 - t0) / (r0 - r1))


# summary entries that time the run (seconds) and so differ between identical runs:
# wall_s, the run without numba compilation, and compile_s, the compilation (or cache load)
TIMING_KEYS = ("wall_s", "compile_s")


def summarise(series: dict, rpp: dict) -> dict[str, float]:
    """Scalar results of one run (the archive's /summary row)."""
    out: dict[str, float] = {}
    if rpp and len(rpp.get("time_h", ())):
        out["t50_h"] = t50(rpp["time_h"], rpp["rpp"])
        out["rpp_final"] = float(rpp["rpp"][-1])
    if series and len(series.get("time_h", ())):
        for name in ("n_cells", "p16_positive_fraction", "senescent_fraction", "mean_mass", "n_stem", "thickness_rows"):
            if name in series:  # a dish records no stem cells or layers
                out[f"final_{name}"] = float(series[name][-1])
    return out


def censor_time(time_h, rpp) -> float:
    """Last time (h) with a finite RPP value: the lower bound of a censored t50; NaN without data."""
    t = np.asarray(time_h, np.float64)
    ok = np.isfinite(np.asarray(rpp, np.float64))
    return float(t[ok][-1]) if ok.any() else math.nan


# ---- readouts of one tally -------------------------------------------------------------------
# The recorder (every record of a run), GeroModel (every step) and the trial (every visit)
# read the same numbers from the same tally, here, so they cannot disagree.  Fractions of
# no cells are 0 (nothing is p16-positive); means over no cells are NaN (undefined).

KERATINOCYTE_KINDS = (L.STEM, L.PROGENITOR, L.DIFFERENTIATED)
EPIDERMAL_KINDS = (*KERATINOCYTE_KINDS, L.MELANOCYTE)
BASAL_KINDS = (L.STEM, L.PROGENITOR)  # basal keratinocytes (the growth fraction is theirs)
ALL_KINDS = tuple(range(L.N_KINDS))

TALLY_READOUTS = (
    "n_cells",
    "n_cycling",
    "n_arrested",
    "n_senescent",
    "n_stem",
    "n_stem_senescent",
    "p16_positive_fraction",
    "senescent_fraction",
    "mean_mass",
    "mean_p16",
    "mean_sasp",
    "p16_positive_fraction_epidermis",
    "p16_positive_fraction_dermis",
    "p16_positive_fraction_keratinocyte",
    "p16_positive_fraction_melanocyte",
    "melanocyte_share_of_p16_positive",
)


def p16_positive_fraction(counts, p16pos, kinds=ALL_KINDS) -> float:
    """p16-high cells among the live cells of ``kinds`` (0 when there are none)."""
    kinds = list(kinds)
    return float(p16pos[kinds, 1:].sum() / max(counts[kinds, 1:].sum(), 1))


def tally_readouts(counts, p16pos, sums, n_sites: int) -> dict[str, float]:
    """Counts, fractions and means of one tally (``kernels.reduce.tally``'s three arrays)."""
    from geroconvert.core.kernels.reduce import F_MASS, F_P16, F_SASP

    live = int(counts[:, 1:].sum())
    n_senescent = int(counts[:, L.SENESCENT].sum())
    return {
        "n_cells": live,
        "n_cycling": int(counts[:, L.CYCLING].sum()),
        "n_arrested": int(counts[:, L.ARRESTED].sum()),
        "n_senescent": n_senescent,
        "n_stem": int(counts[L.STEM, L.CYCLING] + counts[L.STEM, L.ARRESTED]),
        "n_stem_senescent": int(counts[L.STEM, L.SENESCENT]),
        "p16_positive_fraction": p16_positive_fraction(counts, p16pos),
        "senescent_fraction": n_senescent / max(live, 1),
        "mean_mass": float(sums[F_MASS]) / live if live else math.nan,
        "mean_p16": float(sums[F_P16]) / live if live else math.nan,
        "mean_sasp": float(sums[F_SASP]) / n_sites,
        "p16_positive_fraction_epidermis": p16_positive_fraction(counts, p16pos, EPIDERMAL_KINDS),
        "p16_positive_fraction_dermis": p16_positive_fraction(counts, p16pos, (L.FIBROBLAST,)),
        "p16_positive_fraction_keratinocyte": p16_positive_fraction(counts, p16pos, KERATINOCYTE_KINDS),
        "p16_positive_fraction_melanocyte": p16_positive_fraction(counts, p16pos, (L.MELANOCYTE,)),
        "melanocyte_share_of_p16_positive": melanocyte_share(p16pos),
    }


def melanocyte_share(p16pos) -> float:
    """Melanocytes among the p16-high epidermal cells (Victorelli et al. 2019 find them the
    only ones); NaN when no epidermal cell is p16-high (a share of nothing is undefined)."""
    epidermal = int(p16pos[list(EPIDERMAL_KINDS), 1:].sum())
    return float(p16pos[L.MELANOCYTE, 1:].sum() / epidermal) if epidermal else math.nan


def basal_in_cycle_fraction(counts, in_cycle) -> float:
    """Basal cells (stem, progenitor) in the cycle, not resting or arrested (0 when none)."""
    basal = list(BASAL_KINDS)
    return float(in_cycle[basal].sum() / max(counts[basal, 1:].sum(), 1))


def senescent_half_life_h(hours: float, n_senescent_before: float, n_senescent_now: float, lost: int) -> float:
    """ln 2 / (senescent cells lost per senescent cell-hour) over an interval (NaN if none lost or none there)."""
    exposure = 0.5 * (n_senescent_before + n_senescent_now) * hours
    if lost <= 0 or exposure <= 0:
        return math.nan
    return float(LN2 * exposure / lost)


# Labelled basal clones (the lineage tracing of Clayton et al. 2007): every basal cell at the
# start of a run founds a clone; a clone survives while it holds a basal cell.  Its size is
# binned by powers of two, as clone-size histograms are (the last bin is open).
CLONE_SIZE_BINS = ((1, 1), (2, 2), (3, 4), (5, 8), (9, 16), (17, 32), (33, None))


def clone_bin_name(low: int, high: int | None) -> str:
    if high is None:
        return f"clones_basal_{low}_up"
    return f"clones_basal_{low}" if low == high else f"clones_basal_{low}_{high}"


CLONE_READOUTS = (
    "clones_surviving",
    "clone_mean_basal_cells",
    "clone_mean_cells",
    *(clone_bin_name(low, high) for low, high in CLONE_SIZE_BINS),
)


def clone_readouts(cells, basal) -> dict[str, float]:
    """Surviving labelled clones, their mean basal and total (basal + suprabasal) sizes, and the
    number of surviving clones per bin of basal size, from the cells and basal cells of each
    labelled clone.  The means of no surviving clone are NaN."""
    cells, basal = np.asarray(cells), np.asarray(basal)
    surviving = basal > 0
    n = int(surviving.sum())
    out = {
        "clones_surviving": float(n),
        "clone_mean_basal_cells": float(basal[surviving].mean()) if n else math.nan,
        "clone_mean_cells": float(cells[surviving].mean()) if n else math.nan,
    }
    for low, high in CLONE_SIZE_BINS:
        inside = (basal >= low) if high is None else (basal >= low) & (basal <= high)
        out[clone_bin_name(low, high)] = float(inside.sum())
    return out
