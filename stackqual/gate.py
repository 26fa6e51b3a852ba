"""The object a suite's test uses to record measurements and apply its gates.

Every call lands in the run report with measured value, expected value, verdict and the
source of the expectation. Two kinds of gate:

- `require`: a policy check (a bound from stackqual.policy or a rule); fails when violated.
- `at_most_baseline`: compares with this profile's recorded value; more fails, fewer is
  reported as improved. Without a baseline the value is reported and the test skips with
  the command that records one; with --update-baselines the value is staged for writing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .baselines import BaselineStore
from .report import CheckRecord, RunReport


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
        self.record(metric, value, None, "info", details=details)

    def require(self, metric: str, passed: bool, *, measured, expected, source: str,
                message: str, details: dict | None = None) -> None:
        """A policy gate. `message` must name the case, the value, the bound and its source."""
        verdict = "pass" if passed else "fail"
        self.record(metric, measured, expected, verdict, source,
                    "" if passed else message, details)
        if not passed:
            pytest.fail(f"{self.case_id}: {message}", pytrace=False)

    @property
    def baseline_path(self) -> str:
        return shown(self.store.path_for(self.suite))

    def stage(self, metric: str, value, details: dict | None = None,
              calibration: dict | None = None) -> None:
        """--update-baselines: the value is written at the end if the test passes; a
        timing with the `calibration` of the machine that measured it."""
        self.store.stage(self.suite, self.check_id(metric), value, self.nodeid, calibration)
        self.record(metric, value, None, "recorded", self.baseline_path, details=details)

    def no_baseline(self, metric: str, value, described=None, details: dict | None = None):
        """Report the value and skip with the command that records a baseline for it."""
        self.record(metric, value, None, "no-baseline", self.baseline_path, details=details)
        pytest.skip(
            f"{self.check_id(metric)}: measured {value if described is None else described}, "
            f"but profile {self.store.profile!r} has no baseline for it in "
            f"{self.baseline_path}; record one with: pytest '{self.nodeid}' "
            f"--profile {self.store.profile} --update-baselines")

    def same_as_baseline(self, metric: str, value: str, *, fails, explain: str = "") -> None:
        """A baseline gate for a categorical value (which kernel ran). Equal passes. A
        difference fails when `fails(baseline, value)` says it is a regression; otherwise it
        is reported as "changed" (listed in the summary and the report) and the test passes.
        The message names the stack the baseline was recorded under."""
        cid = self.check_id(metric)
        if self.update:
            self.stage(metric, value)
            return
        baseline = self.store.get(self.suite, cid)
        if baseline is None:
            self.no_baseline(metric, value)
        if baseline == value:
            self.record(metric, value, baseline, "pass", f"baseline {self.baseline_path}")
            return
        recorded = self.store.files[self.suite].fingerprint
        under = f"torch {recorded.get('torch', '?')}"
        message = (f"{metric} is {value!r}, the baseline recorded on profile "
                   f"{self.store.profile!r} under {under} is {baseline!r} "
                   f"({self.baseline_path}). {explain}").rstrip()
        failed = fails(baseline, value)
        self.record(metric, value, baseline, "fail" if failed else "changed",
                    f"baseline {self.baseline_path}", message)
        if failed:
            pytest.fail(f"{self.case_id}: {message}", pytrace=False)

    def _numeric_baseline(self, metric: str, value, details: dict | None):
        """With --update-baselines: stage `value` and return None. Otherwise this profile's
        recorded number (skips without one; a value that is not a number fails, naming
        the file)."""
        if self.update:
            self.stage(metric, value, details)
            return None
        cid, path = self.check_id(metric), self.baseline_path
        baseline = self.store.get(self.suite, cid)
        if baseline is None:
            self.no_baseline(metric, value, details=details)
        if isinstance(baseline, bool) or not isinstance(baseline, (int, float)):
            pytest.fail(f"{cid}: the baseline in {path} is {baseline!r}, not a number; fix the "
                        "file or re-record it with --update-baselines", pytrace=False)
        return baseline

    def at_least_baseline(self, metric: str, value: float, *, low: float, high: float,
                          explain: str = "", details: dict | None = None) -> None:
        """A baseline gate for a sampled rate (accuracy) with its confidence interval
        [low, high]: fails when the whole interval lies below the baseline, improved when
        it lies above."""
        baseline = self._numeric_baseline(metric, value, details)
        if baseline is None:  # staged for --update-baselines
            return
        source = f"baseline {self.baseline_path}"
        measured = f"{value:.4f} [{low:.4f}, {high:.4f}]"
        if high < baseline:
            message = (f"{metric} = {measured}: the whole interval is below the baseline "
                       f"{baseline} recorded on profile {self.store.profile!r} "
                       f"({self.baseline_path}). {explain}").rstrip()
            self.record(metric, value, baseline, "fail", source, message, details)
            pytest.fail(f"{self.case_id}: {message}", pytrace=False)
        improved = low > baseline
        self.record(metric, value, baseline, "improved" if improved else "pass", source,
                    f"{metric} = {measured} > baseline {baseline}: consider "
                    "--update-baselines" if improved else "", details)

    def at_most_baseline(self, metric: str, value, *, explain: str = "",
                         tolerance: tuple[float, str] | None = None,
                         details: dict | None = None) -> None:
        """A baseline gate for values that must not grow (graph breaks, recompiles; with
        `tolerance=(fraction, source)`, e.g. peak memory: more than baseline*(1+fraction)
        fails)."""
        path = self.baseline_path
        baseline = self._numeric_baseline(metric, value, details)
        if baseline is None:  # staged for --update-baselines
            return
        fraction, why = tolerance or (0.0, "")
        ceiling = baseline * (1 + fraction)
        source = f"baseline {path}" + (f"; tolerance {fraction:.0%} ({why})" if why else "")
        if value > ceiling:
            bound = f"the baseline {baseline}" + (f" +{fraction:.0%} = {ceiling:.6g}"
                                                  if fraction else "")
            message = (f"{metric} = {value}, more than {bound} recorded on profile "
                       f"{self.store.profile!r} ({path}). {explain}").rstrip()
            self.record(metric, value, baseline, "fail", source, message, details)
            pytest.fail(f"{self.case_id}: {message}", pytrace=False)
        verdict = "improved" if value < baseline / (1 + fraction) else "pass"
        self.record(metric, value, baseline, verdict, source,
                    f"{metric} = {value} < baseline {baseline}: consider --update-baselines"
                    if verdict == "improved" else "", details)
