"""A 10,000-run sweep on a local Dask cluster: the driver's memory, and a killed worker (issue 14).

    python benchmarks/dask_scale.py [--runs 10000] [--kill-after-s 10]

Starts a real ``dask scheduler`` and ``dask worker --nworkers 2 --nthreads 1`` on loopback,
runs ``geroconvert sweep --scheduler ADDRESS`` of ``--runs`` tiny runs (a 4 x 4 dish for
2 h, no RPP assay) in a fresh process, kills one worker process (SIGKILL) after
``--kill-after-s`` seconds, and prints one JSON object:

- ``driver_peak_rss_mb``: the sweep process's peak resident memory (``ru_maxrss``);
- ``wall_s``, ``per_run_ms``; ``runs_in_archive`` and ``lost_runs`` (planned minus archived);
- ``worker_killed``: whether a worker process was found and killed.

The issue's target: driver memory under 500 MB at 10,000 runs, and no run lost.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sweep_scale import config_text  # the same tiny runs (benchmarks/ is on the path of a script run from it)

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def start_cluster(folder: Path) -> tuple[str, list[subprocess.Popen]]:
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        raise SystemExit("the dask command is not installed (pip install 'geroconvert[cluster]')")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True, "cwd": folder}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", "127.0.0.1:0"], **quiet
    )
    workers = subprocess.Popen(
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1"]
        + ["--dashboard-address", "127.0.0.1:0"],
        **quiet,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    time.sleep(3)  # the workers register
    return address, [scheduler, workers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--kill-after-s", type=float, default=10.0)
    args = parser.parse_args()
    import h5py

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        config = folder / "tiny.toml"
        config.write_text(config_text(args.runs), encoding="utf-8")
        out = folder / "tiny.h5"
        address, cluster = start_cluster(folder)
        try:
            started = time.perf_counter()
            sweep = subprocess.Popen(
                [sys.executable, "-m", "geroconvert", "sweep", str(config), "-o", str(out), "--quiet"]
                + ["--scheduler", address],
                cwd=ROOT,
                stderr=subprocess.PIPE,
                text=True,
            )
            killed = False
            while sweep.poll() is None:
                if not killed and time.perf_counter() - started > args.kill_after_s:
                    # the worker processes are the nannies' children: the leaves of the tree
                    leaves = [pid for pid in descendants(cluster[1].pid) if not descendants(pid)]
                    if leaves:
                        os.kill(leaves[0], signal.SIGKILL)
                        killed = True
                time.sleep(0.2)
            wall = time.perf_counter() - started
            stderr = sweep.stderr.read() if sweep.stderr else ""
            peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the sweep: the one child reaped
        finally:
            for process in cluster:
                os.killpg(process.pid, signal.SIGKILL)
        with h5py.File(out, "r") as f:
            archived = int(f["runs/run"].shape[0])
    print(
        json.dumps(
            {
                "benchmark": "dask_scale",
                "runs": args.runs,
                "exit_code": sweep.returncode,
                "stderr": stderr.strip()[-300:],
                "wall_s": round(wall, 2),
                "per_run_ms": round(1e3 * wall / args.runs, 3),
                "driver_peak_rss_mb": round(peak_kb / 1024, 1),
                "worker_killed": killed,
                "runs_in_archive": archived,
                "lost_runs": args.runs - archived,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
