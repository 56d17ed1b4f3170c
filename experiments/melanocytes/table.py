"""The table of experiments/melanocytes/README.md from a melanocyte sweep archive.

    python experiments/melanocytes/table.py out/melanocyte_removal_sweep.h5

One row per swept value (the mean over replicates, and each replicate's value in brackets):
the melanocytes' share of the p16+ epidermal cells at age 60-80, p16+ keratinocytes and
melanocytes at 60-80, the melanocytes left at 80 as a fraction of those at 20, and the
senescent share of the melanocytes at 80.
"""

from __future__ import annotations

import sys

import numpy as np

import geroconvert as gc

START_AGE = 20.0
HOURS_PER_YEAR = 8766.0


def row_values(data, run: int, old) -> dict[str, float]:
    s = data.series
    count = sum(s[f"n_melanocyte_{phase}"][run] for phase in ("cycling", "arrested", "senescent"))
    return {
        "share": float(np.nanmean(s["melanocyte_share_of_p16_positive"][run][old])),
        "keratinocytes": 100 * float(np.mean(s["p16_positive_fraction_keratinocyte"][run][old])),
        "melanocytes": 100 * float(np.mean(s["p16_positive_fraction_melanocyte"][run][old])),
        "left": float(count[-1] / count[0]),
        "senescent": 100 * float(s["n_melanocyte_senescent"][run][-1] / max(count[-1], 1)),
    }


def main(path: str) -> None:
    data = gc.load_sweep(path)
    age = START_AGE + data.series_time_h / HOURS_PER_YEAR
    old = (age >= 60) & (age < 80)
    (name,) = data.swept
    print(f"| `{name.split('.')[-1]}` | melanocytes' share of p16+ cells, 60-80 | p16+ keratinocytes | "
          "p16+ melanocytes | melanocytes left at 80 | senescent melanocytes at 80 |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for point in data.grid_points():
        runs = [row_values(data, r, old) for r in data.runs_at(point)]
        cells = []
        for key, unit, digits in (("share", "", 2), ("keratinocytes", "%", 2), ("melanocytes", "%", 1),
                                  ("left", "", 2), ("senescent", "%", 0)):  # fmt: skip
            values = [run[key] for run in runs]
            each = ", ".join(f"{v:.{digits}f}" for v in values)
            cells.append(f"{np.mean(values):.{digits}f}{unit} [{each}]")
        print(f"| {point[0]:g} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
