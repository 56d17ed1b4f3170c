"""What every command shares: exit codes, one-line errors and warnings, option types,
loading a config with its overrides, progress bars and number formatting.

This module imports only the standard library at start-up; each command imports what it
needs (pydantic for configs, numba for the engine, h5py for archives).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from geroconvert.errors import UsageError

PROG = "geroconvert"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
RUN_KEY = "run0"


class Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line (no usage block) through :class:`UsageError`."""

    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_line(message: str) -> None:
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (got {value})")
    return value


def seed_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if not 0 <= value <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63-1 (got {value})")
    return value


SET_EXAMPLE = "--set environment.rapamycin_nM=500 --set 'assays.rpp_times_h=[0,48]'"


def add_set_option(parser, example: str = SET_EXAMPLE) -> None:
    """``--set``; ``example`` shows keys that matter to this command (a trial's differ from a dish's)."""
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help=f"override one config value (repeatable); VALUE is read as TOML, e.g. {example}",
    )


def refuse_existing(path, overwrite: bool, what: str, folder: bool = False) -> Path:
    """The one rule for every output: what exists is replaced only with ``--overwrite``.

    Called before any work, so a refusal costs nothing.  A file output is refused when
    it exists.  A folder output is refused when it holds anything at all: which files a
    report writes depends on the archive (one figure per dose slice), so "a file we would
    write" is not known before the work, and "not empty" is the test that cannot lose a
    file.  With ``--overwrite`` the command replaces its own files and leaves the others.
    A folder where a file is wanted (or the reverse) and devices, FIFOs and sockets are
    refused even with ``--overwrite``: replacing them is never what was meant.
    """
    path = Path(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path}: is a file, not a folder; choose a folder for the {what}")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise UsageError(
                f"{path}: exists and is not empty; pass --overwrite to replace the {what}'s files in it, "
                "or choose another folder"
            )
        return path
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give the {what} a file name, e.g. {path / 'out.json'}")
    if path.exists() and not path.is_file():
        raise UsageError(f"{path}: not a regular file (a device, FIFO or socket); give the {what} a file name")
    if path.exists() and not overwrite:
        raise UsageError(f"{path}: already exists; pass --overwrite to replace it, or choose another {what}")
    if path.parent.exists() and not path.parent.is_dir():
        raise UsageError(f"{path.parent}: is not a folder; choose another place for the {what}")
    return path


def load(args):
    from geroconvert.config import load_config

    overrides = list(args.sets)
    if args.seed is not None:
        overrides.append(f"simulation.seed={args.seed}")
    return load_config(args.config, overrides)


def describe(params) -> str:
    sim = params.simulation
    rows = sim.height + (sim.dermis_rows if sim.geometry == "epidermis" else 0)
    n_rpp = len(params.assays.rpp_times_h)
    sheet = f"{sim.depth}x" if sim.depth > 1 else ""  # a basal sheet: width x depth x rows
    return (
        f"{sim.geometry} {sim.width}x{sheet}{rows}, {sim.hours:g} h in steps of {sim.dt_h:g} h, "
        f"{params.cells.paramset}, {n_rpp} RPP assay{'s' * (n_rpp != 1)}"
    )


def quiet_openmp() -> None:
    """Let idle OpenMP threads sleep instead of spinning.

    numba's parallel kernels run on OpenMP; with the default (spinning) wait policy a run
    that shares its cores with another busy process slowed down 5- to 20-fold in our
    measurements (1.2 s -> 24 s for configs/ht_p21.toml on 2 cores).  Must happen before
    the first parallel kernel starts the OpenMP runtime; a user's own setting wins.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def set_threads(n: int | None) -> None:
    if n is None:
        return
    import numba

    available = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # set at import
    if n > available:
        raise UsageError(f"--threads: {n} is more than the {available} threads numba can use here")
    numba.set_num_threads(n)


class Progress:
    """A tqdm bar on stderr, shown only on a terminal and only once a run takes over ~2 s."""

    def __init__(self, enabled: bool, label: str):
        self.enabled = enabled and sys.stderr.isatty()
        self.label = label
        self.bar: Any = None  # a tqdm bar once shown

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, desc=self.label, unit="step", file=sys.stderr, delay=2.0, dynamic_ncols=True, leave=False
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_value(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value.is_integer() and abs(value) < 1e12:
            return f"{value:.0f}"
        return f"{value:.4g}"
    return str(value)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return lines
