"""Run every config in a folder into archives, or compare two such folders result by result.

A refactoring must leave every result bit-identical.  This script is how that is shown:

    python scripts/archive_configs.py write before/        # on the old commit
    python scripts/archive_configs.py write after/         # on the new commit
    python scripts/archive_configs.py compare before/ after/

``write`` runs each config the way its header says it is meant to be run: a config with a
``[sweep]`` section through ``geroconvert sweep``, one with a ``[trial]`` section through
``geroconvert trial`` (a folder with ``subjects.csv`` and ``summary.txt``), any other through
``geroconvert run``.  It uses ``python -m geroconvert`` of the interpreter running it, so
``PYTHONPATH=/path/to/old/src python scripts/archive_configs.py write before/`` runs an
older checkout with the same environment.

``compare`` walks both archives and requires every dataset and attribute to be equal bit
for bit (NaN equal to NaN), except what is not a result: provenance on the root group,
creation times, wall-clock times, the software sessions and the command line.  Trial
folders compare their text files.  Prints one line per config and exits 1 if anything
differs.

Archives of an older schema are first converted with ``geroconvert upgrade`` (of the
interpreter running this script), so results are compared across a change of layout.
Series and summary columns that only the older side holds are no difference if every
value is 0 (schema 2 leaves out what a geometry cannot hold, such as stem cells in a
dish).  Objects only the newer side holds are readouts added since, and lines only its
resolved config holds are parameters added since: both are listed as notes, since they
cannot change a result both sides hold (a new parameter's default must leave every old
result bit-identical, which the comparison of everything else shows).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import h5py
import numpy as np

# attributes and summary columns that describe the run's circumstances, not its result
VOLATILE = {"created_utc", "wall_s", "compile_s", "command"}
# the software that wrote a run (per-run provenance, recorded since issue 13): not a result
VOLATILE |= {"package_version", "git_commit", "git_dirty", "python_version", "numpy_version", "numba_version",
             "h5py_version", "host", "platform"}  # fmt: skip
# schema 2 keeps the software of each writing session in /sessions, and /runs/session says which
VOLATILE |= {"session", "sessions", "converted_utc", "converted_by", "converted_from_schema"}
# what a dataset is and its units: compared, but a change is a note, not a changed result
DESCRIPTIONS = {"units", "long_name"}
# dimension-scale bookkeeping: object references, compared through the names they point to
REFERENCES = {"DIMENSION_LIST", "REFERENCE_LIST"}


def config_kind(path: Path) -> str:
    """``sweep``, ``trial`` or ``run``: how the config is meant to be run (after ``extends``)."""
    mapping = tomllib.loads(path.read_text(encoding="utf-8"))
    if "sweep" in mapping:
        return "sweep"
    if "trial" in mapping:
        return "trial"
    return "run"


def write(configs: Path, out: Path, only: list[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for config in sorted(configs.glob("*.toml")):
        if only and config.stem not in only:
            continue
        kind = config_kind(config)
        target = out / (config.stem if kind == "trial" else f"{config.stem}.h5")
        command = [sys.executable, "-m", "geroconvert", kind, str(config), "-o", str(target), "--overwrite"]
        if kind != "trial":
            command.append("--quiet")
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        took = time.perf_counter() - started
        print(f"{config.name:34s} {kind:5s} exit {done.returncode}  {took:7.1f} s", flush=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
    return 0


def _equal(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _attrs_differ(name: str, x, y, notes: list[str] | None = None) -> list[str]:
    keys = (set(x.attrs) | set(y.attrs)) - VOLATILE - REFERENCES
    if name in ("/", "config", "config/toml"):  # provenance; the config hash covers its file path
        return []  # provenance: package version, git commit, host, times
    out = []
    for key in sorted(keys):
        if key in DESCRIPTIONS:
            if notes is not None and (key not in x.attrs or key not in y.attrs or x.attrs[key] != y.attrs[key]):
                notes.append(f"{name}: {key} {x.attrs.get(key, '-')!r} -> {y.attrs.get(key, '-')!r}")
        elif key not in x.attrs or key not in y.attrs:
            out.append(f"{name}: attribute {key} only on one side")
        elif key == "overrides" or key == "swept":
            if json.loads(x.attrs[key]) != json.loads(y.attrs[key]):
                out.append(f"{name}: attribute {key} differs")
        elif name == "summary" and key == "columns":  # the /summary column list, timing columns aside
            kept = [[c for c in json.loads(v[key]) if c not in VOLATILE] for v in (x.attrs, y.attrs)]
            if kept[0] != kept[1]:
                out.append(f"{name}: columns differ ({kept[0]} vs {kept[1]})")
        elif not _equal(x.attrs[key], y.attrs[key]):
            out.append(f"{name}: attribute {key} differs ({x.attrs[key]!r} vs {y.attrs[key]!r})")
    return out


def _schema(path: Path) -> int:
    with h5py.File(path, "r") as f:
        return int(f.attrs.get("schema_version", 0))


def _current(path: Path, scratch: Path) -> Path:
    """``path``, or its conversion to the schema this geroconvert writes."""
    from geroconvert.archive.schema import SCHEMA_VERSION

    if _schema(path) >= SCHEMA_VERSION:
        return path
    target = scratch / f"{path.stem}.upgraded.h5"
    command = [sys.executable, "-m", "geroconvert", "upgrade", str(path), str(target), "--overwrite"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return target


def _only_zeros(f, names: list[str]) -> bool:
    """Every named dataset holds numbers that are all 0 or NaN (NaN: a share of nothing)."""
    return all(
        isinstance(f[n], h5py.Dataset) and f[n].dtype.kind in "biuf" and not np.any(np.nan_to_num(f[n][()]))
        for n in names
    )


def archive_differences(a: Path, b: Path, notes: list[str] | None = None) -> list[str]:
    out: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        a, b = _current(a, Path(scratch)), _current(b, Path(scratch))
        with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
            return _differences(fa, fb, out, notes if notes is not None else [])


def _differences(fa, fb, out: list[str], notes: list[str]) -> list[str]:
    names_a, names_b = [], []
    fa.visit(names_a.append)
    fb.visit(names_b.append)
    only_a = sorted(n for n in set(names_a) - set(names_b) if n.split("/")[0] not in VOLATILE)
    only_b = sorted(n for n in set(names_b) - set(names_a) if n.split("/")[0] not in VOLATILE)
    only_a = [n for n in only_a if n.rsplit("/", 1)[-1] not in VOLATILE]
    only_b = [n for n in only_b if n.rsplit("/", 1)[-1] not in VOLATILE]
    if only_a and _only_zeros(fa, only_a):
        notes.append(f"only in the first, all 0: {', '.join(only_a[:6])}{' ...' if len(only_a) > 6 else ''}")
    elif only_a:
        out.append(f"objects only in the first: {only_a[:5]}{' ...' if len(only_a) > 5 else ''}")
    if only_b:  # readouts added since: they cannot change a result both sides hold
        notes.append(f"only in the second (new): {', '.join(only_b[:6])}{' ...' if len(only_b) > 6 else ''}")
    out += _attrs_differ("/", fa, fb)
    for name in sorted(set(names_a) & set(names_b)):
        if name.split("/")[0] in VOLATILE:
            continue
        x, y = fa[name], fb[name]
        out += _attrs_differ(name, x, y, notes)
        if isinstance(x, h5py.Dataset):
            if name.rsplit("/", 1)[-1] in VOLATILE:
                continue
            if name == "config/toml":
                old, new = _config_text(x), _config_text(y)
                gained = _gained_lines(old, new)
                if gained is None:
                    out.append(f"{name}: resolved config differs")
                elif gained:  # parameters added since, each at a default that changes nothing shown above
                    notes.append(f"{name}: new parameters {', '.join(line.split(' =')[0] for line in gained[:6])}")
                continue
            if not isinstance(y, h5py.Dataset) or not _equal(x[()], y[()]):
                out.append(f"{name}: data differ")
            elif _scales(x) != _scales(y):
                out.append(f"{name}: dimension scales differ")
    return out


def _config_text(dataset) -> list[str]:
    """The resolved config without its ``# source:`` line (the file's path, not a value)."""
    text = dataset[()].decode() if isinstance(dataset[()], bytes) else str(dataset[()])
    return [line for line in text.splitlines() if not line.startswith("# source:")]


