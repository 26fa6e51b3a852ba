"""`stackqual ab`: two stacks timed against each other in alternating processes.

The gate must fail on what it exists to catch (a candidate whose eager and compiled paths
are both 20% slower: every in-process ratio gate passes it) and stay quiet on two copies of
one stack."""

import json
import stat
import subprocess
import sys

import pytest

from selftests.support import REPO, unguarded_environ
from stackqual import ab, compare, figures, plugin, policy

# The CNN: milliseconds per call, whose paths' times stayed within 4% across pairs of
# processes of one environment (docs/upgrades.md); the MLP's moved by up to 20% in one pair.
CASE = ("suites/compile/test_speed.py::test_speedup_holds_against_baseline"
        "[cnn-inductor-default-fp32-cpu-inference-1thread]")
CHECK = "test_speed.py::test_speedup_holds_against_baseline" \
        "[cnn-inductor-default-fp32-cpu-inference-1thread]#speedup"


def figure(value: float, busy: float = 0.0, unit: str = "s") -> figures.Figure:
    return figures.Figure("case#speedup [eager]", "compile", value, unit, busy)


def by_process(*found: figures.Figure) -> dict:
    """Figures keyed by their process number, as ab pairs them."""
    return dict(enumerate(found, 1))


# -- the statistics, on figures given -------------------------------------------------------

def test_processes_alternate_so_that_each_pair_is_adjacent():
    assert ab.order(3) == ["base", "candidate", "candidate", "base", "base", "candidate"]


@pytest.mark.parametrize("given, expected", [
    ([], ["-m", "timed"]),
    (["suites", "-m", "gpu"], ["suites", "-m", "timed and (gpu)"]),
    (["-mnot slow", "-k", "mlp"], ["-k", "mlp", "-m", "timed and (not slow)"]),
])
def test_the_selection_is_narrowed_to_timed_tests(given, expected):
    assert plugin.narrowed(given, "timed") == expected


def test_same_figures_pass_and_a_slower_candidate_regresses():
    base = by_process(figure(1.00), figure(1.02), figure(0.99))
    same = ab.judge_case("f", base, by_process(figure(1.01), figure(0.99), figure(1.00)))
    assert same.verdict == "pass", same.message
    assert "would have caught a slowdown of" in same.message
    slower = ab.judge_case("f", base, by_process(figure(1.20), figure(1.23), figure(1.18)))
    assert slower.verdict == "regressed", slower.message
    assert "candidate/base time = 1.2" in slower.message
    assert "PERF_TOLERANCE['speedup']" in slower.message


def test_a_rate_that_drops_is_a_slower_candidate():
    base = by_process(*[figure(100.0, unit="GB/s") for _ in range(3)])
    case = ab.judge_case("f", base, by_process(*[figure(v, unit="GB/s")
                                                 for v in (80.0, 79.0, 81.0)]))
    assert case.verdict == "regressed" and case.ratio > 1.2, case.message


def test_a_busy_machine_never_regresses():
    base = by_process(figure(1.00), figure(1.01), figure(1.00))
    case = ab.judge_case("f", base, by_process(figure(1.3), figure(1.3, busy=0.5), figure(1.3)))
    assert case.verdict == "inconclusive" and "busy" in case.message, case.message


def test_a_figure_missing_on_one_side_is_not_judged_and_pairs_stay_adjacent():
    case = ab.judge_case("f", by_process(*[figure(1.0)] * 3), {})
    assert case.verdict == "inconclusive"
    assert "0 candidate processes, 0 adjacent pairs" in case.message
    # base process 2 and candidate process 3 lost the figure: only pair 1 is whole
    case = ab.judge_case("f", {1: figure(1.0), 3: figure(1.0)}, {1: figure(1.0), 2: figure(1.0)})
    assert case.verdict == "inconclusive" and "1 adjacent pairs" in case.message


def test_figures_come_from_each_kind_of_timed_check_and_count_a_measurement_once():
    checks = [
        {"check_id": "a#speedup", "suite": "compile", "verdict": "no-baseline",
         "details": {"a": {"name": "eager", "median_s": 2e-3},
                     "b": {"name": "compiled", "median_s": 1e-3}, "others_busy": 0.01}},
        {"check_id": "a#speedup_floor", "metric": "speedup_floor", "suite": "compile",
         "verdict": "pass",
         "details": {"a": {"name": "eager", "median_s": 2e-3},
                     "b": {"name": "compiled", "median_s": 1e-3}}},
        {"check_id": "b#compile_s", "suite": "compile", "verdict": "no-baseline",
         "details": {"samples_s": [3.0, 2.5]}},
        {"check_id": "c#rate", "suite": "hardware", "verdict": "no-baseline",
         "details": {"rates": [10.0, 30.0, 20.0], "unit": "GB/s"}},
    ]
    found = figures.figures(checks)
    assert {n: (f.value, f.unit) for n, f in found.items()} == {
        "a#speedup [eager]": (2e-3, "s"), "a#speedup [compiled]": (1e-3, "s"),
        "b#compile_s": (2.5, "s"), "c#rate": (20.0, "GB/s")}


