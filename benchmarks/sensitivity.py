"""Sensitivity studies on the HT-p21 protocol: their wall time, and the cost of the sensitivity layer (issue 15).

    python benchmarks/sensitivity.py [--sobol-samples 512] [--compare-samples 64] [--skip-dask]

Each study is a `geroconvert sensitivity` command in a fresh process on 2 local workers;
prints one JSON object:

- ``morris``: ``configs/sensitivity_ht_p21.toml`` as shipped (20 trajectories over 10
  parameters, two arms, two replicates): runs and wall time (the issue's target: < 10 min);
- ``sobol``: ``configs/sensitivity_sobol_ht_p21.toml`` at N = ``--sobol-samples`` over 8
  parameters with second-order terms (N = 512: 9,216 runs): runs and wall time;
- ``layer``: the same Sobol study at N = ``--compare-samples``, once as a study and once
  as a plain ``geroconvert sweep`` of exactly its points (a ``[sweep.zip]``), in the same
  run: ``throughput_ratio`` = study runs per second / sweep runs per second (target
  >= 0.8); and, unless ``--skip-dask``, the study on a local Dask cluster (a scheduler and
  2 single-threaded workers on loopback): ``dask_speedup`` = local wall / Dask wall.
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
MORRIS = ROOT / "configs" / "sensitivity_ht_p21.toml"
SOBOL = ROOT / "configs" / "sensitivity_sobol_ht_p21.toml"


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def study(config: Path, out: Path, *extra: str) -> float:
    command = [sys.executable, "-m", "geroconvert", "sensitivity", str(config), "-o", str(out), "--quiet"]
    return timed(command + ["--overwrite", *extra])


def runs_in(path: Path) -> int:
    import h5py

    with h5py.File(path, "r") as f:
        return int(f["runs/run"].shape[0])


def plain_sweep_of(config: Path, samples: int, folder: Path) -> Path:
    """A config whose [sweep.zip] holds exactly the study's points (one arm, one replicate)."""
    from geroconvert.config import dumps_toml, load_config
    from geroconvert.studies.sensitivity import distinct_points, plan_study

    mapping = load_config(config, overrides=[f"sensitivity.samples={samples}"]).mapping
    design, _ = plan_study(mapping)
    points = distinct_points(design)
    zipped = {path: [p[path] for p in points] for path in design.parameters}
    sweep = {k: v for k, v in mapping.items() if k not in ("sensitivity", "extends")}
    sweep["sweep"] = {"replicates": design.replicates, "seed": design.seed, "zip": zipped}
    target = folder / "plain_sweep.toml"
    target.write_text(dumps_toml(sweep), encoding="utf-8")
    return target


def layer(samples: int, folder: Path, skip_dask: bool) -> dict:
    sets = ["--set", f"sensitivity.samples={samples}", "--workers", "2"]
    study_s = study(SOBOL, folder / "study.h5", *sets)
    n = runs_in(folder / "study.h5")
    sweep_config = plain_sweep_of(SOBOL, samples, folder)
    command = [sys.executable, "-m", "geroconvert", "sweep", str(sweep_config), "-o", str(folder / "sweep.h5")]
    sweep_s = timed([*command, "--quiet", "--overwrite", "--workers", "2"])
    out = {
        "samples": samples,
        "runs": n,
        "study_s": round(study_s, 2),
        "sweep_s": round(sweep_s, 2),
        "throughput_ratio": round(sweep_s / study_s, 3),
    }
    if not skip_dask:
        from dask_scale import start_cluster  # benchmarks/ is on the path of a script run from it

        address, cluster = start_cluster(folder)
        try:
            dask_s = study(SOBOL, folder / "dask.h5", "--set", f"sensitivity.samples={samples}", "--scheduler", address)
        finally:
            import os
            import signal

            for process in cluster:
                os.killpg(process.pid, signal.SIGKILL)
        out["dask_s"] = round(dask_s, 2)
        out["dask_speedup"] = round(study_s / dask_s, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sobol-samples", type=int, default=512)
    parser.add_argument("--compare-samples", type=int, default=64)
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-sobol", action="store_true", help="only the Morris study and the layer comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        result: dict = {"benchmark": "sensitivity"}
        morris_s = study(MORRIS, folder / "morris.h5", "--workers", "2")
        result["morris"] = {"runs": runs_in(folder / "morris.h5"), "wall_s": round(morris_s, 2)}
        if not args.skip_sobol:
            sobol_s = study(
                SOBOL, folder / "sobol.h5", "--workers", "2", "--set", f"sensitivity.samples={args.sobol_samples}"
            )
            result["sobol"] = {
                "samples": args.sobol_samples,
                "runs": runs_in(folder / "sobol.h5"),
                "wall_s": round(sobol_s, 2),
            }
        result["layer"] = layer(args.compare_samples, folder, args.skip_dask)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
