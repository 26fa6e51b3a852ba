"""Machine equivalence (stackqual.calibration): a timing baseline is compared only on a
machine whose yardsticks match the ones recorded with it. In-process pytest runs
(pytester) with a fixed calibration, so that the verdicts depend on the rule alone."""

import json
import shutil

import pytest

from stackqual import calibration, timed
from selftests.support import REPO, SPIN, fixed_calibration

pytest_plugins = ["pytester"]

TIMED_TESTS = SPIN + """
def test_speed(perf):
    perf.speed("speedup", lambda: spin(200e-6), lambda: spin(100e-6), names=("slow", "fast"))

def test_compile_time(perf):  # seconds long enough that the 50% band, not the +0.5 s
    perf.time("compile_s", [2.00, 2.08], tolerance="compile_s")  # slack, is the edge
"""
FAST = ["--profile", "cpu-test", "--perf-min-rounds", "6", "--perf-max-time", "1"]


@pytest.fixture(autouse=True)
def compile_time_declared(pytester):
    """compile_s's band (50%, at least +0.5 s) as the compile suite declares it."""
    folder = pytester.mkdir("suites") / "compile"
    folder.mkdir()
    shutil.copy(REPO / "suites" / "compile" / "suite.toml", folder / "suite.toml")


@pytest.fixture
def suite(pytester, steady_machine):
    pytester.makepyfile(test_timed=TIMED_TESTS)
    result = pytester.runpytest(*FAST, "--update-baselines")
    if "not recorded, the machine was busy" in result.stdout.str():
        pytest.skip("the machine was busy (other processes used its CPUs): baselines are not "
                    "recorded then; rerun the self-tests on a quiet machine")
    result.assert_outcomes(passed=2)
    return pytester


def baseline(pytester) -> dict:
    return json.loads((pytester.path / "baselines" / "cpu-test" /
                       f"{pytester.path.name}.json").read_text())


def test_each_timing_is_recorded_with_its_calibration(suite):
    recorded = baseline(suite)["recorded"]["calibration"]
    assert set(recorded) == {"test_timed.py::test_speed#speedup",
                             "test_timed.py::test_compile_time#compile_s"}
    assert recorded["test_timed.py::test_speed#speedup"] == fixed_calibration()


def test_no_baseline_is_recorded_in_a_slow_phase(pytester, monkeypatch):
    """The first timing is recorded at the machine's usual speed; then the host enters a
    slow phase (every yardstick 1.6x slower, for longer than the waiting budget): the
    second timing is not recorded, and says why."""
    def machine():
        yield fixed_calibration()  # before test_speed
        while True:
            yield fixed_calibration(scale=1.6)
    calibrations = machine()
    monkeypatch.setattr(calibration, "measure", lambda device="cpu": next(calibrations))
    pytester.makepyfile(test_timed=TIMED_TESTS)
    result = pytester.runpytest(*FAST, "--update-baselines")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_compile_time: not recorded: this machine ran slower "
                                 "than its usual speed in this run (gemm: 0.625 GFLOP/s here, "
                                 "1 recorded (1.60x slower*a shared host's slow phase*"])
    recorded = baseline(pytester)["recorded"]["calibration"]
    assert set(recorded) == {"test_timed.py::test_speed#speedup"}


def test_a_baseline_of_a_machine_1_6x_slower_is_not_comparable(suite, steady_machine):
    """The baseline's machine was 1.6x slower on every yardstick (simulated: this machine
    is 1.6x faster): every timed check is "not comparable", naming each yardstick and the
    factor, and the run passes."""
    steady_machine(fixed_calibration(scale=1 / 1.6))
    result = suite.runpytest(*FAST, "-rs", "--report-dir", "out")
    result.assert_outcomes(skipped=2)
    for check in ("test_speed#speedup", "test_compile_time#compile_s"):
        result.stdout.fnmatch_lines([
            f"*{check}: not comparable: this machine is not the one the baseline in "
            "*.json was measured on (gemm: 1.6 GFLOP/s here, 1 recorded (1.60x faster, "
            "beyond the 15% tolerance); memory: 1.6 GB/s here, 1 recorded (1.60x faster*"])
    result.stdout.fnmatch_lines(["*not comparable: 2 timed checks*",
                                 "*record this machine's baselines: pytest suites "
                                 "--update-baselines*"])
    [report] = (suite.path / "out").glob("*.json")
    verdicts = {c["metric"]: c["verdict"] for c in json.loads(report.read_text())["checks"]}
    assert verdicts == {"speedup": "not-comparable", "compile_s": "not-comparable"}
    [summary] = (suite.path / "out").glob("*.md")
    assert "not comparable: `test_timed.py::test_speed#speedup`" in summary.read_text()


