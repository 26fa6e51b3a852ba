"""`stackqual ab`: two stacks timed against each other in alternating processes.

The gate must fail on what it exists to catch (a candidate whose eager and compiled paths
are both 20% slower: every in-process ratio gate passes it) and stay quiet on two copies of
one stack."""

import json
import shlex
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


def figure(value: float, busy: float = 0.0, unit: str = "s",
           tolerance: float | None = 0.10) -> figures.Figure:
    return figures.Figure("case#speedup [eager]", "compile", value, unit, busy,
                          tolerance=tolerance)


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


def test_the_processes_run_the_timed_and_the_counted_tests():
    assert plugin.narrowed(["suites"], ab.TIERS) == ["suites", "-m", "(timed or counted)"]


def count(value, kind="count", tolerance=0.0):
    return figures.Count("t.py::test_c[k]#kernels", "compile", kind, value, tolerance)


@pytest.mark.parametrize("base, candidate, tolerance, expected, message", [
    (7, 7, 0.0, "pass", "base 7, candidate 7"),
    (7, 8, 0.0, "regressed", "base 7, candidate 8, more than the base"),
    (7, 6, 0.0, "improved", "base 7, candidate 6"),
    (200, 201, 0.01, "pass", "base 200, candidate 201"),
    (200, 203, 0.01, "regressed", "base 200, candidate 203, more than the base +1% = 202 "
                                  "(the check's own tolerance)"),
])
def test_a_count_is_judged_exactly_against_its_own_tolerance(base, candidate, tolerance,
                                                             expected, message):
    case = ab.judge_count("c", by_process(count(base, tolerance=tolerance)),
                          by_process(count(candidate, tolerance=tolerance)))
    assert (case.verdict, case.message) == (expected, message)


def test_a_set_regresses_on_a_new_name_and_a_count_that_varies_is_not_judged():
    ops = ab.judge_count("ops", by_process(count("aten.mm, aten.sqrt", "set")),
                         by_process(count("aten.mm, aten.pow", "set")))
    assert ops.verdict == "regressed", ops.message
    assert ops.message == "new in the candidate: aten.pow; lost: aten.sqrt"
    assert (ops.base, ops.candidate) == ([2.0], [2.0])
    varied = ab.judge_count("c", by_process(count(7), count(8)), by_process(count(7)))
    assert varied.verdict == "inconclusive"
    assert varied.message == "not exact, the processes of a side disagree: base ['7', '8']"
    one_side = ab.judge_count("c", by_process(count(7)), {})
    assert one_side.verdict == "inconclusive" and "on the candidate side by no process" in \
        one_side.message


def test_counts_come_from_checks_that_say_their_kind_whatever_their_verdict():
    checks = [
        {"check_id": "a#kernels", "suite": "compile", "metric": "kernels", "measured": 8,
         "verdict": "no-baseline", "details": {"kind": "count", "tolerance": 0.0}},
        {"check_id": "a#aten_ops", "suite": "compile", "metric": "aten_ops",
         "measured": "aten.mm", "verdict": "fail", "details": {"kind": "set"}},
        {"check_id": "a#graph_breaks", "suite": "compile", "metric": "graph_breaks",
         "measured": 0, "verdict": "pass", "details": {}},
    ]
    assert figures.counts(checks) == {
        "a#kernels": figures.Count("a#kernels", "compile", "count", 8, 0.0),
        "a#aten_ops": figures.Count("a#aten_ops", "compile", "set", "aten.mm", 0.0)}


def test_same_figures_pass_and_a_slower_candidate_regresses():
    base = by_process(figure(1.00), figure(1.02), figure(0.99))
    same = ab.judge_case("f", base, by_process(figure(1.01), figure(0.99), figure(1.00)))
    assert same.verdict == "pass", same.message
    assert "would have caught a slowdown of" in same.message
    slower = ab.judge_case("f", base, by_process(figure(1.20), figure(1.23), figure(1.18)))
    assert slower.verdict == "regressed", slower.message
    assert "candidate/base time = 1.199 [1.182, 1.217] (95% t-interval over 3 pairs" \
        in slower.message
    assert "1 +10% = 1.1 (its check's own in-process tolerance" in slower.message


