"""The RPP assay: one kernel call per regrowth (issue 14, item 9) against a Simulation of the plate.

On configs/ht_p21.toml the assays were ~80% of a run's model time: each of the 8 replates
300 cells on a 216 x 216 dish and regrew it as a full Simulation for 120 steps, every step
calling the kernels from Python.  Now the regrowth is one call of
``kernels.regrowth.regrow``, which also stops once the count is settled.

    python benchmarks/rpp_assay.py [--rounds 7] [--threads N] [--config configs/ht_p21.toml]

Prints one JSON object.  The config runs once, keeping its cells at each assay time; then
each round assays every one of those time points the old way
(``assays._rpp_assay_by_simulation``) and the new way (``assays.rpp_assay``), alternating
(ABAB...) so that load changes hit both, and checks that they give the same row.  The
measure is the wall time of one assay including its set-up (sampling, replating,
parameters): per time point the best and the median over rounds, and the mean over time
points of each ("old_s", "new_s": best; "old_median_s", "new_median_s"), and their ratio.
``--threads`` sets numba's thread count (default: all, as ``geroconvert run``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the command line sets it (cli.quiet_openmp)


def assay_points(config: str):
    """(sim, time_h) at every assay time of a run of ``config``: a fresh Simulation holding a
    copy of the run's cells and environment then, for the assay functions to take."""
    from geroconvert.config import load_config
    from geroconvert.core import assays
    from geroconvert.core.engine import Simulation

    params = load_config(config).params
    points = []
    real = assays.rpp_assay

    def keep(sim, time_h):
        copy = Simulation(sim.params, seed=sim.seed, state=sim.state.copy(), record=False)
        copy.environment = sim.environment
        points.append((copy, time_h))
        return real(sim, time_h)

    assays.rpp_assay = keep
    try:
        Simulation(params).run()
    finally:
        assays.rpp_assay = real
    return points


def same_row(a, b) -> bool:
    """Equal rows; a row of no cells has rpp NaN, which equals nothing."""
    return a == b or (a[2] == b[2] == 0 and a[0] == b[0])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="numba threads (default: all)")
    parser.add_argument("--config", default="configs/ht_p21.toml")
    args = parser.parse_args(argv)

    import numba

    from geroconvert.core.assays import _rpp_assay_by_simulation, rpp_assay

    if args.threads:
        numba.set_num_threads(args.threads)
    points = assay_points(args.config)
    ways = {"old": _rpp_assay_by_simulation, "new": rpp_assay}
    times: dict[str, list[list[float]]] = {name: [[] for _ in points] for name in ways}
    for sim, time_h in points:  # compile / load every kernel first
        ways["old"](sim, time_h)
        ways["new"](sim, time_h)
    for _ in range(args.rounds):
        for j, (sim, time_h) in enumerate(points):
            rows = {}
            for name, way in ways.items():
                started = time.perf_counter()
                rows[name] = way(sim, time_h)
                times[name][j].append(time.perf_counter() - started)
            if not same_row(rows["old"], rows["new"]):
                raise SystemExit(f"the two ways differ at t = {time_h} h: {rows['old']} != {rows['new']}")
    best = {name: [min(t) for t in per_point] for name, per_point in times.items()}
    median = {name: [statistics.median(t) for t in per_point] for name, per_point in times.items()}
    mean_best = {name: statistics.fmean(values) for name, values in best.items()}
    mean_median = {name: statistics.fmean(values) for name, values in median.items()}
    print(
        json.dumps(
            {
                "benchmark": "rpp_assay",
                "config": args.config,
                "assays": len(points),
                "numba_threads": numba.get_num_threads(),
                "rounds": args.rounds,
                "old_s": round(mean_best["old"], 5),
                "new_s": round(mean_best["new"], 5),
                "ratio_old_over_new": round(mean_best["old"] / mean_best["new"], 2),
                "old_median_s": round(mean_median["old"], 5),
                "new_median_s": round(mean_median["new"], 5),
                "ratio_median": round(mean_median["old"] / mean_median["new"], 2),
                "per_assay": [
                    {
                        "time_h": time_h,
                        "old_s": round(best["old"][j], 5),
                        "new_s": round(best["new"][j], 5),
                        "ratio": round(best["old"][j] / best["new"][j], 2),
                    }
                    for j, (_, time_h) in enumerate(points)
                ],
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
