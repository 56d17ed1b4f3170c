"""Every benchmark in one run: prints one JSON object per measurement, writes results.json.

    python benchmarks/run_all.py [--quick] [--out benchmarks/results.json]

Measurements (issue 7):
  throughput   dish, every fate active, 1e3..1e7 cells, 1 and 2 threads (benchmarks/throughput.py)
  mesa         the same rules as plain Mesa agents vs the numba core at 1e4 and 1e5 cells
  bandwidth    this machine's copy bandwidth and the core's achieved state bytes/s
  threads      speed-up from 1 to 2 threads at 1e6 cells
  user         `geroconvert run configs/ht_p21.toml` with a cold and a warm numba cache,
               `make demo`-equivalent wall time, sweep runs per minute with 1 and 2 workers
  profile      share of one step spent in each kernel (1e6 cells, 2 threads)
  skin         80 years of a 1 cm epidermis cross-section; the split-hand trial at its
               default cohort (issue 5: under 2 and 10 minutes)

Every figure runs in a fresh process so thread counts and caches do not leak between them.
Run it on an otherwise idle machine: another busy process halves every number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def emit(record: dict, sink: list) -> None:
    record.setdefault("machine", f"{platform.machine()}, {os.cpu_count()} cores")
    print(json.dumps(record), flush=True)
    sink.append(record)


def in_fresh_process(code: str, env: dict | None = None, timeout: float = 1800) -> dict:
    """Run ``code`` (which prints one JSON line last) in a new interpreter."""
    done = subprocess.run(
        [PY, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def throughput(cells: int, threads: int, steps: int = 0) -> dict:
    args = f"['--cells', '{cells}', '--threads', '{threads}'" + (f", '--steps', '{steps}'" if steps else "") + "]"
    code = (
        "import sys, io, contextlib, json; sys.path.insert(0, 'benchmarks'); import throughput; "
        f"buf = io.StringIO()\nwith contextlib.redirect_stdout(buf): throughput.main({args})\n"
        "print(buf.getvalue().strip().splitlines()[-1])"
    )
    return in_fresh_process(code)


MESA_CODE = """
import json, math, time
from geroconvert.parameters.models import Params
from geroconvert.core.engine import Simulation
from geroconvert.oracle.mesa_agents import MesaCellModel
cells = {cells}
side = int(math.ceil(math.sqrt(cells / 0.8)))
params = Params().with_changes(simulation=dict(width=side, height=side, initial_density=0.8),
                               environment=dict(damage_rate_per_h=0.005, rapamycin_nM=1.0),
                               cells=dict(clearance_beta_per_h=0.01, death_per_h=0.001, p21_tau_h=48.0))
sim = Simulation(params, seed=1)
for _ in range(3): sim.step()
n = sim.n_cells
t = time.perf_counter(); steps = 0
while time.perf_counter() - t < 2.0 or steps < 20:
    sim.step(); steps += 1
core = steps / (time.perf_counter() - t)
model = MesaCellModel(params, seed=1)
model.step()
t = time.perf_counter(); mesa_steps = 0
while time.perf_counter() - t < {mesa_seconds} or mesa_steps < 2:
    model.step(); mesa_steps += 1
mesa = mesa_steps / (time.perf_counter() - t)
print(json.dumps(dict(benchmark="mesa", cells=n, core_steps_per_s=core, mesa_steps_per_s=mesa,
                      core_cell_updates_per_s=core * n, mesa_cell_updates_per_s=mesa * n, ratio=core / mesa,
                      target_ratio_at_1e5=300)))
