"""The ``geroconvert`` command.

    geroconvert run CONFIG -o OUT.h5 [--seed N] [--set section.key=value ...] [--threads N]
                    [--overwrite] [--quiet] [--no-snapshots]
    geroconvert info OUT.h5 [--config] [--all]
    geroconvert upgrade OLD.h5 NEW.h5 [--overwrite]
    geroconvert check CONFIG [--set ...] [--print]
    geroconvert reference
    geroconvert sweep | sensitivity | report | validate | calibrate | demo   (commands_study)

Every user mistake ends as one line ``geroconvert: error: ...`` on stderr and exit
code 2, with no traceback; nothing already on disk is lost (outputs are written to
``OUT.h5.partial`` and moved into place only when complete).

This module imports only the standard library at start-up; each command imports
what it needs (pydantic for configs, numba for the engine, h5py for archives).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
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
    info.add_argument("archive", metavar="OUT.h5", help="archive of `geroconvert run` or `geroconvert sweep`")
    info.add_argument("--config", action="store_true", help="also print the stored resolved config")
    info.add_argument("--all", action="store_true", help="list every run (default: the first 20 of a larger archive)")
    info.set_defaults(func=commands_run.cmd_info)

    upgrade = commands.add_parser(
        "upgrade",
        help="convert an archive of schema 1 (geroconvert 0.1) to the current schema",
        description="Read an archive written by geroconvert 0.1 (schema 1: one group per run), "
        "check it, and write its complete runs as an archive of the current schema to NEW.h5. "
        "OLD.h5 is only read.",
    )
    upgrade.add_argument("old", metavar="OLD.h5", help="archive of schema 1")
    upgrade.add_argument("new", metavar="NEW.h5", help="where to write the converted archive")
    upgrade.add_argument("--overwrite", action="store_true", help="replace NEW.h5 if it exists")
    upgrade.set_defaults(func=commands_run.cmd_upgrade)

    check = commands.add_parser(
        "check",
        help="check a config without running it",
        description="Validate CONFIG (and overrides); --print shows every value.",
    )
    check.add_argument("config", metavar="CONFIG", help="TOML config file (see configs/)")
    check.add_argument("--seed", type=seed_number, help="random seed to check (same as --set simulation.seed=N)")
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Ctrl-C and SIGTERM ask the command to stop (see :mod:`geroconvert.interrupts`): it stops
    at the next safe point, keeps what it has committed, and exits 130 or 143.
    """
    from geroconvert import interrupts

    process = argv is None  # the process is the command (not a call from Python)
    if process:  # the objects it made live until it exits: the exit need not walk them all
        atexit.register(gc.freeze)  # (numba makes many: about 0.15 s)
    argv = list(sys.argv[1:] if argv is None else argv)
    with interrupts.stop_on_signals(then_exit=process):
        try:
            code = _dispatch(argv)
            signum = interrupts.requested()
            if signum is not None and code == EXIT_OK:  # the stop came as the work ended: still say so
                return _stopped(signum, interrupts.kept() or "the command had already finished its work")
            return code
        except interrupts.Interrupted as stop:
            return _stopped(stop.signum, "")
        except BaseException as error:
            signum = interrupts.requested()
            if signum is None or isinstance(error, SystemExit):
                raise
            # an error raised while a stop was under way (e.g. numba reporting the
            # interrupted call) is the stop, not a failure; a reason we can name (a full
            # disk during the last commit) is kept
            return _stopped(signum, str(error) if isinstance(error, GeroconvertError) else "")


def _stopped(signum: int, detail: str) -> int:
    from geroconvert.interrupts import SIGNAL_NAMES, kept

    error_line(f"{SIGNAL_NAMES.get(signum, f'signal {signum}')}; {detail or kept() or 'nothing was written'}")
    return 128 + int(signum)


def _dispatch(argv: list[str]) -> int:
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        args.argv = argv
        if getattr(args, "func", None) is None:
            raise UsageError(
                f"choose a command: run, sweep, sensitivity, info, report, validate, check, calibrate, demo, "
                f"reference, upgrade (see `{PROG} --help`)"
            )
        return args.func(args)
    except SystemExit as exit_:  # --help, --version
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except KeyboardInterrupt:  # before the handlers were in place
        error_line("interrupted; nothing was written")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        with _suppress():
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open: Python flushes stdout at exit
        return EXIT_OK
    except MemoryError:
        error_line("out of memory; use a smaller lattice (simulation.width, simulation.height) or shorter run")
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - the one place that turns errors into exit codes
        from geroconvert import interrupts

        if interrupts.requested() is not None:
            raise  # main reports the stop
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


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True