def test_compare_takes_abs_regressions_as_blocking():
    result = compare.Comparison("base", "candidate", "cpu-x", [])
    case = ab.judge_case("t#speedup [eager]", by_process(*[figure(1.0)] * 3),
                         by_process(*[figure(1.25)] * 3))
    compare.add_ab(result, {"kind": "ab", "profile": "cpu-x", "cases": [vars(case)]})
    [change] = result.blocking
    assert (change.kind, change.what) == ("regressed", "ab t#speedup [eager]")
    assert "ab t#speedup [eager]" in compare.markdown(result)
    with pytest.raises(compare.CompareError, match="profile"):
        compare.add_ab(result, {"kind": "ab", "profile": "cpu-y", "cases": []})


def test_bad_usage_is_exit_4(tmp_path):
    assert ab.main(["--base", str(tmp_path / "none"), "--candidate", sys.executable], REPO) == 4
    assert ab.main(["--base", sys.executable, "--candidate", sys.executable, "--rounds", "1"],
                   REPO) == 4
    (tmp_path / "ab.json").write_text("{}")
    with pytest.raises(ValueError, match="not a stackqual ab result"):
        ab.load(tmp_path)


# -- real runs: the same stack twice, and a stack slower on both paths ----------------------

def run_ab(tmp_path, candidate: str, rounds: int = 2) -> tuple[int, dict, str]:
    out = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "stackqual.cli", "ab", "--base", sys.executable, "--candidate",
         candidate, "--rounds", str(rounds), "--report-dir", str(out), CASE],
        cwd=REPO, capture_output=True, text=True, timeout=900, env=unguarded_environ())
    [result] = out.glob("ab-*/ab.json")
    return proc.returncode, json.loads(result.read_text()), proc.stdout + proc.stderr


def slowed_python(tmp_path) -> str:
    """A candidate "environment": this interpreter with the fault loaded into its pytest."""
    script = tmp_path / "slowed-python"
    script.write_text("#!/bin/sh\nexport PYTEST_PLUGINS=selftests.faults.compile.slow_both_paths"
                      f"\nexec {sys.executable} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.slow
def test_the_same_stack_on_both_sides_regresses_nothing(tmp_path):
    code, result, output = run_ab(tmp_path, sys.executable)
    names = {c["name"] for c in result["cases"]}
    assert names == {f"{CHECK} [eager]", f"{CHECK} [compiled]"}, output
    assert code in (0, 2) and not [c for c in result["cases"] if c["verdict"] == "regressed"], \
        output


@pytest.mark.slow
def test_a_candidate_slower_on_both_paths_is_regressed_by_ab_while_the_ratio_gate_passes(
        tmp_path, run_suite):
    slowed = slowed_python(tmp_path)
    code, result, output = run_ab(tmp_path, slowed)
    verdicts = {c["name"]: c["verdict"] for c in result["cases"]}
    assert code != 0 and "pass" not in verdicts.values(), output  # never a pass
    if code == 2 and set(verdicts.values()) == {"inconclusive"}:
        pytest.skip("this machine's process-to-process noise was wider than the 20% fault "
                    f"over two pairs (an honest inconclusive, exit 2, never a pass): "
                    f"{[c['message'] for c in result['cases']]}; rerun on a quiet machine")
    assert code == 1, output
    assert verdicts == {f"{CHECK} [eager]": "regressed", f"{CHECK} [compiled]": "regressed"}, \
        output
    # The ratio measures the 20% fault: beyond the band (caught), and no more than the fault
    # explains. On a shared host a neighbour can slow some processes and push the point
    # past that (1.49 [1.23, 1.81] seen on the 2-vCPU cpu-avx512 host, 2026-12-02): what
    # must hold is that the interval's low end stays within 1.35.
    ratios = [c["ratio"] for c in result["cases"]]
    assert all(1 + policy.PERF_TOLERANCE["speedup"][0] < r for r in ratios), output
    assert all(c["low"] < 1.35 for c in result["cases"]), output
    # The in-process gate, against a baseline the clean stack records here and now, passes
    # the same fault: eager/compiled did not move.
    baselines = tmp_path / "baselines"
    recorded = run_suite(CASE, "--update-baselines", "--baselines-dir", str(baselines))
    assert recorded.returncode == 0, recorded.output
    faulted = run_suite(CASE, "--baselines-dir", str(baselines),
                        faults=("compile.slow_both_paths",))
    assert faulted.check("speedup")["verdict"] == "pass", faulted.output


@pytest.mark.parametrize("figure, device, expected", [
    ("t.py::test_speedup[mlp]#speedup [compiled]", "cpu", "speedup"),
    ("t.py::test_throughput[tiny-bert]#throughput_vs_yardstick [yardstick]", "cpu",
     "throughput"),
    ("t.py::test_compile_time[mlp]#compile_s", "cpu", "compile_s"),
    ("t.py::test_peak[gemm-bf16-cuda]#rate", "cuda", "hardware_cuda"),
])
def test_a_figure_is_judged_with_its_checks_in_process_tolerance(figure, device, expected):
    tol, why = policy.ab_tolerance(figure, device)
    assert tol == policy.PERF_TOLERANCE[expected][0] and f"[{expected!r}]" in why
