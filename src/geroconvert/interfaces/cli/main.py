"""The ``geroconvert`` command.

    geroconvert run CONFIG -o OUT.h5 [--seed N] [--set section.key=value ...] [--threads N]
                    [--overwrite] [--quiet] [--no-snapshots]
    geroconvert info OUT.h5 [--config]
    geroconvert check CONFIG [--set ...] [--print]
    geroconvert reference
    geroconvert sweep | report | validate | calibrate | demo   (commands_study)

Every user mistake ends as one line ``geroconvert: error: ...`` on stderr and exit
code 2, with no traceback; nothing already on disk is lost (outputs are written to
``OUT.h5.partial`` and moved into place only when complete).

This module imports only the standard library at start-up; each command imports
what it needs (pydantic for configs, numba for the engine, h5py for archives).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from geroconvert.errors import GeroconvertError, UsageError
from geroconvert.interfaces.cli import commands_run, commands_study
from geroconvert.interfaces.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Parser,
    add_set_option,
    error_line,
    positive_int,
    seed_number,
)


def build_parser() -> argparse.ArgumentParser:
    from geroconvert import __version__

    parser = Parser(prog=PROG, description="Agent-based simulation of mTOR-driven geroconversion.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for unexpected errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = commands.add_parser(
        "run",
        help="run one simulation from a config into an HDF5 archive",
        description="Validate CONFIG, run it once, write the archive OUT.h5.",
    )
    run.add_argument("config", metavar="CONFIG", help="TOML config file (see configs/)")
    run.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="archive to write")
    run.add_argument("--seed", type=seed_number, help="random seed (same as --set simulation.seed=N)")
    add_set_option(run)
    run.add_argument("--threads", type=positive_int, help="numba threads (results do not depend on it)")
    run.add_argument("--overwrite", action="store_true", help="replace OUT.h5 if it exists")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    run.add_argument("--no-snapshots", action="store_true", help="do not store lattice snapshots")
    run.set_defaults(func=commands_run.cmd_run)

    info = commands.add_parser(
        "info",
        help="describe an archive: provenance, runs, summary",
        description="Print an archive's provenance, runs and summary table.",
    )
    info.add_argument("archive", metavar="OUT.h5")
    info.add_argument("--config", action="store_true", help="also print the stored resolved config")
    info.set_defaults(func=commands_run.cmd_info)

    check = commands.add_parser(
        "check",
        help="check a config without running it",
        description="Validate CONFIG (and overrides); --print shows every value.",
    )
    check.add_argument("config", metavar="CONFIG")
    check.add_argument("--seed", type=seed_number)
    add_set_option(check)
    check.add_argument("--print", dest="print_toml", action="store_true", help="print the resolved config")
    check.set_defaults(func=commands_run.cmd_check)

    commands_study.add_commands(commands)

    reference = commands.add_parser(
        "reference",
        help="print the config reference (Markdown)",
        description="Print every config section and key with unit, default and "
        "source, generated from the parameter models.",
    )
    reference.add_argument(
        "--update",
        metavar="FILE",
        help=f"replace the text between {commands_run.REFERENCE_START} and {commands_run.REFERENCE_END} in FILE",
    )
    reference.set_defaults(func=commands_run.cmd_reference)
    return parser


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
            raise UsageError(
                f"choose a command: run, sweep, info, report, validate, check, calibrate, demo, "
                f"reference (see `{PROG} --help`)"
            )
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
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open: Python flushes stdout at exit
        return EXIT_OK
    except MemoryError:
        error_line("out of memory; use a smaller lattice (simulation.width, simulation.height) or shorter run")
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - the one place that turns errors into exit codes
        if isinstance(error, GeroconvertError):
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
