"""The timing module: the statistics on synthetic samples of known ratio and noise, and
the measurement loop's guards (adaptive rounds, recompiles, thread count)."""

import time

import numpy as np
import pytest
import torch

from stackqual import intervals, judge, timed, timing
from stackqual.timing import TimingConfig
from selftests.support import REPO


@pytest.mark.parametrize("low,high,expected", [
    (0.95, 1.05, "pass"),  # contains the baseline
    (0.91, 0.99, "pass"),  # below it, but inside the 10% band
    (0.70, 0.85, "regressed"),  # wholly below the band
    (1.15, 1.30, "improved"),  # wholly above the band
    (1.05, 1.30, "pass"),  # may be better, cannot be worse
    (0.80, 1.00, "inconclusive"),  # straddles the band's lower edge
])
def test_verdict_places_the_interval_against_the_band(low, high, expected):
    assert judge.ratio_band(low, high, expected=1.0, tolerance=0.10) == expected


def synthetic(ratio: float, noise: float, rounds: int, seed: int):
    """Per-call times of A and B: B is `ratio` times faster, each sample with lognormal
    noise of sigma `noise`."""
    rng = np.random.default_rng(seed)
    a = 1e-3 * np.exp(rng.normal(0, noise, rounds))
    b = 1e-3 / ratio * np.exp(rng.normal(0, noise, rounds))
    return a, b


def test_interval_recovers_a_known_ratio():
    a, b = synthetic(ratio=1.5, noise=0.05, rounds=40, seed=1)
    estimate, low, high = timing.ratio_interval(a, b)
    assert low < 1.5 < high
    assert estimate == pytest.approx(1.5, rel=0.03)
    assert (high - low) / 2 / estimate < 0.05


@pytest.mark.parametrize("true_ratio,noise,rounds,expected", [
    (2.0, 0.03, 40, "pass"),  # unchanged
    (1.6, 0.03, 40, "regressed"),  # 20% slower
    (2.4, 0.03, 40, "improved"),  # 20% faster
    (1.8, 0.40, 10, "inconclusive"),  # 10% slower, but too noisy to tell
])
def test_known_ratio_and_noise_give_the_right_verdict(true_ratio, noise, rounds, expected):
    baseline = 2.0
    verdicts = set()
    for seed in range(20):
        _, low, high = timing.ratio_interval(*synthetic(true_ratio, noise, rounds, seed))
        verdicts.add(judge.ratio_band(low, high, baseline, tolerance=0.10))
    if expected == "inconclusive":  # mostly undecided, and never the wrong direction
        assert "improved" not in verdicts and "inconclusive" in verdicts, verdicts
    else:
        assert verdicts == {expected}, verdicts


def spin(seconds: float):
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def test_measure_times_a_known_ratio():
    c = timing.measure(lambda: spin(400e-6), lambda: spin(200e-6), names=("slow", "fast"),
                       config=TimingConfig(min_rounds=10, sample_s=0.004))
    assert c.low <= c.ratio <= c.high
    assert c.ratio == pytest.approx(2.0, rel=0.1), c.describe()
    # each side its own calls per sample: about 4 ms of samples each (10 and 20 calls)
    assert c.rounds == 10 and c.a.calls >= 7 and c.b.calls >= 15 and c.stopped == "decided"
    assert c.b.calls >= 1.5 * c.a.calls
    assert c.threads == torch.get_num_threads()
    assert "slow/fast = " in c.describe() and "10 rounds of" in c.describe()


@pytest.mark.slow
def test_the_fixed_size_confirmation_keeps_the_stated_rate_that_optional_stopping_breaks(
        record_property):
    """Unchanged code at its worst: the true ratio exactly on the band's failing edge, so
    that any "regressed" is a false alarm. Adding rounds in batches until the 95% interval
    decides (the first measurement, up to 10 looks) calls it regressed more often than the
    2.5% one look allows; the gate's verdict rests on a fresh measurement of a size fixed
    before it starts (stackqual.timing.measure_again), which keeps 2.5%. Synthetic
    samples (lognormal noise of 5%, the CNN's per-sample spread order), no clock."""
    tolerance, batch, most = 0.10, 20, 200
    band = timed.Band(1.0 / (1 - tolerance), tolerance, True, "synthetic")
    rng = np.random.default_rng(0)

    def rounds(n):
        return 1e-3 * np.exp(rng.normal(0, 0.05, n)), 1e-3 * np.exp(rng.normal(0, 0.05, n))

    def placed(a, b) -> str:
        ratio, low, high = timing.ratio_interval(a, b)
        return timed.placement(timed.Measured(ratio, low, high, ""), band)

    first, gate, trials = 0, 0, 400
    for _ in range(trials):
        a, b = rounds(most)
        for n in range(batch, most + 1, batch):  # the first measurement's looks
            verdict = placed(a[:n], b[:n])
            if verdict != "inconclusive":
                break
        if verdict == "regressed":
            first += 1
            gate += placed(*rounds(n)) == "regressed"  # the confirmation: n rounds, one look
    record_property("regressed", f"first measurement {first}/{trials}, gate {gate}/{trials}")
    first_low, _ = intervals.clopper_pearson(first, trials)
    assert first_low > 0.025, f"optional stopping: {first}/{trials} regressed"
    assert gate <= 0.025 * trials, f"the gate: {gate}/{trials} regressed"


