"""The ``geroconvert`` command line (``main``); one module per group of commands."""

from geroconvert.interfaces.cli.main import main

__all__ = ["main"]
