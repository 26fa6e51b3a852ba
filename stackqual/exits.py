"""The commands' one table of exit codes: qualify, ab, compare, accept and fleet all end
with one of these (each command's --help says what each means for it). `pytest` itself
keeps pytest's own codes (pytest.ExitCode: 0 passed, 1 failed, 4 usage error, 5 nothing
collected or judged).

The order is what a scheduler or a CI step needs: 0 and 1 are verdicts; 2 is "not judged",
never a pass; 3 is "the run broke" (a crash, a time limit, a signal), worth a retry; 4 is
a typo, not worth one; 70 is a defect of stackqual or of the folder it writes to, never a
verdict about the stack."""

from __future__ import annotations

import sys
import traceback
from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # qualified, nothing regressed, nothing blocks
    FAILED = 1  # a check failed, a figure or count regressed, a change blocks
    NOT_JUDGED = 2  # some checks could not be judged
    BROKE = 3  # the run itself broke: a crash, a time limit, a stop signal
    USAGE = 4  # bad usage, before anything ran (pytest's ExitCode.USAGE_ERROR)
    INTERNAL = 70  # an error of stackqual itself (sysexits.h EX_SOFTWARE), not a verdict


def internal_error(command: str, error: BaseException) -> int:
    """An exception no command turned into a verdict: its traceback, then one line that
    says it is not one, and Exit.INTERNAL."""
    traceback.print_exception(error, file=sys.stderr)
    print(f"stackqual {command}: internal error, exit {int(Exit.INTERNAL)} (not a verdict "
          f"on the stack: a defect of stackqual, or a folder it cannot write): "
          f"{type(error).__name__}: {error}", file=sys.stderr)
    return Exit.INTERNAL
