"""Mutation tests of the performance gate, through real runs of the compile suite's speed
case in fresh processes, each with its own baselines folder: a compiled path made 20%
slower is "regressed" against a baseline recorded without it (a failing run, with
--benchmark-compare too), stating its minimum detectable change; the reverse,
twice as fast as the baseline, is "improved"."""

import re

import pytest

pytestmark = pytest.mark.slow

SPEED = ("suites/compile/test_speed.py::test_speedup_holds_against_baseline"
         "[cnn-inductor-default-fp32-cpu-inference-1thread]")


def recorded(run, *args, **kwargs):
    """A recording run; the gate refuses to record on a busy machine (policy), and then
    this self-test cannot run either."""
    result = run(SPEED, *args, "--update-baselines", **kwargs)
    if "not recorded, the machine was busy" in result.output:
        pytest.skip("the machine was busy (other processes used its CPUs): baselines are not "
                    "recorded then; rerun the self-tests on a quiet machine")
    assert result.returncode == 0, result.output
    return result


# Verdicts that say the machine, not the code, left the question open: a shared host's slow
# phase (not comparable) or a busy or disagreeing confirmation (inconclusive). The compare
# run is repeated then, at most twice more; a wrong verdict is never retried.
UNDECIDED = ("not-comparable", "inconclusive")


def compared(run_suite, *args, **kwargs):
    for _ in range(3):
        result = run_suite(SPEED, *args, **kwargs)
        if result.check("speedup")["verdict"] not in UNDECIDED:
            break
    check = result.check("speedup")
    if check["verdict"] == "not-comparable":
        pytest.skip("this machine's calibration differed from the one taken when the baseline "
                    "was recorded in 3 compare runs (a shared host's slow phase, "
                    "docs/timing.md), so the gate could not be exercised; rerun the "
                    "self-tests on a quieter machine: " + check["message"])
    if check["verdict"] == "inconclusive":
        # Seen in a CI-like run once nothing else loaded the machine (2026-12-03): three
        # compare runs undecided, the last one's 20% slower compiled path at 2.339 [2.188,
        # 2.606] against the band's edge 2.661, its confirmation 2.625 [2.287, 2.707]
        # (compiled +-13.8% IQR); the test then failed on exit 0.
        pytest.skip("this machine's noise left the 20% fault undecided in 3 compare runs (an "
                    "honest inconclusive, never a pass); rerun the self-tests on a quieter "
                    "machine: " + check["message"])
    return result


def test_injected_slowdown_is_regressed(run_suite, tmp_path, record_property):
    baselines = ["--baselines-dir", str(tmp_path / "baselines")]
    baseline = recorded(run_suite, *baselines).check("speedup")["measured"]

    slowed = compared(run_suite, *baselines, "--benchmark-compare",
                      faults=["compile.slow_compiled"])
    assert slowed.returncode == 1, slowed.output
    check = slowed.check("speedup")
    assert check["verdict"] == "regressed", slowed.output
    # The check's record keeps the smallest slowdown the gate would have caught
    # (stackqual.timed); a noise-limited measurement says so in its message too.
    detectable = check["details"]["detectable_slowdown"]
    record_property("detectable_slowdown", detectable)
    assert 0 < detectable < 1, slowed.output
    if check["details"]["noise_limited"]:
        assert re.search(r"would have caught a slowdown of \d+% or more \(noise-limited",
                         slowed.output), slowed.output
    # 20% more compiled time divides the speedup by 1.2, read where the measurement resolves
    # 20%. On a noisy host it does not: in a CI-like run (2026-12-03, compiled +-34.9% IQR)
    # the gate said "would have caught a slowdown of 25% or more (noise-limited)" and
    # measured 2.230 [1.969, 2.529] against 2.937 / 1.2 = 2.448, 9% off; it caught the 20%
    # fault all the same, which is what this test proves. Before, the test asserted a
    # resolution below 20% and failed there.
    if detectable < 0.20:
        assert check["measured"] == pytest.approx(baseline / 1.2, rel=0.08), slowed.output
    case = "cnn-inductor-default-fp32-cpu-inference-1thread"
    assert f"[{case}]: speedup regressed: eager/compiled = " in slowed.output
    assert f"whole interval below the baseline {baseline:.3f} -10%" in slowed.output
    assert "Comparing against benchmarks from:" in slowed.output  # pytest-benchmark's compare


def test_injected_speedup_is_improved_never_regressed(run_suite, tmp_path):
    """The baseline is recorded with the compiled path twice as slow, so that the clean code
    is wholly above the +10% band. With a 20% gain the interval's low end (about +/-5-8% on
    the 2-vCPU CI VM) sat at the band's edge, and "pass" was as right an answer as
    "improved"; with 40% a CI run still measured the clean code inside the band (its compiled
    calls 331-662 us in one measurement), so the margin is now 100%."""
    baselines = ["--baselines-dir", str(tmp_path / "baselines")]
    slowed = recorded(run_suite, *baselines, faults=["compile.slow_compiled"],
                      env={"STACKQUAL_FAULT_SLOWDOWN": "1.0"})

    faster = compared(run_suite, *baselines)
    both = f"recorded slowed:\n{slowed.output}\ncompared clean:\n{faster.output}"
    assert faster.returncode == 0, both
    assert faster.check("speedup")["verdict"] == "improved", both
    assert "improved: test_speed.py::test_speedup_holds_against_baseline" in faster.output
    assert "consider --update-baselines" in faster.output
