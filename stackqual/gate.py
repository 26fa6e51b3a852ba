"""The object a suite's test uses to record measurements and apply its gates.

Every call lands in the run report with measured value, expected value, verdict and the
source of the expectation. Two kinds of gate:

- `require` (and `require_close` for fp64 parity): a policy check (a bound from a policy
  table or a rule); fails when violated.
- `against_baseline` and its four shapes (`at_least_baseline`, `at_most_baseline`,
  `same_as_baseline`, `no_new_members`; stackqual.perf adds the timed ones): compares with
  this profile's recorded value by a pure rule of stackqual.judge. Without a baseline the value is
  reported and the test skips with the command that records one; with --update-baselines
  the value is staged for writing instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from . import judge, numerics
from .baselines import BaselineStore
from .report import CheckRecord, RunReport
from .verdicts import BLOCKING, Verdict


def shown(path: Path) -> str:
    """A path as a reader wants it: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


class Gate:
    def __init__(self, *, nodeid: str, suite: str, case_id: str, store: BaselineStore,
                 report: RunReport, update: bool):
        self.nodeid = nodeid
        self.suite = suite
        self.case_id = case_id
        self.store = store
        self.report = report
        self.update = update

    def check_id(self, metric: str) -> str:
        return f"{self.case_id}#{metric}"

    def record(self, metric, measured, expected, verdict, source="", message="", details=None):
        self.report.add(CheckRecord(
            check_id=self.check_id(metric), nodeid=self.nodeid, suite=self.suite,
            metric=metric, measured=measured, expected=expected, verdict=verdict,
            source=source, message=message, details=details or {}))

    def info(self, metric: str, value, **details) -> None:
        """Report a measurement that nothing is gated on (yet)."""
        self.record(metric, value, None, Verdict.INFO, details=details)

    def require(self, metric: str, passed: bool, *, measured, expected, source: str,
                message: str, details: dict | None = None) -> None:
        """A policy gate. `message` must name the case, the value, the bound and its source."""
        verdict = Verdict.PASS if passed else Verdict.FAIL
        self.record(metric, measured, expected, verdict, source,
                    "" if passed else message, details)
        if not passed:
            pytest.fail(f"{self.case_id}: {message}", pytrace=False)

    @property
    def baseline_path(self) -> str:
        return shown(self.store.path_for(self.suite))

    def where(self) -> judge.Where:
        """Where this suite's baselines were recorded, for messages."""
        bf = self.store.files.get(self.suite)
        stack = f"torch {bf.fingerprint.get('torch', '?')}" if bf is not None else ""
        return judge.Where(self.store.profile, self.baseline_path, stack)

    def recorded(self) -> dict:
        """What this suite's baseline file says about how it was recorded (fingerprint,
        calibrations), or {}."""
        bf = self.store.files.get(self.suite)
        return {} if bf is None else bf.recorded

    def has_baseline(self, metric: str) -> bool:
        """Whether this profile has a recorded value for `metric`."""
        return self.store.get(self.suite, self.check_id(metric)) is not None

    def baseline(self, metric: str, kind: str = ""):
        """This profile's recorded value for `metric`, or None. `kind` "number" or "positive
        number": a value of another kind fails the test, naming the file."""
        value = self.store.get(self.suite, self.check_id(metric))
        numeric = not isinstance(value, bool) and isinstance(value, (int, float))
        if value is not None and kind and not (numeric and (kind == "number" or value > 0)):
            pytest.fail(f"{self.check_id(metric)}: the baseline in {self.baseline_path} is "
                        f"{value!r}, not a {kind}; fix the file or re-record it with "
                        "--update-baselines", pytrace=False)
        return value

    def stage(self, metric: str, value, details: dict | None = None,
              calibration: dict | None = None) -> None:
        """--update-baselines: the value is written at the end if the test passes; a
        timing with the `calibration` of the machine that measured it."""
        self.store.stage(self.suite, self.check_id(metric), value, self.nodeid, calibration)
        self.record(metric, value, None, Verdict.RECORDED, self.baseline_path, details=details)

    def no_baseline(self, metric: str, value, described=None, details: dict | None = None):
        """Report the value and skip with the command that records a baseline for it."""
        self.record(metric, value, None, Verdict.NO_BASELINE, self.baseline_path, details=details)
        pytest.skip(
            f"{self.check_id(metric)}: measured {value if described is None else described}, "
            f"but profile {self.store.profile!r} has no baseline for it in "
            f"{self.baseline_path}; record one with: pytest '{self.nodeid}' "
            f"--profile {self.store.profile} --update-baselines")

    def against_baseline(self, metric: str, value, decide: Callable, *, kind: str = "number",
                         details: dict | None = None, source: str = "",
                         stage: Callable[[], None] | None = None, described=None,
                         fail_on=BLOCKING):
        """The one baseline gate. With --update-baselines: stage `value` (or call `stage`)
        and return None. Otherwise read this profile's baseline (skip with the command that
        records one where there is none), `decide(baseline)` -> a judge.Judgement, record it
        and fail the test when its verdict is in `fail_on`. A verdict that rests on a
        second measurement carries that figure as `value` (stackqual.perf)."""
        if self.update:
            stage() if stage else self.stage(metric, value, details)
            return None
        baseline = self.baseline(metric, kind)
        if baseline is None:
            self.no_baseline(metric, value, described, details)
        verdict = decide(baseline)
        rests_on = getattr(verdict, "value", None)
        self.record(metric, value if rests_on is None else rests_on, baseline,
                    verdict.verdict, source or f"baseline {self.baseline_path}",
                    verdict.message, details)
        if verdict.verdict in fail_on:
            pytest.fail(f"{self.case_id}: {verdict.message}", pytrace=False)
        return verdict

    def same_as_baseline(self, metric: str, value: str, *, fails, explain: str = "") -> None:
        """A categorical value (which kernel ran): equal passes; a difference fails when
        `fails(baseline, value)` says it is a regression, else it is reported as
        "changed" (in the summary and the report) and the test passes."""
        self.against_baseline(metric, value, kind="", decide=lambda baseline: judge.same(
            metric, value, baseline, self.where(), fails, explain))

    def no_new_members(self, metric: str, value, *, explain: str = "") -> None:
        """A set of names (the aten ops a graph calls) that must gain no member
        (judge.no_new); recorded as one string, sorted and joined by judge.MEMBERS, with
        details kind "set" (stackqual.figures.counts)."""
        joined = judge.MEMBERS.join(sorted(value))
        self.against_baseline(metric, joined, kind="", details={"kind": "set"},
                              decide=lambda baseline: judge.no_new(
                                  metric, set(value), set(str(baseline).split(judge.MEMBERS)),
                                  self.where(), explain))

    def at_least_baseline(self, metric: str, value: float, *, low: float, high: float,
                          explain: str = "", details: dict | None = None) -> None:
        """A sampled rate (accuracy) with its confidence interval [low, high]
        (judge.at_least)."""
        self.against_baseline(metric, value, details=details, decide=lambda baseline:
                              judge.at_least(metric, value, low, high, baseline,
                                             self.where(), explain))

    def at_most_baseline(self, metric: str, value, *, explain: str = "",
                         tolerance: tuple[float, str] | None = None,
                         details: dict | None = None) -> None:
        """A value that must not grow (graph breaks, recompiles; with
        `tolerance=(fraction, source)`, e.g. peak memory) (judge.at_most)."""
        fraction, why = tolerance or (0.0, "")
        source = f"baseline {self.baseline_path}" + (
            f"; tolerance {fraction:.0%} ({why})" if why else "")
        self.against_baseline(metric, value, details=details, source=source,
                              decide=lambda baseline: judge.at_most(
                                  metric, value, baseline, self.where(), fraction, explain))

    def count_at_most_baseline(self, metric: str, value: int, *, tolerance: tuple[float, str],
                               explain: str = "", details: dict | None = None) -> None:
        """An exact count (kernels, instructions) that must not grow beyond the baseline +
        tolerance; the check records its kind, its tolerance and the smallest growth it
        catches (its minimum detectable change), and the message says it."""
        fraction, _ = tolerance
        baseline = self.baseline(metric, "number")
        details = {"kind": "count", "tolerance": fraction, **(details or {})}
        if baseline is not None:
            caught = details["min_detectable_change"] = judge.smallest_growth(baseline,
                                                                              fraction)
            explain = (f"{explain}. " if explain else "") + (
                f"The smallest growth this gate catches is {caught:,} "
                f"({caught / max(baseline, 1):.1%})")
        self.at_most_baseline(metric, value, tolerance=tolerance, details=details,
                              explain=explain)

    def require_close(self, metric: str, judgements: list, *, candidate: str, trusted: str,
                      source: str, reference: str = "the fp64 reference", where: str = "",
                      details: dict | None = None) -> None:
        """A parity gate over numerics judgements: fails when any tensor is further from
        the fp64 reference than the trusted path allows (numerics.further_than_trusted)."""
        failed = [j for j in judgements if not j.passed]
        worst = max(judgements, key=lambda j: j.bound_used)
        self.require(metric, not failed, measured=round(worst.bound_used, 4),
                     expected="<= 1 (fraction of bound)", source=source,
                     details=details or numerics.summary(judgements),
                     message=numerics.further_than_trusted(
                         judgements, candidate=candidate, trusted=trusted, source=source,
                         reference=reference, where=where))