def test_undecided_measurement_stops_at_the_round_cap():
    c = timing.measure(lambda: spin(50e-6), lambda: spin(50e-6), decided=lambda c: False,
                       config=TimingConfig(min_rounds=10, max_rounds=30, sample_s=0.001))
    assert (c.rounds, c.stopped) == (30, "max rounds (30)")


def test_a_confirmation_takes_exactly_the_rounds_of_the_first_and_looks_once():
    first = timing.measure(lambda: spin(50e-6), lambda: spin(50e-6), decided=lambda c: False,
                           config=TimingConfig(min_rounds=10, max_rounds=30, sample_s=0.001))
    again = timing.measure_again(lambda: spin(50e-6), lambda: spin(50e-6), first,
                                 config=TimingConfig(min_rounds=10, sample_s=0.001))
    assert again.rounds == first.rounds == 30 and again.stopped == "fixed 30 rounds"
    assert again.a.times_s != first.a.times_s  # fresh samples


def test_undecided_measurement_stops_at_the_time_cap():
    c = timing.measure(lambda: spin(50e-6), lambda: spin(50e-6), decided=lambda c: False,
                       config=TimingConfig(min_rounds=5, max_rounds=10_000, max_time_s=0.2,
                                           sample_s=0.005))
    assert c.stopped == "time cap (0.2 s)" and c.rounds < 10_000


OFFSET = 1


def test_a_recompile_during_the_rounds_is_an_error():
    """A guard that fails mid-measurement (here a global the compiled code read) would time
    the compiler; dynamo's error_on_recompile turns it into an error."""
    global OFFSET
    compiled = torch.compile(lambda x: x + OFFSET, backend="eager")
    x = torch.ones(4)
    calls = []

    def b():
        global OFFSET
        calls.append(1)
        if len(calls) == 100:  # past warm-up and calibration (a few dozen calls at most)
            OFFSET = 2
        return compiled(x)
    try:
        with pytest.raises(torch._dynamo.exc.RecompileError):
            # Never decided: the rounds go on (to max_rounds) until the guard fails, however
            # few calls per sample a slow host calibrates to (with 1 per sample, 10 rounds
            # once ended before the 20th call and the test saw no recompile).
            timing.measure(lambda: x + 1, b, config=TimingConfig(min_rounds=10,
                                                                 sample_s=1e-4),
                           decided=lambda c: False)
    finally:
        OFFSET = 1
        torch._dynamo.reset()


def test_a_thread_count_change_during_the_rounds_is_an_error():
    threads = torch.get_num_threads()
    calls = []

    def b():
        calls.append(1)
        if len(calls) == 20:
            torch.set_num_threads(threads + 1)
    try:
        with pytest.raises(RuntimeError, match=rf"thread count changed during timing "
                                               rf"\({threads} -> {threads + 1}\)"):
            timing.measure(lambda: None, b, config=TimingConfig(min_rounds=10, sample_s=1e-5))
    finally:
        torch.set_num_threads(threads)


def test_each_side_is_calibrated_on_its_own():
    """A 50 us side against a 5 ms side: one calls-per-sample count for both (set by the
    fast side) made each slow sample 200 x 5 ms = 1 s; each side its own keeps both near
    sample_s."""
    c = timing.measure(lambda: spin(50e-6), lambda: spin(5e-3), names=("fast", "slow"),
                       config=TimingConfig(min_rounds=4, sample_s=0.01))
    assert c.a.calls >= 100 and c.b.calls <= 3, (c.a.calls, c.b.calls)
    assert c.elapsed_s < 2.0, c.describe()
    assert "rounds of" in c.describe() and "(fast) and" in c.describe()


@pytest.mark.parametrize("baseline,measured,verdict", [
    (0.26, 0.47, "pass"),  # a tiny compile's fixed part moving: within +0.5 s
    (0.26, 0.80, "regressed"),  # beyond +0.5 s
    (9.35, 12.0, "pass"),  # a large compile: the 50% band applies
    (9.35, 14.5, "regressed"),
])
def test_a_compile_time_band_is_at_least_its_slack_in_seconds(baseline, measured, verdict):
    from stackqual import declared, policy, timed

    known = declared.tolerances(REPO / "suites", policy.PERF_TOLERANCE)
    tol, source = policy.perf_tolerance("compile_s", known, baseline=baseline)
    assert tol == max(0.5, 0.5 / baseline)
    assert ("+0.5 s" in source) == (0.5 / baseline > 0.5)
    band = timed.Band(baseline, tol, higher_is_better=False, source=source, unit=" s")
    m = timed.Measured(measured, measured, measured + 0.01, f"compile_s = {measured} s")
    assert timed.judge("compile_s", m, band).verdict == verdict
