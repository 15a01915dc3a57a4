"""Command line: argument parsing only. Each sub-module registers its own sub-commands.

A :class:`~voice_coach.errors.UserError` becomes one line on stderr and a non-zero exit; only bugs
keep their traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from voice_coach import __version__, native_logs
from voice_coach.cli.invocation import with_real_command
from voice_coach.errors import UserError

# One module per family of sub-commands; each has ``register(subparsers)``.
_MODULES = ("routines", "run", "config", "speech", "hearing", "schedule", "history")


def _verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept -v after the command too (``voice-coach run -v``, as ``./scripts/run -v`` passes it)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for p in action.choices.values():
                if "-v" not in p._option_string_actions:
                    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                                   help="more log output (-vv for debug)")
                _verbose_everywhere(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voice-coach",
        description="An offline, hands-free voice coach for at-home back-pain care.",
    )
    parser.add_argument("--version", action="version", version=f"voice-coach {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _MODULES:
        importlib.import_module(f"voice_coach.cli.{name}").register(sub)
    _verbose_everywhere(parser)
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except KeyboardInterrupt:  # Ctrl-C while the sub-commands are still being imported
        return 130
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    native_logs.install()  # ALSA's "underrun occurred" and JACK's probes go to the log, not the terminal
    if not getattr(args, "func", None):  # no command: a usage error, as argparse's own are
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"voice-coach: {with_real_command(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
