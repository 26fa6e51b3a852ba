"""The verdict rules of the baseline gates, as pure functions: a measured value, this
profile's baseline and a tolerance in; a verdict and its message out. No pytest, no files:
`stackqual.gate.Gate.against_baseline` applies them (stage or read the baseline, judge,
record, fail), and selftests/test_judge.py tests each on its own.

Verdicts (stackqual.verdicts): pass; fail (the gate fired); improved (better than the
baseline beyond its tolerance: consider re-recording); changed (a categorical value that
differs in a way that is reported, not failed). Timed figures are judged by
stackqual.timed, whose regressed / improved / pass / inconclusive placement is `band`
below.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Callable

from .verdicts import Verdict


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    message: str = ""


@dataclass(frozen=True)
class Where:
    """Where a baseline was recorded, as messages name it."""

    profile: str
    path: str
    stack: str = ""  # the stack it was recorded under ("torch 2.13.0+cpu"), where known

    def __str__(self) -> str:
        return f"on profile {self.profile!r} ({self.path})"


def band(low: float, high: float, floor: float, ceiling: float) -> Verdict:
    """Where an interval [low, high] of a higher-is-better figure lies against the band
    [floor, ceiling]: regressed or improved only when the whole interval is outside it;
    pass when it cannot be below it; otherwise the data cannot tell (inconclusive)."""
    if high < floor:
        return Verdict.REGRESSED
    if low > ceiling:
        return Verdict.IMPROVED
    if low >= floor:
        return Verdict.PASS
    return Verdict.INCONCLUSIVE


def ratio_band(low: float, high: float, expected: float, tolerance: float) -> Verdict:
    """`band` around expected * (1 +- tolerance), a higher ratio being better."""
    return band(low, high, expected * (1 - tolerance), expected * (1 + tolerance))


def at_least(metric: str, value: float, low: float, high: float, baseline: float,
             where: Where, explain: str = "") -> Judgement:
    """A sampled rate (accuracy) with its confidence interval [low, high]: fails when the
    whole interval lies below the baseline, improved when it lies above."""
    measured = f"{value:.4f} [{low:.4f}, {high:.4f}]"
    if high < baseline:
        return Judgement(Verdict.FAIL, f"{metric} = {measured}: the whole interval is below the "
                               f"baseline {baseline} recorded {where}. {explain}".rstrip())
    if low > baseline:
        return Judgement(Verdict.IMPROVED, f"{metric} = {measured} > baseline {baseline}: consider "
                                   "--update-baselines")
    return Judgement(Verdict.PASS)


def at_most(metric: str, value: float, baseline: float, where: Where, fraction: float = 0.0,
            explain: str = "") -> Judgement:
    """A value that must not grow (graph breaks, recompiles; with `fraction`, e.g. peak
    memory: more than baseline * (1 + fraction) fails)."""
    ceiling = baseline * (1 + fraction)
    if value > ceiling:
        shown = f"{ceiling:,.0f}" if ceiling >= 1e6 else f"{ceiling:.6g}"  # instructions
        bound = f"the baseline {baseline}" + (f" +{fraction:.0%} = {shown}" if fraction else "")
        return Judgement(Verdict.FAIL, f"{metric} = {value}, more than {bound} recorded {where}. "
                               f"{explain}".rstrip())
    if value < baseline / (1 + fraction):
        return Judgement(Verdict.IMPROVED, f"{metric} = {value} < baseline {baseline}: consider "
                                   "--update-baselines")
    return Judgement(Verdict.PASS)


def same(metric: str, value, baseline, where: Where, fails: Callable[[object, object], bool],
         explain: str = "") -> Judgement:
    """A categorical value (which kernel ran). Equal passes. A difference fails when
    `fails(baseline, value)` says it is a regression, and is "changed" otherwise."""
    if value == baseline:
        return Judgement(Verdict.PASS)
    message = (f"{metric} is {value!r}, the baseline recorded on profile {where.profile!r} "
               f"under {where.stack or 'an unknown stack'} is {baseline!r} ({where.path}). "
               f"{explain}").rstrip()
    return Judgement(Verdict.FAIL if fails(baseline, value) else Verdict.CHANGED, message)


MEMBERS = ", "  # how a set of names is written as one value


def smallest_growth(baseline: float, fraction: float) -> int:
    """The least whole increase of a count that exceeds baseline * (1 + fraction): what an
    at_most gate on a count would catch (its minimum detectable change)."""
    return math.floor(baseline * fraction) + 1


def no_new(metric: str, value: set, baseline: set, where: Where, explain: str = "") -> Judgement:
    """A set that must gain no member (the ops a compiled graph calls): a member the
    baseline lacks fails, naming it; a member lost is "changed" (reported, not failed)."""
    new, lost = sorted(value - baseline), sorted(baseline - value)
    diff = "; ".join(part for part in (
        f"new: {', '.join(new)}" if new else "", f"lost: {', '.join(lost)}" if lost else "")
        if part)
    if not diff:
        return Judgement(Verdict.PASS)
    message = (f"{metric} differ from the {len(baseline)} recorded {where} under "
               f"{where.stack or 'an unknown stack'}: {diff}. {explain}").rstrip()
    return Judgement(Verdict.FAIL if new else Verdict.CHANGED, message)