def test_a_machine_within_the_tolerance_is_compared(suite, steady_machine):
    steady_machine(fixed_calibration(scale=1.10))
    suite.runpytest(*FAST).assert_outcomes(passed=2)


def test_a_regression_is_not_comparable_when_the_machine_changed_meanwhile(
        suite, steady_machine, monkeypatch):
    """The calibration taken after a regressed timing no longer matches the baseline's (a
    shared host entering a slow phase): "not comparable", never "regressed"."""
    calibrations = iter([fixed_calibration(), fixed_calibration(scale=1.8)])
    monkeypatch.setattr(calibration, "measure", lambda device="cpu": next(calibrations))
    slowed = TIMED_TESTS.replace("perf.time(\"compile_s\", [2.00, 2.08]",
                                 "perf.time(\"compile_s\", [6.00, 6.08]")
    suite.makepyfile(test_timed=slowed)
    result = suite.runpytest(*FAST, "-rs", "-k", "compile_time")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*compile_s: not comparable: this machine (calibrated again "
                                 "after a regressed timing) is not the one*"])


def test_the_same_machine_still_catches_a_regression(suite):
    slowed = TIMED_TESTS.replace("perf.time(\"compile_s\", [2.00, 2.08]",
                                 "perf.time(\"compile_s\", [6.00, 6.08]")
    suite.makepyfile(test_timed=slowed)
    result = suite.runpytest(*FAST, "-k", "compile_time")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*compile_s regressed: compile_s = 6.0 s (CPU time, the "
                                 "fastest of *), whole interval above the baseline "
                                 "2 s +50% = 3 s*"])


@pytest.mark.parametrize("recorded,here,expected", [
    (fixed_calibration(), fixed_calibration(), []),
    (fixed_calibration(), fixed_calibration(1.14), []),
    (fixed_calibration(), fixed_calibration(1 / 1.14), []),
    (None, fixed_calibration(), ["the baseline was recorded without a calibration"]),
    ({**fixed_calibration(), "threads": 2}, fixed_calibration(), ["threads: 2 recorded"]),
])
def test_differences(recorded, here, expected):
    found = calibration.differences(recorded, here, tolerance=0.15)
    assert len(found) == len(expected) and all(
        line.startswith(prefix) for line, prefix in zip(found, expected)), found


def test_every_yardstick_beyond_the_tolerance_is_named():
    found = calibration.differences(fixed_calibration(), fixed_calibration(1.2), 0.15)
    assert [line.split(":")[0] for line in found] == [y.name for y in calibration.YARDSTICKS]
    assert "1.20x slower" in found[0]


def test_the_yardsticks_measure_this_machine():
    here = calibration.measure("cpu")
    assert set(here["yardsticks"]) == {y.name for y in calibration.YARDSTICKS}
    assert all(f["rate"] > 0 and f["median_s"] > 0 for f in here["yardsticks"].values())
    assert here["threads"] == calibration.CPU_THREADS


@pytest.mark.parametrize("higher,half_width,tolerance,expected", [
    (True, 0.05, 0.10, 1.05 / 0.90 - 1),  # a ratio: (1 + u) / (1 - t) - 1
    (False, 0.05, 0.50, 1.50 * 1.05 - 1),  # a time: (1 + t)(1 + u) - 1
])
def test_minimum_detectable_change(higher, half_width, tolerance, expected):
    m = timed.Measured(2.0, 2.0 * (1 - half_width), 2.0 * (1 + half_width), "x")
    band = timed.Band(2.0, tolerance, higher, "policy")
    assert timed.detectable_change(m, band) == pytest.approx(expected)
    judgement = timed.judge("speedup", m, band)
    assert judgement.verdict == "pass"
    assert f"would have caught a slowdown of {expected:.0%} or more" in judgement.message
    assert not judgement.noise_limited


def test_a_check_noisier_than_its_tolerance_says_so():
    m = timed.Measured(2.0, 1.7, 2.5, "x")  # +-20% against a 10% band
    judgement = timed.judge("speedup", m, timed.Band(2.0, 0.10, True, "policy"))
    assert judgement.verdict == "inconclusive" and judgement.noise_limited
    assert "noise-limited: its own spread is wider than the tolerance" in judgement.message
