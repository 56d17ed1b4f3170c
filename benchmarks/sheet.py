"""The stratified epidermis on a 2-D basal sheet against the cross-section, at the same site count.

    python benchmarks/sheet.py [--side 100] [--rounds 5] [--years 60]

1. Throughput: the 1 mm^2 patch of ``configs/epidermis_sheet.toml`` (side x side basal
   sites under its layers) and a cross-section with the same number of sites (a row of
   side^2 basal sites), both aged 20 years into the run so that damage, arrest and SASP are
   at work.  Blocks of steps alternate between the two (so a busy machine slows both
   alike); reported are the best block of each, as cell updates (live cells x steps) per
   second, for whole steps and for the steps without their SASP diffusion (the cell
   kernels, update_cells and apply_pending, and the step's inputs): on a sheet the
   diffusion needs more sub-steps, since six neighbours make the explicit scheme stable
   only below D*dt = 1/6 instead of 1/4; and their ratios sheet/row.
2. The whole run: ``configs/epidermis_sheet.toml`` from age 20 to 80 (``--years``), wall
   time without compilation.
3. State per site (CellState.bytes_per_site).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

CONFIG = "configs/epidermis_sheet.toml"
WARM_YEARS = 20


def build(width: int, depth: int, seed: int = 4):
    from geroconvert.config import load_config
    from geroconvert.core.engine import Simulation

    sets = [f"simulation.width={width}", f"simulation.depth={depth}", "simulation.record_every_h=87660"]
    return Simulation(load_config(CONFIG, sets).params, seed=seed, record=False)


def warm(sim, years: float) -> None:
    for _ in range(int(round(years * 8766.0 / sim.dt))):
        sim.step()


def timed_block(sim, steps: int) -> tuple[float, float, float, int]:
    """(cells x steps, seconds of whole steps, seconds of those steps outside the SASP
    diffusion, divisions)."""
    diffusing = [0.0]
    diffuse = sim._diffuse_sasp

    def timed_diffusion() -> None:
        t0 = time.perf_counter()
        diffuse()
        diffusing[0] += time.perf_counter() - t0

    sim._diffuse_sasp = timed_diffusion
    cell_steps, whole = 0, 0.0
    divisions = int(sim.events[0])  # layout.E_DIVISIONS
    try:
        for _ in range(steps):
            cell_steps += sim.n_cells
            t0 = time.perf_counter()
            sim.step()
            whole += time.perf_counter() - t0
    finally:
        sim._diffuse_sasp = diffuse
    return cell_steps, whole, whole - diffusing[0], int(sim.events[0]) - divisions


def throughput(side: int, rounds: int, steps: int) -> dict:
    sims = {"sheet": build(side, side), "row": build(side * side, 1)}
    assert sims["sheet"].state.capacity == sims["row"].state.capacity
    for sim in sims.values():
        warm(sim, WARM_YEARS)
    best = {name: {"whole": 0.0, "without_diffusion": 0.0} for name in sims}
    work = {name: [0, 0] for name in sims}  # cells x steps, divisions
    for _ in range(rounds):
        for name, sim in sims.items():
            cells, whole, rest, divisions = timed_block(sim, steps)
            work[name][0] += cells
            work[name][1] += divisions
            best[name]["whole"] = max(best[name]["whole"], cells / whole)
            best[name]["without_diffusion"] = max(best[name]["without_diffusion"], cells / rest)
    out = {
        "sites": sims["sheet"].state.capacity,
        "live_cells": {name: sim.n_cells for name, sim in sims.items()},
        "cell_updates_per_s": {name: {k: round(v) for k, v in b.items()} for name, b in best.items()},
    }
    out["ratio_sheet_over_row"] = {
        k: round(best["sheet"][k] / best["row"][k], 3) for k in ("whole", "without_diffusion")
    }
    # the work per cell is not the same on both (a division pushes a column): the ratios are
    # comparable only if the division rates are close
    out["divisions_per_1000_cell_steps"] = {name: round(1000 * d / c, 3) for name, (c, d) in work.items()}
    return out


def whole_run(years: float) -> dict:
    from geroconvert.config import load_config
    from geroconvert.core.engine import Simulation

    params = load_config(CONFIG, [f"simulation.hours={years * 8766.0}"]).params
    build(10, 10).run(100.0)  # compile (and load) every kernel before the clock starts
    start = time.perf_counter()
    results = Simulation(params).run()
    seconds = time.perf_counter() - start
    return {
        "years": years,
        "seconds": round(seconds, 1),
        "under_10_minutes": seconds < 600.0,
        "final_n_stem": int(results.timeseries["n_stem"][-1]),
        "final_thickness_rows": round(float(results.timeseries["thickness_rows"][-1]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100, help="basal sites along each side of the sheet")
    parser.add_argument("--rounds", type=int, default=5, help="timed blocks per lattice (best of)")
    parser.add_argument("--steps", type=int, default=60, help="steps per timed block")
    parser.add_argument("--years", type=float, default=60.0, help="the whole run's length (0: skip it)")
    args = parser.parse_args()
    from geroconvert.core.state import CellState

    result = {
        "benchmark": "sheet",
        "machine": platform.processor() or platform.machine(),
        "bytes_per_site": CellState.bytes_per_site(),
        "throughput": throughput(args.side, args.rounds, args.steps),
    }
    if args.years > 0:
        result["whole_run"] = whole_run(args.years)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
