"""The performance gate inside a real pytest run (pytester): record, compare, regress;
inconclusive; refusals across hardware profiles; pytest-benchmark's storage, save and
JSON; option errors."""

import json

import pytest
from pytest_benchmark.utils import get_machine_id

from selftests.support import SPIN
from stackqual import baselines, profile, timing

pytest_plugins = ["pytester"]

SPEED_TEST = SPIN + """
def test_speed(perf):
    b = float(os.environ.get("B_US", "100")) * 1e-6
    perf.speed("speedup", lambda: spin(200e-6), lambda: spin(b), names=("slow", "fast"))
"""
FAST = ["--profile", "cpu-test", "--perf-min-rounds", "6", "--perf-max-time", "1"]


@pytest.fixture
def suite(pytester, steady_machine):
    pytester.makepyfile(test_speed=SPEED_TEST)
    return pytester


BUSY = "not recorded, the machine was busy"


def record(pytester):
    """--update-baselines; the gate refuses to record on a busy machine (policy), and then
    this self-test cannot run either."""
    result = pytester.runpytest(*FAST, "--update-baselines")
    if BUSY in result.stdout.str():
        pytest.skip("the machine was busy (other processes used its CPUs): baselines are not "
                    "recorded then; rerun the self-tests on a quiet machine")
    result.assert_outcomes(passed=1)


def baseline_file(pytester):
    return pytester.path / "baselines" / "cpu-test" / f"{pytester.path.name}.json"


def saved_runs(pytester):
    return sorted((pytester.path / "baselines" / "cpu-test" / "benchmarks").glob("*/*.json"))


def test_record_compare_regress(suite, monkeypatch):
    record(suite)
    values = json.loads(baseline_file(suite).read_text())["values"]
    assert values["test_speed.py::test_speed#speedup"] == pytest.approx(2.0, rel=0.15)
    [saved] = saved_runs(suite)  # --update-baselines saves the pytest-benchmark run too
    run = json.loads(saved.read_text())
    assert saved.name == "0001_baseline.json"
    assert run["machine_info"]["stackqual"]["profile"] == "cpu-test"
    assert run["benchmarks"][0]["extra_info"]["speedup"]["a"]["name"] == "slow"

    result = suite.runpytest(*FAST, "--benchmark-compare", "--report-dir", "out")
    result.assert_outcomes(passed=1)
    result.stderr.fnmatch_lines(["*Comparing against benchmarks from*0001_baseline.json*"])
    [md] = (suite.path / "out").glob("*.md")
    assert "## Performance" in md.read_text() and "| slow " in md.read_text()
    assert list((suite.path / "out").glob("*-speed.png"))

    monkeypatch.setenv("B_US", "150")  # B 50% slower: the ratio drops from 2 to 1.33
    result = suite.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*test_speed: speedup regressed: slow/fast = 1.3*whole interval below the baseline "
        "*-10% = * (baseline baselines/cpu-test/*.json; tolerance 10% (10% band*"])
    assert len(saved_runs(suite)) == 1  # no write without --update-baselines


def test_missing_baseline_skips_with_the_command_that_records_it(suite):
    result = suite.runpytest(*FAST, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*#speedup: measured slow/fast = *no baseline*"
                                 "--profile cpu-test --update-baselines*"])


def fake_comparison(low, high, others_busy=0.0):
    a, b = timing.Side("slow", [2e-4] * 6), timing.Side("fast", [1e-4] * 6)
    return timing.Comparison(a, b, ratio=(low + high) / 2, low=low, high=high, confidence=0.95,
                             device="cpu", threads=1, elapsed_s=1.0,
                             stopped="time cap (1 s)", others_busy=others_busy)


def recorded_speedup(suite) -> float:
    record(suite)
    return json.loads(baseline_file(suite).read_text())["values"][
        "test_speed.py::test_speed#speedup"]


def test_a_regression_on_a_busy_machine_is_inconclusive(suite, monkeypatch):
    baseline = recorded_speedup(suite)
    below = fake_comparison(0.5 * baseline, 0.6 * baseline, others_busy=0.5)
    monkeypatch.setattr(timing, "measure", lambda *a, **k: below)
    result = suite.runpytest(*FAST)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*speedup inconclusive because the machine was busy: other "
                                 "processes used 50% of its CPUs while it was measured*"])


