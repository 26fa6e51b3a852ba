"""Fault plugins for the mutation self-tests: selftests/faults/<suite>/<fault>.py, each a
pytest plugin that injects one fault a gate exists to catch, loaded into a real run of the
suites with `-p selftests.faults.<suite>.<fault>` (selftests/conftest.py `run_suite`).

A gates-fire table is a list of `Fault` rows: which plugin, what to run, how many tests
must fail and what their output must say.

Adding a fault: write selftests/faults/<suite>/<fault>.py whose `pytest_configure` wraps
the suite function the fault lives in with `wrap` (the one seam between a fault and a
suite), and add a `Fault` row to that suite's gates-fire self-test. A figure the message
must contain (a bound, a baseline) is read from a clean run of the same selection, never
from the committed baselines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest


def wrap(owner, name: str, wrapper: Callable[[Callable], Callable]) -> None:
    """Replace the function `owner.name` (a module or class attribute of a suite, or of a
    framework a suite runs) by `wrapper(original)`. Fault plugins reach into suites only
    through this; the run is a fresh process, so nothing is restored."""
    setattr(owner, name, wrapper(getattr(owner, name)))


@dataclass(frozen=True)
class Fault:
    """A row of a gates-fire table."""

    id: str
    plugins: tuple[str, ...]  # "<suite>.<fault>" under selftests/faults/
    selection: tuple[str, ...]  # pytest arguments: node ids, -k expressions
    failures: int = 1  # tests that must fail
    messages: tuple[str, ...] = ()  # what the output must say
    env: dict = field(default_factory=dict)  # what the plugin reads (an offset, a factor)

    def param(self):
        return pytest.param(self, id=self.id)