"""

BANDWIDTH_CODE = """
import json, time, numpy as np
a = np.ones(64 * 2**20 // 8); b = np.empty_like(a)
best = 0.0
for _ in range(10):
    t = time.perf_counter(); np.copyto(b, a); dt = time.perf_counter() - t
    best = max(best, 2 * a.nbytes / dt)  # read + write
print(json.dumps(dict(benchmark="copy_bandwidth", bytes_per_s=best)))
"""

PROFILE_CODE = """
import json, sys, time, numba
sys.path.insert(0, 'benchmarks')
from throughput import build
from geroconvert.core.kernels.cells import update_cells
from geroconvert.core.kernels.divisions import apply_pending
numba.set_num_threads(2)
sim = build(1_000_000, 1)
for _ in range(60): sim.step()
s = sim.state
parts = dict(inputs=0.0, sasp_diffusion=0.0, cell_rules=0.0, ordered_pass=0.0, other=0.0)
n = 30
for _ in range(n):
    t0 = time.perf_counter(); p, s6k, e4bp, damage = sim.step_inputs(); t1 = time.perf_counter()
    sim._diffuse_sasp(); t2 = time.perf_counter()
    update_cells(sim.geometry, s.plane, s.width, s.rows, s.cell_arrays(), sim.k, p, s6k, e4bp, damage, sim.seed,
                 sim.step_index)
    t3 = time.perf_counter()
    s.next_uid = apply_pending(sim.geometry, s.plane, s.width, s.rows, sim.basal_row, s.cell_arrays(), sim.k, sim.seed,
                               sim.step_index, s.next_uid, sim.events)
    t4 = time.perf_counter()
    sim.step_index += 1
    parts['inputs'] += t1 - t0; parts['sasp_diffusion'] += t2 - t1; parts['cell_rules'] += t3 - t2
    parts['ordered_pass'] += t4 - t3
total = sum(parts.values())
print(json.dumps(dict(benchmark="profile", cells=sim.n_cells, threads=2, ms_per_step=1000 * total / n,
                      shares={k: round(v / total, 3) for k, v in parts.items() if v > 0})))
"""


def timed(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, env={**os.environ, **(env or {})})
    return time.perf_counter() - start


def user_feel(quick: bool) -> list[dict]:
    out = []
    gc = [PY, "-m", "geroconvert"]
    scratch = Path(tempfile.mkdtemp())
    cache = scratch / "numba-cache"
    run = gc + ["run", "configs/ht_p21.toml", "-o", str(scratch / "x.h5"), "--overwrite", "-q"]
    cold = timed(run, {"NUMBA_CACHE_DIR": str(cache)})
    warm = min(timed(run, {"NUMBA_CACHE_DIR": str(cache)}) for _ in range(3))
    out.append(dict(benchmark="run_ht_p21", cold_cache_s=cold, warm_cache_s=warm, target_warm_s=2.0))
    sweep = ROOT / "configs/rapamycin_dose_sweep.toml"
    demo = timed(gc + ["sweep", str(sweep), "-o", str(scratch / "demo.h5"), "--overwrite", "-q"])
    demo += timed(gc + ["report", str(scratch / "demo.h5"), "-o", str(scratch / "demo")])
    out.append(
        dict(
            benchmark="make_demo_equivalent",
            wall_s=demo,
            note="sweep + report of configs/rapamycin_dose_sweep.toml with a warm cache (no venv set-up)",
        )
    )
    # 7 doses x 8 replicates: enough runs that each worker's start-up (imports, loading the
    # numba cache, ~1 s) weighs as little as in a real sweep
    small = ["--set", "sweep.replicates=8"] + (["--set", "simulation.hours=168"] if quick else [])
    rates = {}
    for workers in (1, 2):
        wall = timed(
            gc
            + [
                "sweep",
                str(sweep),
                "-o",
                str(scratch / f"w{workers}.h5"),
                "--overwrite",
                "-q",
                "--workers",
                str(workers),
                *small,
            ]
        )
        rates[workers] = 7 * 8 / wall * 60.0
    out.append(
        dict(
            benchmark="sweep_runs_per_minute",
            workers_1=rates[1],
            workers_2=rates[2],
            speedup=rates[2] / rates[1],
            target_speedup=1.8,
        )
    )
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def skin(quick: bool) -> list[dict]:
    """Issue 5's speed targets, timed as a user runs them (warm numba cache)."""
    gc = [PY, "-m", "geroconvert"]
    scratch = Path(tempfile.mkdtemp())
    years = 8 if quick else 80
    aging = timed(
        gc
        + [
            "run",
            "configs/epidermis_aging.toml",
            "-o",
            str(scratch / "a.h5"),
            "--overwrite",
            "-q",
            "--set",
            f"simulation.hours={years * 8766.0}",
        ]
    )
    subjects = ["--set", "trial.subjects=2"] if quick else []
    trial = timed(gc + ["trial", "configs/split_hand_trial.toml", "-o", str(scratch / "trial"), *subjects])
    shutil.rmtree(scratch, ignore_errors=True)
    return [
        dict(benchmark="skin_aging_1cm", years=years, wall_s=aging, target_s=120.0),
        dict(benchmark="split_hand_trial", subjects=2 if quick else 12, wall_s=trial, target_s=600.0),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmark; write results.json.")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, not the figures)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    args = parser.parse_args(argv)
    results: list[dict] = []
    sizes = (1_000, 10_000, 100_000, 1_000_000) if args.quick else (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
    per_update = {}
    for cells in sizes:
        for threads in (1, 2):
            record = throughput(cells, threads, steps=20 if cells >= 10_000_000 else 0)
            emit(record, results)
            if threads == 2:
                per_update[cells] = 1.0 / record["cell_updates_per_s"]
    big = max(sizes)
    emit(
        dict(
            benchmark="linear_cost",
            time_per_update_ratio=per_update[big] / per_update[100_000],
            between=f"{big:g} and 1e5 cells",
            target_max=1.5,
        ),
        results,
    )
    one = next(
        r for r in results if r.get("cells", 0) >= 900_000 and r.get("threads") == 1 and r["benchmark"] == "throughput"
    )
    two = next(
        r for r in results if r.get("cells", 0) >= 900_000 and r.get("threads") == 2 and r["benchmark"] == "throughput"
    )
    emit(
        dict(
            benchmark="threads",
            cells=two["cells"],
            speedup_1_to_2=two["cell_updates_per_s"] / one["cell_updates_per_s"],
            target=1.7,
            cell_updates_per_s_2_threads=two["cell_updates_per_s"],
            target_cell_updates_per_s=1e8,
            bytes_per_cell=two["bytes_per_cell"],
            target_bytes_per_cell=48,
        ),
        results,
    )
    bandwidth = in_fresh_process(BANDWIDTH_CODE)
    achieved = two["cell_updates_per_s"] * two["bytes_per_cell"] * 2  # each state byte read and written
    emit(
        dict(
            bandwidth,
            core_state_bytes_per_s=achieved,
            fraction_of_copy_bandwidth=achieved / bandwidth["bytes_per_s"],
            note="upper bound: assumes every state byte read and written per step",
        ),
        results,
    )
    for cells, seconds in ((10_000, 5), (100_000, 20)):
        emit(in_fresh_process(MESA_CODE.format(cells=cells, mesa_seconds=seconds)), results)
    emit(in_fresh_process(PROFILE_CODE), results)
    for record in user_feel(args.quick) + skin(args.quick):
        emit(record, results)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
