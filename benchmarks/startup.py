"""Where the wall time of a warm `geroconvert run configs/ht_p21.toml` goes (issue 14, item 8).

    python benchmarks/startup.py [--rounds 5] [--cold-rounds 1]

Prints one JSON object, each figure the best of ``--rounds`` fresh processes:

- ``command_s``: the whole command as a user runs it (interpreter start to exit);
- ``interpreter_s``: ``python -c pass``, the floor no change to geroconvert can lower;
- ``imports_s``: importing what the command imports before it runs (the CLI, the config
  layer with pydantic, the engine with numba, the archive with h5py);
- ``kernel_load_s``: the run's ``compile_s``, numba loading the cached kernels (which also
  makes numba import its own type registries);
- ``model_s``: the run's ``wall_s``, the model itself with its eight RPP assays;
- ``numba_import_s``: ``python -c "import numba"``, the floor of any run that uses a kernel.

Beside them, the best of ``--cold-rounds`` runs with an empty numba cache (``NUMBA_CACHE_DIR``
a fresh folder), what a first run after installing or changing a kernel costs:
``cold_command_s`` and its ``cold_compile_s`` (compiling every kernel the run calls).

The issue's target is ``command_s`` under 0.5 s; the parts say what stands in the way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "ht_p21.toml"
IMPORTS = (
    "import time; t = time.perf_counter();"
    "import geroconvert.interfaces.cli, geroconvert.config, geroconvert.core.engine, geroconvert.archive.hdf5;"
    "print(time.perf_counter() - t)"
)
PARTS = (
    "import json, sys, h5py;"
    "f = h5py.File(sys.argv[1], 'r'); s = f['summary'];"
    "print(json.dumps({'compile_s': float(s['compile_s'][0]), 'wall_s': float(s['wall_s'][0])}))"
)


def seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
    return time.perf_counter() - started


def parts_of(archive: Path) -> dict[str, float]:
    return json.loads(subprocess.run([sys.executable, "-c", PARTS, str(archive)], capture_output=True).stdout)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold-rounds", type=int, default=1, help="runs with an empty numba cache (~30 s each)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.h5"
        run = [sys.executable, "-m", "geroconvert", "run", str(CONFIG), "-o", str(out), "--overwrite", "--quiet"]
        seconds(run)  # warm numba's cache
        command, interpreter, imports, kernel_load, model, numba_import = [], [], [], [], [], []
        for _ in range(args.rounds):
            command.append(seconds(run))
            parts = parts_of(out)
            kernel_load.append(parts["compile_s"])
            model.append(parts["wall_s"])
            interpreter.append(seconds([sys.executable, "-c", "pass"]))
            imports.append(float(subprocess.run([sys.executable, "-c", IMPORTS], capture_output=True).stdout))
            numba_import.append(seconds([sys.executable, "-c", "import numba"]))
        cold_command, cold_compile = [], []
        for i in range(args.cold_rounds):
            cache = Path(folder) / f"numba-cold-{i}"  # empty: every kernel the run calls is compiled
            cold_command.append(seconds(run, env={**os.environ, "NUMBA_CACHE_DIR": str(cache)}))
            cold_compile.append(parts_of(out)["compile_s"])
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "config": "configs/ht_p21.toml",
                "rounds": args.rounds,
                "command_s": round(min(command), 3),
                "interpreter_s": round(min(interpreter), 3),
                "imports_s": round(min(imports), 3),
                "kernel_load_s": round(min(kernel_load), 3),
                "model_s": round(min(model), 3),
                "numba_import_s": round(min(numba_import), 3),
                "cold_rounds": args.cold_rounds,
                "cold_command_s": round(min(cold_command), 3) if cold_command else None,
                "cold_compile_s": round(min(cold_compile), 3) if cold_compile else None,
                "target_command_s": 0.5,
            }
        )
    )


if __name__ == "__main__":
    main()
