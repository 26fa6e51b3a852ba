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

    @property
    def word(self) -> str:
        """What a thing that leads to this code is called in summaries and verdict.json."""
        return {Exit.FAILED: "failed", Exit.NOT_JUDGED: "not judged",
                Exit.BROKE: "broke"}.get(self, self.name.lower())


# Worst first: a failed check outranks a broken run, which outranks something not judged.
WORST_FIRST = (Exit.FAILED, Exit.BROKE, Exit.NOT_JUDGED, Exit.OK)


def worst(codes) -> Exit:
    """The worst of some codes (OK when there are none)."""
    codes = set(codes)
    return next((code for code in WORST_FIRST if code in codes), Exit.OK)


# What each code means for each command: its --help, its summary's first line and the
# "verdict" of its JSON file. A command's table names only the codes it can end with.
MEANING = {
    "qualify": {Exit.OK: "qualified", Exit.FAILED: "not qualified: a check failed",
                Exit.NOT_JUDGED: "not qualified: some checks could not be judged",
                Exit.BROKE: "the run itself broke"},
    "ab": {Exit.OK: "no figure regressed",
           Exit.FAILED: "the candidate is slower or compiles to more",
           Exit.NOT_JUDGED: "some figures could not be judged", Exit.BROKE: "a process broke"},
    "compare": {Exit.OK: "nothing blocks", Exit.FAILED: "a change blocks",
                Exit.NOT_JUDGED: "the candidate judged nothing, or some of its checks were "
                                 "not judged where the base's were"},
    "accept": {Exit.OK: "the candidate's baselines were recorded and published",
               Exit.FAILED: "the recording run failed: nothing published",
               Exit.NOT_JUDGED: "the recording run selected or measured nothing: nothing "
                                "published",
               Exit.BROKE: "the recording run broke: nothing published"},
    "fleet": {Exit.OK: "every node qualified, no outlier", Exit.FAILED: "not every node is good",
              Exit.NOT_JUDGED: "not judged: too few units to call an outlier"},
}


def meaning(command: str, code: int) -> str:
    return MEANING[command].get(code) or Exit(code).name.lower().replace("_", " ")


def epilog(command: str) -> str:
    """The exit codes of a command, for its --help."""
    codes = {**MEANING[command], Exit.USAGE: "bad usage, nothing run",
             Exit.INTERNAL: "an error of stackqual itself, not a verdict"}
    return "exit codes: " + "; ".join(f"{int(k)} {v}" for k, v in codes.items()) + "."


def internal_error(command: str, error: BaseException) -> int:
    """An exception no command turned into a verdict: its traceback, then one line that
    says it is not one, and Exit.INTERNAL."""
    traceback.print_exception(error, file=sys.stderr)
    print(f"stackqual {command}: internal error, exit {int(Exit.INTERNAL)} (not a verdict "
          f"on the stack: a defect of stackqual, or a folder it cannot write): "
          f"{type(error).__name__}: {error}", file=sys.stderr)
    return Exit.INTERNAL
