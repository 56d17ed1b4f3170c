"""What a sweep costs per run as it grows (issue 14: studies at scale).

    python benchmarks/sweep_scale.py [--sizes 100 20000] [--workers 2] [--rounds 1]

Each size is a sweep of that many tiny runs (a 4 x 4 dish for 2 h, no RPP assay), run as
a user runs it (``geroconvert sweep`` in a fresh process, local processes).  Prints one
JSON object with, per size:

- ``wall_s``: the whole command; ``per_run_ms``: ``wall_s`` / runs;
- ``model_ms``: the mean of the runs' own ``wall_s`` (the model work, set-up included);
- ``overhead_per_run_ms``: worker time per run beyond the model work,
  ``wall_s x workers / runs - model_ms`` (start-up spread over the runs included);
- ``bytes_per_run``: the archive's size / runs;
- ``info_s`` and ``report_s``: ``geroconvert info`` and ``geroconvert report`` on it.

and, measured in the same run, ``marginal_per_run_ms`` (the slope of ``wall_s`` between the
smallest and the largest size, which start-up does not enter) and
``per_run_ratio_largest_to_smallest`` (``per_run_ms`` of the largest size over that of the
smallest: below 1 when start-up dominates the small sweep).  The issue's
targets: overhead per run at most 10 ms, per-run time at 20,000 runs within 1.2x of that
at 100, at most 4 KB per tiny run, ``info`` and ``report`` under 10 s at 20,000 runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """extends = "{base}"
[simulation]
width = 4
height = 4
hours = 2
[assays]
rpp_times_h = []
[sweep]
replicates = 1
seed = 0
[sweep.grid]
"environment.rapamycin_nM" = {{ linspace = [0, 1000, {n_doses}] }}
"environment.pan_mtor_nM" = {{ linspace = [0, 1, {n_pan}] }}
"""


def config_text(n: int) -> str:
    """``n`` tiny runs as a grid of at most 10,000 doses (the limit of one axis) x pan-mTOR levels."""
    n_pan = next(k for k in range(1, n + 1) if n % k == 0 and n // k <= 10_000)
    return CONFIG.format(base=ROOT / "configs" / "ht_p21.toml", n_doses=n // n_pan, n_pan=n_pan)


def geroconvert(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "geroconvert", *args], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def one_size(n: int, workers: int, scratch: Path) -> dict:
    import h5py

    config = scratch / f"tiny_{n}.toml"
    config.write_text(config_text(n), encoding="utf-8")
    out = scratch / f"tiny_{n}.h5"
    wall = geroconvert("sweep", str(config), "-o", str(out), "--overwrite", "--quiet", "--workers", str(workers))
    with h5py.File(out, "r") as f:
        model_s = float(f["runs/wall_s"][()].mean())
        assert f["runs/run"].shape == (n,), "the archive must hold every run"
    info = geroconvert("info", str(out))
    report = geroconvert("report", str(out), "-o", str(scratch / f"report_{n}"), "--overwrite")
    return {
        "runs": n,
        "wall_s": round(wall, 3),
        "per_run_ms": round(1e3 * wall / n, 3),
        "model_ms": round(1e3 * model_s, 3),
        "overhead_per_run_ms": round(1e3 * (wall * workers / n - model_s), 3),
        "bytes_per_run": round(out.stat().st_size / n),
        "info_s": round(info, 3),
        "report_s": round(report, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 20000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="best of this many sweeps per size")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        start_up = geroconvert("info", "--help")  # the interpreter and the CLI, no model
        for n in sizes:
            rounds = [one_size(n, args.workers, Path(scratch)) for _ in range(args.rounds)]
            results.append(min(rounds, key=lambda r: r["wall_s"]))
    small, large = results[0], results[-1]
    marginal = (large["wall_s"] - small["wall_s"]) / max(1, large["runs"] - small["runs"])
    print(
        json.dumps(
            {
                "benchmark": "sweep_scale",
                "workers": args.workers,
                "cli_start_s": round(start_up, 3),
                "sizes": results,
                "marginal_per_run_ms": round(1e3 * marginal, 3),
                "per_run_ratio_largest_to_smallest": round(large["per_run_ms"] / small["per_run_ms"], 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
