"""The commands' one convention for their arguments.

- A usage error (an unknown option, a missing or malformed argument) exits 4 with one line
  naming the command, before anything runs. 4 is pytest's own ExitCode.USAGE_ERROR;
  argparse's default, 2, is what qualify and ab say for "not judged", and a scheduler that
  retries one and not the other would retry a typo on every node.
- `--` separates the pytest arguments (`stackqual qualify --suite hardware -- -m "not
  slow"`): everything before it belongs to the command, everything after it goes to each
  pytest process the command starts, unread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .exits import Exit

USAGE_ERROR = Exit.USAGE


class Parser(argparse.ArgumentParser):
    """argparse with the convention above (its subparsers are of this class too)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"{self.prog}: usage error: {message} (see `{self.prog} "
                               "--help`; pytest arguments go after `--`)\n")


def report_dir(parser: Parser, what: str, *aliases: str) -> None:
    """The one option every command writes its output under: --report-dir PATH."""
    parser.add_argument("--report-dir", *aliases, dest="report_dir", type=Path, default=None,
                        metavar="PATH", help=f"where {what} goes (default: reports/)")


def split(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the command's own arguments, the pytest arguments after the first `--`)."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1:]
    return list(argv), []


def parse(parser: Parser, argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The command's options (every one known, else exit 4) and the pytest arguments."""
    own, pytest_args = split(argv)
    return parser.parse_args(own), pytest_args


def refuse(prog: str, message: str) -> int:
    """A usage error found after parsing (a value out of range, a file that is not one):
    one line, exit 4."""
    print(f"{prog}: usage error: {message}", file=sys.stderr)
    return USAGE_ERROR


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (a count of GPUs, of rounds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (value >= 0 and value != float("inf")):  # NaN fails the first comparison
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds >= 0")
    return value
