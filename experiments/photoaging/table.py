"""The tables of experiments/photoaging/README.md from a photoaging sweep archive.

    python experiments/photoaging/table.py out/photoaging_sweep.h5

One row per swept value (the mean over replicates, each replicate's value in brackets):
the p16+ fractions of the epidermis and of the dermis at age 60-80, the stem cells at 80
and the senescent half-life at 60-80.  The photoaged validation cases read the first two
(``validation_skin.photoaging_cases``).
"""

from __future__ import annotations

import sys

import numpy as np

import geroconvert as gc
from geroconvert.studies.validation_skin import age_window_mean

START_AGE = 20.0


def old_mean(ts, name: str) -> float:
    """The mean of a series over age 60-80, as the photoaged validation cases take it."""
    return age_window_mean(ts, name, START_AGE, 60, 80)


def numbers(ts) -> dict[str, float]:
    return {
        "epidermis": 100 * old_mean(ts, "p16_positive_fraction_epidermis"),
        "dermis": 100 * old_mean(ts, "p16_positive_fraction_dermis"),
        "stems": float(ts["n_stem"][-1]),
        "half_life_d": old_mean(ts, "senescent_half_life_h") / 24.0,
    }


# (key of numbers, unit, digits), in the table's column order
COLUMNS = (("epidermis", "%", 2), ("dermis", "%", 2), ("stems", "", 0), ("half_life_d", " d", 1))


def main(path: str) -> None:
    data = gc.load_sweep(path)
    (name,) = data.swept
    print(f"| `{name}` | p16+ epidermis, 60-80 | p16+ dermis, 60-80 | stem cells at 80 | senescent half-life, 60-80 |")
    print("|---|---|---|---|---|")
    for point in data.grid_points():
        runs = [numbers(data.run_timeseries(r)) for r in data.runs_at(point)]
        cells = []
        for key, unit, digits in COLUMNS:
            values = [run[key] for run in runs]
            each = ", ".join(f"{v:.{digits}f}" for v in values)
            cells.append(f"{np.mean(values):.{digits}f}{unit} [{each}]")
        print(f"| {point[0]:g} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
