"""Unchanged code must not be called "regressed" more often than the gate says: the compile
suite's CNN speed case judged 60 times in one process against a baseline taken at its
start, by the gate's own rule (stackqual.timed.judge: the first measurement adds rounds
until its interval decides, a regression is then measured again with a fixed number of
rounds, and a busy machine is never regressed), on one thread as the suite's CPU speed
cases are, on whatever noisy machine runs the self-tests (2 shared cores in CI).

The rate it states: a confirmation of a fixed size falls wholly below the band by chance at
most 2.5% of the time (one side of a 95% interval), whatever the first measurement did
(stackqual.timing.measure_again), so a clean run may call 1.5 in 60 regressed on average;
more than 6 in 60 happens with probability 0.07% at that rate (binomial), so it is a
defect. The first measurement's own rate (optional stopping) is reported beside it.

60 judgements, not 100 as before: the test took 99-344 s of every CI run (a shared host's
slow phase widens every interval, and each judgement adds rounds up to its 10 s), the most
of any self-test (issue 26). The power to catch a gate that lost its confirmation lives in
selftests/test_timing.py (400 synthetic trials on the band's failing edge: optional stopping
regressed 11.8% of them); at that rate this test would fail with probability 57% (85% with
100), and on real clean code the first measurement alone has regressed 0 of 100 here.
Scheduled (selftests/conftest.py): it runs nightly with --scheduled, not on every change."""

import pytest
import torch

from stackqual import intervals, policy, timed, timing
from stackqual.cases import timing_threads
from stackqual.verdicts import Verdict
from suites.compile.models import MODELS

pytestmark = [pytest.mark.slow,
              pytest.mark.scheduled("60 judgements of clean code's timing, 1-6 minutes")]

REPETITIONS = 60
STATED_RATE = 0.025  # one side of the confirmation's 95% interval
MOST_REGRESSED = 6  # P(Binomial(60, 0.025) > 6) = 0.0007


def test_unchanged_code_is_regressed_no_more_often_than_the_gate_states(record_property):
    tolerance, _ = policy.perf_tolerance("speedup")
    threads = torch.get_num_threads()
    torch.set_num_threads(timing_threads("cpu"))  # as the suite's CPU speed cases do
    spec = MODELS["cnn"]
    torch.compiler.reset()
    model = spec.build().eval()
    inputs = spec.inputs(spec.batch)
    compiled = torch.compile(model)
    config = timing.TimingConfig()

    def eager():
        return model(*inputs)

    def fast():
        return compiled(*inputs)

    first, judged = [], []
    with torch.no_grad():
        baseline = timing.measure(eager, fast, config=config,
                                  decided=lambda c: c.half_width <= tolerance / 2).ratio
        band = timed.Band(baseline, tolerance, True, "a baseline this test measured")

        def decided(c):
            return timed.placement(timed.Measured.of(c), band) != Verdict.INCONCLUSIVE

        for _ in range(REPETITIONS):
            c = timing.measure(eager, fast, config=config, decided=decided)
            first.append(timed.placement(timed.Measured.of(c), band))
            judged.append(timed.judge("speedup", timed.Measured.of(c), band, confirm=lambda c=c:
                                      timed.Measured.of(timing.measure_again(
                                          eager, fast, c, config=config))))
    torch.compiler.reset()
    torch.set_num_threads(threads)

    def rate(verdicts) -> str:
        k = verdicts.count(Verdict.REGRESSED)
        low, high = intervals.clopper_pearson(k, len(verdicts))
        return f"{k}/{len(verdicts)} regressed (95% interval {low:.1%}-{high:.1%})"

    verdicts = [j.verdict for j in judged]
    record_property("gate", rate(verdicts))
    record_property("first_measurement", rate(first))
    record_property("verdicts", {str(v): verdicts.count(v) for v in set(verdicts)})
    summary = "\n".join(f"  {j.message}" for j in judged if j.verdict != Verdict.PASS)
    assert verdicts.count(Verdict.REGRESSED) <= MOST_REGRESSED, (
        f"unchanged code: the gate {rate(verdicts)}, the first measurement alone "
        f"{rate(first)}, against the baseline {baseline:.3f} -{tolerance:.0%}; the gate "
        f"states at most {STATED_RATE:.1%} and more than {MOST_REGRESSED} in {REPETITIONS} "
        f"has probability 0.07% at that rate:\n" + summary)