def _gained_lines(old: list[str], new: list[str]) -> list[str] | None:
    """The lines ``new`` adds when ``old`` is ``new`` with some lines left out (in order), else None."""
    gained, rest = [], iter(old)
    expected = next(rest, None)
    for line in new:
        if line == expected:
            expected = next(rest, None)
        else:
            gained.append(line)
    return gained if expected is None else None


def _scales(dataset) -> list[list[str]]:
    return [[scale.name for scale in dim.values()] for dim in dataset.dims]


def folder_differences(a: Path, b: Path) -> list[str]:
    out = []
    for name in ("subjects.csv", "summary.txt"):
        if (a / name).read_bytes() != (b / name).read_bytes():
            out.append(f"{name} differs")
    return out


def compare(a: Path, b: Path) -> int:
    failed = 0
    for left in sorted(a.iterdir()):
        right = b / left.name
        if not right.exists():
            print(f"{left.name:34s} MISSING in {b}")
            failed += 1
            continue
        notes: list[str] = []
        problems = folder_differences(left, right) if left.is_dir() else archive_differences(left, right, notes)
        print(f"{left.name:34s} {'identical' if not problems else 'DIFFERENT'}")
        for problem in problems[:10]:
            print(f"    {problem}")
        for note in notes[:6]:
            print(f"    note: {note}")
        if len(notes) > 6:
            print(f"    note: ... and {len(notes) - 6} more notes")
        failed += bool(problems)
    print(f"{failed} of {len(list(a.iterdir()))} differ")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("write", help="run every config into OUT")
    w.add_argument("out", type=Path)
    w.add_argument("--configs", type=Path, default=Path(__file__).resolve().parents[1] / "configs")
    w.add_argument("--only", nargs="*", default=[], help="config names (without .toml)")
    c = commands.add_parser("compare", help="compare two folders written by `write`")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "write":
        return write(args.configs, args.out, args.only)
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
