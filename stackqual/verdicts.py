"""The one vocabulary of verdicts. A check of a suite (stackqual.report's records), a
health check of a node (stackqual.health) and a figure of `stackqual ab` each say one
`Verdict`; qualify, ab, compare, accept and fleet read them through the sets below, and
end with one of stackqual.exits.Exit.

Which verdicts block, and why (the one place that says so):
- FAIL and REGRESSED block: the gate fired. A run with one exits 1.
- NO_BASELINE, INCONCLUSIVE, NOT_COMPARABLE and NOT_JUDGED are "not judged": the check
  measured something it could not hold to a bound (no recording for this profile, too
  noisy to tell, a baseline of a machine this one is not equivalent to, a machine too busy
  to measure). Never a pass: qualify and ab exit 2, compare lists them as "not judged".
- CHANGED is reported for review and does not block: a categorical value (the kernel that
  ran, a snapshot of a kind that is reviewed, an aten op no longer called) differs from
  its baseline in a way the suite declared harmless to correctness.
- PASS and IMPROVED are judgements that passed (improved: beyond the band, consider
  re-recording). RECORDED, INFO and SKIP judge nothing: a recording run, a figure reported
  only, a health query this node does not support.

The values are the words the JSON files carry, so reports of earlier runs read the same.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    REGRESSED = "regressed"  # a timing or count worse than its baseline beyond its band
    IMPROVED = "improved"
    CHANGED = "changed"
    NO_BASELINE = "no-baseline"
    INCONCLUSIVE = "inconclusive"
    NOT_COMPARABLE = "not-comparable"
    NOT_JUDGED = "not-judged"  # a health check that could not be judged
    RECORDED = "recorded"
    INFO = "info"
    SKIP = "skip"


BLOCKING = frozenset({Verdict.FAIL, Verdict.REGRESSED})
UNJUDGED = frozenset({Verdict.NO_BASELINE, Verdict.INCONCLUSIVE, Verdict.NOT_COMPARABLE,
                      Verdict.NOT_JUDGED})
PASSING = frozenset({Verdict.PASS, Verdict.IMPROVED})
# Neither a pass nor a failure: a run of only these judged nothing.
NOT_A_JUDGEMENT = UNJUDGED | {Verdict.RECORDED, Verdict.INFO, Verdict.SKIP}


def blocks(verdict: str) -> bool:
    return verdict in BLOCKING


def unjudged(verdict: str) -> bool:
    return verdict in UNJUDGED
