"""The ``geroconvert`` command.

    geroconvert run CONFIG -o OUT.h5 [--seed N] [--set section.key=value ...] [--threads N]
                    [--overwrite] [--quiet] [--no-snapshots]
    geroconvert info OUT.h5 [--config]
    geroconvert validate CONFIG [--set ...] [--print]
    geroconvert reference

Every user mistake ends as one line ``geroconvert: error: ...`` on stderr and exit
code 2, with no traceback; nothing already on disk is lost (outputs are written to
``OUT.h5.partial`` and moved into place only when complete).

This module imports only the standard library at start-up; each command imports
what it needs (pydantic for configs, numba for the engine, h5py for archives).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time

PROG = "geroconvert"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
RUN_KEY = "run0"


class UsageError(Exception):
    """Bad command-line usage; one line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line (no usage block) through :class:`UsageError`."""

    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _user_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [UsageError]
    for module, name in (("geroconvert.config", "ConfigError"), ("geroconvert.io_hdf5", "ArchiveError")):
        if module in sys.modules:
            types.append(getattr(sys.modules[module], name))
    return tuple(types)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_line(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# argument parsing


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (got {value})")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if not 0 <= value <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63-1 (got {value})")
    return value


def _add_set_option(parser) -> None:
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one config value (repeatable); VALUE is read as TOML, "
                             "e.g. --set environment.rapamycin_nM=500 --set 'assays.rpp_times_h=[0,48]'")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog=PROG, description="Agent-based simulation of mTOR-driven geroconversion.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for unexpected errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser("run", help="run one simulation from a config into an HDF5 archive",
                              description="Validate CONFIG, run it once, write the archive OUT.h5.")
    run.add_argument("config", metavar="CONFIG", help="TOML config file (see configs/)")
    run.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="archive to write")
    run.add_argument("--seed", type=_seed, help="random seed (same as --set simulation.seed=N)")
    _add_set_option(run)
    run.add_argument("--threads", type=_positive_int, help="numba threads (results do not depend on it)")
    run.add_argument("--overwrite", action="store_true", help="replace OUT.h5 if it exists")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    run.add_argument("--no-snapshots", action="store_true", help="do not store lattice snapshots")
    run.set_defaults(func=cmd_run)

    info = commands.add_parser("info", help="describe an archive: provenance, runs, summary",
                               description="Print an archive's provenance, runs and summary table.")
    info.add_argument("archive", metavar="OUT.h5")
    info.add_argument("--config", action="store_true", help="also print the stored resolved config")
    info.set_defaults(func=cmd_info)

    validate = commands.add_parser("validate", help="check a config without running it",
                                   description="Validate CONFIG (and overrides); --print shows every value.")
    validate.add_argument("config", metavar="CONFIG")
    validate.add_argument("--seed", type=_seed)
    _add_set_option(validate)
    validate.add_argument("--print", dest="print_toml", action="store_true", help="print the resolved config")
    validate.set_defaults(func=cmd_validate)

    reference = commands.add_parser("reference", help="print the config reference (Markdown)")
    reference.set_defaults(func=cmd_reference)
    return parser


# ---------------------------------------------------------------------------------------
# commands


def _load(args):
    from .config import load_config

    overrides = list(args.sets)
    if args.seed is not None:
        overrides.append(f"simulation.seed={args.seed}")
    return load_config(args.config, overrides)


def _describe(params) -> str:
    sim = params.simulation
    rows = sim.height + (sim.dermis_rows if sim.geometry == "epidermis" else 0)
    n_rpp = len(params.assays.rpp_times_h)
    return (f"{sim.geometry} {sim.width}x{rows}, {sim.hours:g} h in steps of {sim.dt_h:g} h, "
            f"{params.cells.paramset}, {n_rpp} RPP assay{'s' * (n_rpp != 1)}")


def _set_threads(n: int | None) -> None:
    if n is None:
        return
    import numba

    available = numba.config.NUMBA_NUM_THREADS
    if n > available:
        raise UsageError(f"--threads: {n} is more than the {available} threads numba can use here")
    numba.set_num_threads(n)


class _Progress:
    """A tqdm bar on stderr, shown only on a terminal and only once a run takes over ~2 s."""

    def __init__(self, enabled: bool, label: str):
        self.enabled = enabled and sys.stderr.isatty()
        self.label = label
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit="step", file=sys.stderr, delay=2.0,
                            dynamic_ncols=True, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _format_value(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value.is_integer() and abs(value) < 1e12:
            return f"{value:.0f}"
        return f"{value:.4g}"
    return str(value)


def cmd_run(args) -> int:
    from .io_hdf5 import check_output

    check_output(args.output, args.overwrite)  # before any work: never clobber, fail fast
    loaded = _load(args)
    for message in loaded.warnings:
        warn(message)
    if loaded.sweep is not None:
        warn("[sweep] is ignored by `run`: the base config runs once")
    _set_threads(args.threads)

    from .engine import Simulation
    from .io_hdf5 import ArchiveWriter, atomic_output

    params = loaded.params
    progress = _Progress(not args.quiet, RUN_KEY)
    started = time.perf_counter()
    try:
        results = Simulation(params).run(progress=progress)
    finally:
        progress.close()
    wall_s = time.perf_counter() - started
    command = " ".join([PROG, *args.argv])
    with atomic_output(args.output, args.overwrite) as partial:
        with ArchiveWriter(partial, loaded.resolved_toml, command=command) as archive:
            archive.add_run(RUN_KEY, results, seed=params.simulation.seed, overrides=loaded.overrides,
                            replicate=0, swept={}, snapshots=not args.no_snapshots, wall_s=wall_s)
    if not args.quiet:
        print(f"wrote {args.output}: run {RUN_KEY!r}, seed {params.simulation.seed}, {_describe(params)}, "
              f"{wall_s:.2f} s")
        width = max((len(name) for name in results.summary), default=0)
        for name, value in results.summary.items():
            print(f"  {name:<{width}}  {_format_value(value)}")
    return EXIT_OK


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return lines


def cmd_info(args) -> int:
    from .io_hdf5 import read_archive

    archive = read_archive(args.archive)
    attrs = archive["attrs"]
    out = [f"archive   {args.archive} (schema {attrs.get('schema_version')})",
           f"created   {attrs.get('created_utc', '?')} by geroconvert {attrs.get('package_version', '?')}"
           + (f", git {attrs['git_commit'][:12]}{' (modified)' if attrs.get('git_dirty') else ''}"
              if attrs.get("git_commit") else ", git commit unknown"),
           f"software  Python {attrs.get('python_version', '?')}, numpy {attrs.get('numpy_version', '?')}, "
           f"numba {attrs.get('numba_version', '?')}, h5py {attrs.get('h5py_version', '?')}",
           f"host      {attrs.get('host', '?')}",
           f"command   {attrs.get('command', '')}",
           f"config    sha256 {archive['config_sha256'][:16]}..., "
           f"{len(archive['config_toml'].splitlines())} lines (geroconvert info --config shows it)",
           ""]
    runs = archive["runs"]
    out.append(f"runs ({len(runs)})")
    rows = [[key, str(a.get("status", "?")), str(a.get("seed", "?")), str(a.get("replicate", "")),
             _format_value(float(a.get("wall_s", math.nan))), _overrides_text(a.get("overrides", {}))]
            for key, a in runs.items()]
    out += ["  " + line for line in _table(["key", "status", "seed", "replicate", "wall_s", "overrides"], rows)]
    summary = archive["summary"]
    n = len(summary.get("run_key", ()))
    out += ["", f"summary ({n} complete run{'s' * (n != 1)})"]
    if n:
        names = list(summary)
        cells = {name: [_format_value(v.item() if hasattr(v, "item") else v) for v in summary[name]]
                 for name in names}
        if n <= 6:  # one column per run reads better than a wide table
            rows = [[name, *cells[name]] for name in names if name != "run_key"]
            out += ["  " + line for line in _table(["", *cells["run_key"]], rows)]
        else:
            out += ["  " + line for line in _table(names, [list(r) for r in zip(*cells.values())])]
    if args.config:
        out += ["", "config (resolved)", archive["config_toml"]]
    print("\n".join(out))
    return EXIT_OK


def _overrides_text(overrides) -> str:
    if not overrides:
        return "-"
    return " ".join(f"{k}={v}" for k, v in overrides.items())


def cmd_validate(args) -> int:
    loaded = _load(args)
    for message in loaded.warnings:
        warn(message)
    if args.print_toml:
        print(loaded.resolved_toml, end="")
    else:
        print(f"{args.config}: valid ({_describe(loaded.params)}"
              f"{', with a [sweep] section' if loaded.sweep is not None else ''})")
    return EXIT_OK


def cmd_reference(args) -> int:
    from .config import reference_markdown

    print(reference_markdown(), end="")
    return EXIT_OK


# ---------------------------------------------------------------------------------------
# entry point


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated()


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    previous = None
    try:
        if threading_is_main():
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        parser = build_parser()
        args = parser.parse_args(argv)
        args.argv = argv
        if getattr(args, "func", None) is None:
            raise UsageError(f"choose a command: run, info, validate, reference (see `{PROG} --help`)")
        return args.func(args)
    except SystemExit as exit_:  # --help, --version
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except KeyboardInterrupt:
        error_line("interrupted; nothing was written")
        return EXIT_INTERRUPTED
    except _Terminated:
        error_line("terminated; nothing was written")
        return 128 + signal.SIGTERM
    except BrokenPipeError:
        with _suppress():
            sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except MemoryError:
        error_line("out of memory; use a smaller lattice (simulation.width, simulation.height) or shorter run")
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - the one place that turns errors into exit codes
        if isinstance(error, _user_error_types()):
            error_line(str(error))
            return EXIT_USAGE
        if isinstance(error, OSError):
            where = f"{error.filename}: " if getattr(error, "filename", None) else ""
            error_line(f"{where}{error.strerror or error}")
            return EXIT_USAGE
        if debug:
            raise
        error_line(f"unexpected {type(error).__name__}: {error} (rerun with --debug for the traceback)")
        return EXIT_FAILURE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True