def test_a_regression_must_be_confirmed_by_a_second_measurement(suite, monkeypatch):
    baseline = recorded_speedup(suite)
    measurements = iter([fake_comparison(0.5 * baseline, 0.6 * baseline),
                         fake_comparison(0.95 * baseline, 1.05 * baseline)])
    monkeypatch.setattr(timing, "measure", lambda *a, **k: next(measurements))
    result = suite.runpytest(*FAST)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*speedup inconclusive because a first measurement was below "
                                 "the baseline * but its confirmation was not*"])


def test_no_baseline_is_recorded_on_a_busy_machine(suite, monkeypatch):
    monkeypatch.setattr(timing, "measure", lambda *a, **k: fake_comparison(1.9, 2.1, 0.5))
    result = suite.runpytest(*FAST, "--update-baselines")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_speed: not recorded, the machine was busy: other processes "
                                 "used 50% of its CPUs*"])
    assert not baseline_file(suite).exists()
    assert saved_runs(suite) == []  # nor its busy timings as a pytest-benchmark run


@pytest.mark.parametrize("policy,outcome", [("warn", "passed"), ("fail", "failed")])
def test_inconclusive_is_reported_and_fails_only_when_asked(suite, monkeypatch, policy, outcome):
    baseline = recorded_speedup(suite)
    straddling = fake_comparison(0.8 * baseline, 1.1 * baseline)
    monkeypatch.setattr(timing, "measure", lambda *a, **k: straddling)
    result = suite.runpytest(*FAST, f"--perf-inconclusive={policy}")
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines(["*speedup inconclusive after time cap (1 s): slow/fast = "
                                 "*straddles the baseline*"])


def write_speed_baseline(pytester, fingerprint):
    path = baseline_file(pytester)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "schema": baselines.SCHEMA, "profile": path.parent.name, "suite": path.stem,
        "values": {"test_speed.py::test_speed#speedup": 2.0},
        "recorded": {"fingerprint": fingerprint}}))


def test_a_baseline_from_another_profile_is_refused(suite):
    write_speed_baseline(suite, {"profile": "cuda-sm86-a10-24gb"})
    result = suite.runpytest(*FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*#speedup: the baseline in *.json was measured on hardware profile "
        f"'cuda-sm86-a10-24gb', and this machine is '{profile.detect_profile()}'; timings are "
        "not compared across profiles*"])


def test_a_baseline_from_another_cpu_model_or_thread_count_is_not_compared(suite):
    here = {**profile.fingerprint(), "allocator": timing.fix_allocator()}  # as the plugin's
    write_speed_baseline(suite, {**here, "cpu": "Other CPU", "torch_threads": 64})
    result = suite.runpytest(*FAST, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([
        f"*#speedup: not comparable: this machine is not the one the baseline in *.json was "
        f"measured on (cpu 'Other CPU' -> {here['cpu']!r}; torch_threads 64 -> "
        f"{here['torch_threads']}; the baseline was recorded without a calibration of its "
        "machine)*record this machine's with: pytest suites --update-baselines*"])


@pytest.mark.parametrize("machine_info,recorded", [
    ({"stackqual": {"profile": "cuda-sm90-h100-80gb"}},
     "recorded on profile 'cuda-sm90-h100-80gb'"),
    ({"node": "x"}, "recorded without a stackqual profile"),
])
def test_benchmark_compare_with_another_profile_is_refused(suite, machine_info, recorded):
    folder = suite.path / "baselines" / "cpu-test" / "benchmarks" / get_machine_id()
    folder.mkdir(parents=True)
    (folder / "0001_other.json").write_text(json.dumps(
        {"machine_info": machine_info, "commit_info": {}, "benchmarks": [], "datetime": "x",
         "version": "5.3.1"}))
    result = suite.runpytest(*FAST, "--benchmark-compare")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--benchmark-compare: the saved run in *benchmarks was "
                                 f"{recorded}*this run is on profile 'cpu-test'; timings are "
                                 "only compared within one hardware profile*"])


