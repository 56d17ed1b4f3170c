"""The table of experiments/melanocytes/README.md from a melanocyte sweep archive.

    python experiments/melanocytes/table.py out/melanocyte_removal_sweep.h5

One row per swept value (the mean over replicates, and each replicate's value in brackets)
of the numbers the melanocyte validation cases read (``validation_skin.melanocyte_numbers``):
the melanocytes' share of the p16+ epidermal cells at age 60-80, p16+ keratinocytes and
melanocytes at 60-80, the melanocytes left at 80 as a fraction of those at 20, and the
senescent share of the melanocytes at 80.
"""

from __future__ import annotations

import sys

import numpy as np

import geroconvert as gc
from geroconvert.studies.validation_skin import melanocyte_numbers

# (key of melanocyte_numbers, scale, unit, digits), in the table's column order
COLUMNS = (("share", 1, "", 2), ("keratinocytes", 100, "%", 2), ("melanocytes", 100, "%", 1),
           ("left", 1, "", 2), ("senescent", 100, "%", 0))  # fmt: skip


def main(path: str) -> None:
    data = gc.load_sweep(path)
    (name,) = data.swept
    print(f"| `{name.split('.')[-1]}` | melanocytes' share of p16+ cells, 60-80 | p16+ keratinocytes | "
          "p16+ melanocytes | melanocytes left at 80 | senescent melanocytes at 80 |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for point in data.grid_points():
        runs = [melanocyte_numbers(data.run_timeseries(r)) for r in data.runs_at(point)]
        cells = []
        for key, scale, unit, digits in COLUMNS:
            values = [scale * run[key] for run in runs]
            each = ", ".join(f"{v:.{digits}f}" for v in values)
            cells.append(f"{np.mean(values):.{digits}f}{unit} [{each}]")
        print(f"| {point[0]:g} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