def test_one_slow_process_in_two_pairs_is_not_a_regression():
    """Defect: the same stack on both sides, one candidate process 59% slower (a neighbour
    on the CI machine, 2026-12-02), was "regressed" [1.116, 1.594]: a percentile bootstrap
    of two ratios is their range. The t interval of the same pairs decides nothing."""
    base = by_process(figure(0.0007422164), figure(0.0007525754))
    slow_once = ab.judge_case("f", base, by_process(figure(0.0008286604),
                                                    figure(0.0011998772)))
    assert slow_once.verdict == "inconclusive", slow_once.message
    assert (slow_once.low, slow_once.high) == pytest.approx((0.139, 12.832), abs=1e-3)
    assert "95% t-interval over 2 pairs of processes" in slow_once.message


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
         "details": {"kind": "speed", "tolerance": 0.1, "a": {"name": "eager", "median_s": 2e-3},
                     "b": {"name": "compiled", "median_s": 1e-3}, "others_busy": 0.01}},
        {"check_id": "a#speedup_floor", "metric": "speedup_floor", "suite": "compile",
         "verdict": "pass",
         "details": {"kind": "speed", "a": {"name": "eager", "median_s": 2e-3},
                     "b": {"name": "compiled", "median_s": 1e-3}}},
        {"check_id": "b#compile_s", "suite": "compile", "verdict": "no-baseline",
         "details": {"kind": "time", "tolerance": 0.5, "samples_s": [3.0, 2.5]}},
        {"check_id": "c#rate", "suite": "hardware", "verdict": "no-baseline",
         "details": {"kind": "rate", "tolerance": 0.35, "rates": [10.0, 30.0, 20.0],
                     "unit": "GB/s"}},
        {"check_id": "d#speedup", "suite": "compile", "verdict": "pass",  # states no kind
         "details": {"a": {"name": "eager", "median_s": 2e-3}}},
    ]
    found = figures.figures(checks)
    assert {n: (f.value, f.unit, f.tolerance) for n, f in found.items()} == {
        "a#speedup [eager]": (2e-3, "s", 0.1), "a#speedup [compiled]": (1e-3, "s", 0.1),
        "b#compile_s": (2.5, "s", 0.5), "c#rate": (20.0, "GB/s", 0.35)}


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

def run_ab(tmp_path, candidate: str, *selection: str, rounds: int = 3
           ) -> tuple[int, dict, str]:
    out = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "stackqual.cli", "ab", "--base", sys.executable, "--candidate",
         candidate, "--rounds", str(rounds), "--report-dir", str(out), *(selection or [CASE])],
        cwd=REPO, capture_output=True, text=True, timeout=900, env=unguarded_environ())
    [result] = out.glob("ab-*/ab.json")
    return proc.returncode, json.loads(result.read_text()), proc.stdout + proc.stderr


