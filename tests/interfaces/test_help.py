"""Every ``--help`` explains itself: each subcommand has a description, each argument a help
text, and an option with a default that matters says what it is."""

from __future__ import annotations

import argparse

import pytest

from geroconvert.interfaces.cli.main import build_parser


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def documented(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every argument the help lists, except -h."""
    return [
        a
        for a in parser._actions
        if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and a.help != argparse.SUPPRESS
    ]


def name_of(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or action.dest


def shown_default(action: argparse.Action) -> bool:
    """Whether the default is one a user should be told: not off, empty or unset."""
    return action.default not in (None, False, [], argparse.SUPPRESS) and action.option_strings != []


def _states_default(text: str, default) -> bool:
    return str(default) in text or "default" in text  # "(default: 4)" or "(default: loopback only)"


COMMANDS = sorted(subcommands())


def test_the_walk_finds_every_command():
    assert {"run", "sweep", "info", "report", "validate", "check", "trial", "calibrate", "demo"} <= set(COMMANDS)


def test_the_top_level_options_have_help():
    missing = [name_of(a) for a in documented(build_parser()) if not (a.help or "").strip()]
    assert not missing


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_a_description_and_every_option_help(command):
    parser = subcommands()[command]
    assert (parser.description or "").strip(), f"`{command} --help` has no description"
    missing = [name_of(a) for a in documented(parser) if not (a.help or "").strip()]
    assert not missing, f"`{command} --help`: no help for {', '.join(missing)}"


@pytest.mark.parametrize("command", COMMANDS)
def test_options_say_their_default(command):
    parser = subcommands()[command]
    formatter = parser._get_formatter()
    silent = [
        name_of(a)
        for a in documented(parser)
        if shown_default(a) and not _states_default(formatter._expand_help(a) if a.help else "", a.default)
    ]
    assert not silent, f"`{command} --help` does not show the default of {', '.join(silent)}"


def test_trial_shows_a_skin_example_of_set():
    trial = subcommands()["trial"]
    (option,) = [a for a in trial._actions if "--set" in a.option_strings]
    assert "trial." in option.help or "dosing." in option.help
    assert "rapamycin_nM" not in option.help and "rpp_times_h" not in option.help


def test_validate_says_it_runs_the_skin_cases_too():
    description = subcommands()["validate"].description
    assert "skin" in description and "in vitro" in description.replace("in-vitro", "in vitro")
