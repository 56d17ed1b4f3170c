"""Small lattices under load: recording on one thread (as stepping does) against recording
on every thread, in one process, with the machine's cores kept busy by spinning processes.

Issue 14 measured a 64 x 64 run spending 90% of its time in recording on a busy machine:
``tally`` and ``in_cycle_by_kind`` ran on all numba threads while ``step()`` ran on one, and
waking threads that share their cores with other work costs milliseconds per call.

    python benchmarks/small_lattice_load.py [--rounds 5] [--busy N]

Prints one JSON object: the best-of-rounds seconds of a 64 x 64 HT-p21 run (record every
hour, no RPP assay) with recording on one thread ("one_thread_s") and with recording on
all threads ("all_threads_s", the code before), and their ratio.  The two alternate
(ABAB...), so load changes hit both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import time


def spin() -> None:
    while True:
        pass


def run_once(all_thread_recording: bool) -> float:
    from geroconvert.core.engine import Simulation
    from geroconvert.parameters import paramsets
    from geroconvert.parameters.models import Params

    params = Params(cells=paramsets.cells("ht_p21", {})).with_changes(
        simulation={"width": 64, "height": 64, "hours": 96.0, "initial_density": 0.25},
        environment={"inducer": 1.0},
        assays={"rpp_times_h": ()},
    )
    sim = Simulation(params)
    if all_thread_recording:  # the code before: only step() drops to one thread
        sim._kernel_threads = contextlib.nullcontext  # type: ignore[method-assign]
        original_step = sim._step

        def step_on_one_thread() -> None:
            import numba

            threads = numba.get_num_threads()
            numba.set_num_threads(1)
            try:
                original_step()
            finally:
                numba.set_num_threads(threads)

        sim.step = step_on_one_thread  # type: ignore[method-assign]
    started = time.perf_counter()
    sim.run()
    return time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2, help="spinning processes (default: cores)")
    args = parser.parse_args(argv)
    run_once(False)  # compile / load the kernels first
    run_once(True)
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for process in spinners:
        process.start()
    try:
        times: dict[str, list[float]] = {"one_thread_s": [], "all_threads_s": []}
        for _ in range(args.rounds):
            times["one_thread_s"].append(run_once(False))
            times["all_threads_s"].append(run_once(True))
    finally:
        for process in spinners:
            process.terminate()
    best = {name: min(values) for name, values in times.items()}
    print(
        json.dumps(
            {
                "benchmark": "small_lattice_load",
                "lattice": "64x64, 96 h, record every 1 h",
                "busy_processes": args.busy,
                "rounds": args.rounds,
                **{name: round(value, 4) for name, value in best.items()},
                "ratio_all_over_one": round(best["all_threads_s"] / best["one_thread_s"], 2),
                "median_one_thread_s": round(sorted(times["one_thread_s"])[args.rounds // 2], 4),
                "median_all_threads_s": round(sorted(times["all_threads_s"])[args.rounds // 2], 4),
            }
        )
    )


if __name__ == "__main__":
    main()