def test_saving_into_the_baselines_needs_update_baselines(suite):
    result = suite.runpytest(*FAST, "--benchmark-save", "x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--benchmark-save/--benchmark-autosave would write into "
                                 "*cpu-test/benchmarks, and baselines change only with "
                                 "--update-baselines*"])
    assert not saved_runs(suite)
    # Elsewhere it is an ordinary pytest-benchmark save.
    result = suite.runpytest(*FAST, "--benchmark-save", "x", "--benchmark-storage", "runs")
    result.assert_outcomes(skipped=1)
    assert list((suite.path / "runs").glob("*/0001_x.json"))


def test_benchmark_json_carries_the_interleaved_samples(suite):
    record(suite)
    suite.runpytest(*FAST, "--benchmark-json", "bench.json").assert_outcomes(passed=1)
    [bench] = json.loads((suite.path / "bench.json").read_text())["benchmarks"]
    info = bench["extra_info"]["speedup"]
    assert bench["stats"]["rounds"] == info["rounds"] >= 6
    assert bench["stats"]["median"] == pytest.approx(info["b"]["median_s"], rel=1e-6)
    assert info["low"] <= info["ratio"] <= info["high"]


@pytest.mark.parametrize("option,message", [
    ("--perf-tolerance=latency=0.1", "unknown check 'latency'; known: speedup"),
    ("--perf-tolerance=speedup=ten", "expected speedup=FRACTION with 0 <= FRACTION < 1"),
    ("--perf-tolerance=speedup=1.5", "expected speedup=FRACTION with 0 <= FRACTION < 1"),
    ("--perf-min-rounds=2", "--perf-min-rounds >= 5 (got 2)"),
    ("--asset=imdb", "--asset 'imdb': expected NAME=PATH"),
    ("--asset=imdb=/no/such/folder", "--asset 'imdb=/no/such/folder': /no/such/folder does "
                                     "not exist"),
])
def test_bad_perf_options_are_usage_errors(suite, option, message):
    result = suite.runpytest("--profile", "cpu-test", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_a_timed_metric_whose_band_is_declared_nowhere_fails_saying_where_to_declare_it(
        pytester):
    pytester.makepyfile(test_t="def test_t(perf):\n"
                               "    perf.time('latency_s', [1.0, 1.1], tolerance='latency')\n")
    result = pytester.runpytest("--profile", "cpu-test")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_t.py::test_t: tolerance 'latency' is declared nowhere; "
                                 "declare it in the suite's suite.toml as [[]tolerances.latency]*"])


def test_benchmark_compare_without_saved_runs_says_how_to_record_them(suite):
    result = suite.runpytest(*FAST, "--benchmark-compare")
    assert result.ret != pytest.ExitCode.USAGE_ERROR  # a new profile's first run still runs
    result.stdout.fnmatch_lines(["*--benchmark-compare: profile 'cpu-test' has no saved "
                                 "benchmark run (*cpu-test/benchmarks does not exist): nothing "
                                 "is compared; record one with --update-baselines*",
                                 "*not compared: test_speed.py::test_speed*"])
    assert not (suite.path / "baselines").exists()
    named = suite.runpytest(*FAST, "--benchmark-compare=0001")
    assert named.ret == pytest.ExitCode.USAGE_ERROR  # a named run that is not there


def test_a_recording_split_over_suite_processes_is_saved_as_one_run(tmp_path):
    """`stackqual qualify --record` runs each suite in its own process, and each saves its
    part; --benchmark-compare compares with one saved run, so the parts become one."""
    from stackqual import benchmarks

    folder = tmp_path / "benchmarks" / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True)
    (folder / "0001_baseline.json").write_text(json.dumps({"benchmarks": [{"name": "old"}]}))
    before = benchmarks.saved_runs(tmp_path / "benchmarks")
    for i, name in enumerate(("compile", "models", "attention"), 2):
        (folder / f"000{i}_baseline.json").write_text(json.dumps(
            {"machine_info": {"node": "x"}, "benchmarks": [{"name": name}]}))
    merged = benchmarks.merge_saved(list(benchmarks.saved_runs(tmp_path / "benchmarks")
                                         - before))
    assert merged.name == "0002_baseline.json"
    assert sorted(p.name for p in folder.iterdir()) == ["0001_baseline.json",
                                                         "0002_baseline.json"]
    data = json.loads(merged.read_text())
    assert [b["name"] for b in data["benchmarks"]] == ["compile", "models", "attention"]
    assert data["machine_info"] == {"node": "x"}
