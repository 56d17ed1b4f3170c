"""What passing the cell arrays to the kernels as one tuple costs, against one argument each.

    python benchmarks/kernel_arguments.py [--base HEAD | --base-src DIR] [--new-src DIR]
                                          [--cells 1000000 1000] [--geometry dish epidermis]
                                          [--rounds 3] [--threads 2] [--no-dispatch]

Prints one JSON object per measurement:
  dispatch     the per-call cost of calling a trivial kernel with the 15 cell arrays as
               positional arguments, as one tuple and as one named tuple (in this process)
  throughput   benchmarks/throughput.py on the package at git revision --base (checked out
               in a temporary worktree, or an existing ``src`` folder given as --base-src)
               and on this working tree (or the ``src`` folder --new-src), in alternating
               fresh processes (ABBA order), so both see the same load on a shared machine;
               medians over the rounds and the ratio new/old of cell updates per second
               (1.0 = the same speed).  The epidermis exercises the ordered pass's pushes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dispatch(calls: int = 20_000) -> dict:
    """Microseconds per call of a kernel that reads one element, by how the arrays are passed."""
    import numpy as np
    from numba import njit

    from geroconvert.core.state import CELL_FIELDS

    arrays = [np.zeros(8, dtype) for dtype in CELL_FIELDS.values()]
    named = namedtuple("Named", list(CELL_FIELDS))(*arrays)
    positional = njit(lambda *args: args[0][0])
    one_tuple = njit(lambda arrays: arrays[0][0])
    ways = {
        "positional": lambda: positional(*arrays),
        "tuple": lambda: one_tuple(tuple(arrays)),
        "named_tuple": lambda: one_tuple(named),
    }
    result = {}
    for name, call in ways.items():
        call()  # compile
        blocks = []
        for _ in range(5):  # the best of five blocks: the least disturbed by the rest of the machine
            start = time.perf_counter()
            for _ in range(calls):
                call()
            blocks.append((time.perf_counter() - start) / calls)
        result[f"{name}_us"] = round(min(blocks) * 1e6, 3)
    return {"benchmark": "dispatch", "arrays": len(arrays), **result}


@contextlib.contextmanager
def base_checkout(revision: str, src: str | None):
    """The ``src`` folder of the baseline: ``src`` as given, or a temporary worktree of ``revision``."""
    if src:
        yield Path(src)
        return
    folder = Path(tempfile.mkdtemp(prefix="gc_base_")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision], check=True, capture_output=True
    )
    try:
        yield folder / "src"
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=True, capture_output=True
        )


def throughput_run(src: Path, cells: int, geometry: str, threads: int) -> float:
    """Cell updates per second of one fresh process running that tree's own throughput.py
    (so a baseline from before a change of the package's layout runs too), importing
    geroconvert from ``src``."""
    script = src.parent / "benchmarks" / "throughput.py"
    command = [
        sys.executable,
        str(script if script.is_file() else ROOT / "benchmarks" / "throughput.py"),
        "--cells",
        str(cells),
        "--threads",
        str(threads),
    ]
    if geometry != "dish":  # older throughput.py scripts know only the dish
        command += ["--geometry", geometry]
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(src)}
    )
    return json.loads(done.stdout.strip().splitlines()[-1])["cell_updates_per_s"]


def compare(sides: dict[str, Path], cells: int, geometry: str, threads: int, rounds: int) -> dict:
    runs: dict[str, list[float]] = {"old": [], "new": []}
    for round_ in range(rounds):
        # ABBA: whichever side runs second in a round runs first in the next, so a drift in the
        # machine's load between the two halves of a round does not favour one side
        order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
        for side in order:
            runs[side].append(throughput_run(sides[side], cells, geometry, threads))
    old, new = statistics.median(runs["old"]), statistics.median(runs["new"])
    return {
        "benchmark": "throughput_new_vs_old",
        "geometry": geometry,
        "cells_requested": cells,
        "threads": threads,
        "rounds": rounds,
        "old_median": old,
        "new_median": new,
        "ratio_new_old": new / old,
        "old_runs": runs["old"],
        "new_runs": runs["new"],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision of the baseline (default: HEAD)")
    parser.add_argument("--base-src", help="the baseline's src folder, instead of checking out --base")
    parser.add_argument(
        "--new-src",
        default=str(ROOT / "src"),
        help="the src folder to measure against it (default: this working tree's)",
    )
    parser.add_argument("--cells", type=int, nargs="+", default=[1_000_000, 1_000])
    parser.add_argument("--geometry", nargs="+", choices=("dish", "epidermis"), default=["dish"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-dispatch", action="store_true", help="skip the per-call measurement")
    args = parser.parse_args(argv)
    if not args.no_dispatch:
        print(json.dumps(dispatch()), flush=True)
    with base_checkout(args.base, args.base_src) as base_src:
        for geometry in args.geometry:
            for cells in args.cells:
                record = compare(
                    {"old": base_src, "new": Path(args.new_src)}, cells, geometry, args.threads, args.rounds
                )
                print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
