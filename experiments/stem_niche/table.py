"""The table of experiments/stem_niche/README.md from a stem niche sweep archive.

    python experiments/stem_niche/table.py out/stem_niche_sweep.h5

One row per grid point (commitment r x niche reach) with the numbers the skin validation
reads from the niche run (``validation_skin``): the stem cells seeded, at year 1 and at the
end, the stem pool's largest change from year 1, the log-log slope of the surviving clones
over 3-36 months, and the growth fraction and basal cycle time over the first 3 years.
"""

from __future__ import annotations

import sys

import geroconvert as gc
from geroconvert.studies.validation_skin import clone_cases, homeostasis_cases, stem_pool_case
from geroconvert.units import HOURS_PER_YEAR


def row(ts: dict) -> str:
    stems = ts["n_stem"]
    year_1 = stems[ts["time_h"] >= HOURS_PER_YEAR][0]
    slope = clone_cases(ts)[0].simulated
    three_years = ts["time_h"] <= 3 * HOURS_PER_YEAR
    growth, cycle = (case.simulated for case in homeostasis_cases({k: v[three_years] for k, v in ts.items()})[:2])
    change = stem_pool_case(ts).simulated
    return (
        f"{stems[0]:.0f} | {year_1:.0f} | {stems[-1]:.0f} | {100 * change:.0f}% | {slope:.2f} | "
        f"{100 * growth:.0f}% | {cycle:.0f} h"
    )


def main(path: str) -> None:
    data = gc.load_sweep(path)
    print("| r | reach (sites) | stem cells seeded | year 1 | year 21 | largest change from year 1 | "
          "clone slope, 3-36 months | cycling, years 0-3 | cycle time |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for point in data.grid_points():
        values = dict(zip(sorted(data.swept), point))  # a point's values follow the sorted paths
        r, reach = values["cells.stem_symmetric_loss"], values["cells.stem_niche_reach_sites"]
        for run in data.runs_at(point):
            print(f"| {r:g} | {reach:g} | {row(data.run_timeseries(run))} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/stem_niche_sweep.h5")