def faulted_python(tmp_path, *faults: str, env: dict | None = None) -> str:
    """A candidate "environment": this interpreter with the faults ("<suite>.<fault>",
    selftests/faults/) loaded into its pytest, and `env` exported (a stack fault's
    sitecustomize, selftests/faults/compile/in_the_stack/)."""
    script = tmp_path / "faulted-python"
    plugins = ",".join(f"selftests.faults.{fault}" for fault in faults)
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (env or {}).items())
    script.write_text(f"#!/bin/sh\nexport PYTEST_PLUGINS={plugins}\n{exports}"
                      f"exec {sys.executable} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.slow
@pytest.mark.scheduled("ab's six timed processes with one stack on both sides, 1-2 minutes")
def test_the_same_stack_on_both_sides_regresses_nothing(tmp_path):
    code, result, output = run_ab(tmp_path, sys.executable)
    names = {c["name"] for c in result["cases"]}
    assert names == {f"{CHECK} [eager]", f"{CHECK} [compiled]"}, output
    assert code in (0, 2) and not [c for c in result["cases"] if c["verdict"] == "regressed"], \
        output


@pytest.mark.slow
def test_a_candidate_slower_on_both_paths_is_regressed_by_ab_while_the_ratio_gate_passes(
        tmp_path, run_suite):
    slowed = faulted_python(tmp_path, "compile.slow_both_paths")
    code, result, output = run_ab(tmp_path, slowed)
    verdicts = {c["name"]: c["verdict"] for c in result["cases"]}
    assert code != 0 and "pass" not in verdicts.values(), output  # never a pass
    if "inconclusive" in verdicts.values():
        # In CI on 2026-12-02 one base process's eager path ran 46% slower than another's
        # (1.045-1.531 ms): compiled regressed, eager inconclusive [0.995, 2.150], exit 1.
        pytest.skip("this machine's process-to-process noise was wider than the 20% fault "
                    f"over three pairs (an honest inconclusive, never a pass): "
                    f"{[c['message'] for c in result['cases']]}; rerun on a quiet machine")
    assert code == 1, output
    assert verdicts == {f"{CHECK} [eager]": "regressed", f"{CHECK} [compiled]": "regressed"}, \
        output
    # The ratio measures the fault: beyond the band (caught), and of the fault's order. The
    # 20% busy-wait measures 1.23-1.26 timed in one process (torch.utils.benchmark, cnn
    # eager, 1 thread), but between processes on the 2-vCPU cpu-avx512 host ab read it as
    # 1.37-1.49 (intervals up to [1.23, 1.81], 2026-12-02): a shared host slows whole
    # processes, so a tight upper bound (1.35 was tried) fails clean code there. What must
    # hold is that ab does not read a 20% fault as a doubling.
    ratios = [c["ratio"] for c in result["cases"]]
    assert all(1 + policy.PERF_TOLERANCE["speedup"].band < r < 2 for r in ratios), output
    # The in-process gate, against a baseline the clean stack records here and now, passes
    # the same fault: eager/compiled did not move.
    baselines = tmp_path / "baselines"
    recorded = run_suite(CASE, "--update-baselines", "--baselines-dir", str(baselines))
    assert recorded.returncode == 0, recorded.output
    faulted = run_suite(CASE, "--baselines-dir", str(baselines),
                        faults=("compile.slow_both_paths",))
    assert faulted.check("speedup")["verdict"] == "pass", faulted.output


@pytest.mark.slow
def test_ab_names_the_count_faults_with_no_clock_involved(tmp_path):
    """The candidate stack loses one fusion and decomposes sqrt into pow
    (selftests/faults/compile/): ab compares the compiler's counts of the two stacks,
    taken by the first process of each side, and names both faults, no clock involved.
    (The instruction counts go through the same comparison, judge_count with the check's
    recorded tolerance; their faults in the stack are caught from a real run by
    test_count_gates_fire.py. ab's run of them here cost 150-200 s, two children under
    callgrind, and was dropped for the self-tests' time, issue 26.)"""
    candidate = faulted_python(tmp_path, "compile.lose_a_fusion", "compile.new_aten_op")
    # Two pairs, the fewest ab takes: counts are exact and taken once per side.
    code, result, output = run_ab(tmp_path, candidate, "suites/compile/test_counts.py", "--",
                                  "-k", "cnn-cpu", rounds=2)
    cases = {c["name"].split("::")[-1]: c for c in result["cases"]}
    assert code == 1, output
    counts = {name.split("#")[-1]: c for name, c in cases.items()}
    assert counts.keys() == {"graphs", "guards", "fx_nodes", "aten_nodes", "kernels",
                             "code_lines", "aten_ops"}, output
    kernels, ops = counts.pop("kernels"), counts.pop("aten_ops")
    base, candidate_kernels = kernels["base"][0], kernels["candidate"][0]
    assert kernels["verdict"] == "regressed" and candidate_kernels > base, output
    assert kernels["message"] == f"base {base:g}, candidate {candidate_kernels:g}, more " \
        "than the base", output
    assert ops["verdict"] == "regressed", output
    assert ops["message"] == ("new in the candidate: aten.pow.Tensor_Scalar; lost: "
                              "aten.sqrt.default"), output
    counts.pop("code_lines")  # the lost fusion's kernel is code too
    assert {c["verdict"] for c in counts.values()} == {"pass"}, output
    assert "#kernels` | regressed |" in ab.markdown(result)


def test_a_figure_is_judged_with_the_tolerance_its_check_recorded_or_not_at_all():
    """The band is the check's in-process tolerance, stated in its record; a figure without
    one is not judged, never given another check's band."""
    slower = by_process(*[figure(1.25, tolerance=0.5)] * 3)
    case = ab.judge_case("t#compile_s", by_process(*[figure(1.0, tolerance=0.5)] * 3), slower)
    assert case.verdict == "pass" and case.tolerance == 0.5
    unknown = by_process(*[figure(1.25, tolerance=None)] * 3)
    case = ab.judge_case("t#new_metric", by_process(*[figure(1.0, tolerance=None)] * 3), unknown)
    assert case.verdict == "inconclusive" and "recorded no tolerance" in case.message
