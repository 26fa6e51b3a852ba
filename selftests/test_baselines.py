"""Baseline store: read, write, atomicity, malformed files; and the plugin's behaviour
around them in a real pytest run (pytester)."""

import json
import os

import pytest

from stackqual import baselines
from stackqual.baselines import BaselineError, BaselineStore

pytest_plugins = ["pytester"]

FINGERPRINT = {"torch": "2.13.0"}


def write(path, data):
    """A baseline file at `path`; a dict gets the profile and suite its place names, as
    recorded files have them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, dict):
        data = {"profile": path.parent.name, "suite": path.stem, **data}
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def valid(values):
    return {"schema": baselines.SCHEMA, "values": values, "recorded": {}}


def test_commit_writes_sorted_values_of_passing_tests_and_keeps_the_rest(tmp_path):
    write(tmp_path / "cpu-x" / "compile.json", valid({"old#m": 1, "kept#m": 5}))
    store = BaselineStore(tmp_path, "cpu-x")
    store.stage("compile", "old#m", 2, "node-a")
    store.stage("compile", "new#m", 0, "node-b")
    store.stage("compile", "failed#m", 9, "node-c")
    [path] = store.commit({"node-a", "node-b"}, FINGERPRINT)

    text = path.read_text()
    data = json.loads(text)
    assert data["values"] == {"kept#m": 5, "new#m": 0, "old#m": 2}  # failed#m not recorded
    assert data["recorded"]["fingerprint"] == FINGERPRINT and data["profile"] == "cpu-x"
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert BaselineStore(tmp_path, "cpu-x").get("compile", "old#m") == 2


def test_nothing_staged_writes_nothing(tmp_path):
    store = BaselineStore(tmp_path, "cpu-x")
    store.stage("compile", "a#m", 1, "node-a")
    assert store.commit(set(), FINGERPRINT) == []
    assert not (tmp_path / "cpu-x").exists()


def test_interrupted_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = write(tmp_path / "cpu-x" / "compile.json", valid({"a#m": 1}))
    before = path.read_bytes()
    store = BaselineStore(tmp_path, "cpu-x")
    store.stage("compile", "a#m", 2, "node")

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(baselines.NotWritten, match="compile.json: disk full"):
        store.commit({"node"}, FINGERPRINT)
    assert path.read_bytes() == before
    left = sorted(p.name for p in path.parent.iterdir())
    assert left == [baselines.LOCK_NAME, "compile.json"]  # no temp file left


@pytest.mark.parametrize("content,problem", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    ({"schema": 99, "values": {}}, "'schema' is 99, expected 1"),
    ({"schema": 1, "values": [1]}, "'values' must be an object"),
    ({"schema": 1, "values": {"a#m": {"nested": 1}}}, "value of 'a#m' is {'nested': 1}"),
    ({"schema": 1, "values": {"a#m": None}}, "value of 'a#m' is None"),
])
def test_malformed_file_is_an_error_naming_file_and_problem(tmp_path, content, problem):
    path = write(tmp_path / "cpu-x" / "compile.json", content)
    with pytest.raises(BaselineError) as info:
        BaselineStore(tmp_path, "cpu-x")
    assert str(path) in str(info.value) and problem in str(info.value)


# --- the plugin, in a real pytest run -----------------------------------------------------

COUNT_TEST = """
import os

def test_count(gate):
    gate.at_most_baseline("things", int(os.environ.get("THINGS", "3")), explain="(fake count)")
"""


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(test_things=COUNT_TEST)
    return pytester


def only_baseline(pytester):
    [path] = (pytester.path / "baselines" / "cpu-test").glob("*.json")
    return path


def test_missing_baseline_skips_with_the_command_that_records_it(suite):
    result = suite.runpytest("--profile", "cpu-test", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([
        "*measured 3, but profile 'cpu-test' has no baseline*--update-baselines*"])
    assert not (suite.path / "baselines").exists()  # reading never writes


def test_update_then_compare(suite, monkeypatch):
    suite.runpytest("--profile", "cpu-test", "--update-baselines").assert_outcomes(passed=1)
    path = only_baseline(suite)
    assert json.loads(path.read_text())["values"] == {"test_things.py::test_count#things": 3}

    suite.runpytest("--profile", "cpu-test").assert_outcomes(passed=1)
    monkeypatch.setenv("THINGS", "2")
    result = suite.runpytest("--profile", "cpu-test")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*improved: test_things.py::test_count#things*"])

    monkeypatch.setenv("THINGS", "4")
    before = path.read_bytes()
    result = suite.runpytest("--profile", "cpu-test")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*test_count: things = 4, more than the baseline 3 recorded on profile 'cpu-test' (*.json)."
        " (fake count)"])
    assert path.read_bytes() == before  # no write without --update-baselines


KERNEL_TEST = """
import os

def test_kernel(gate):
    gate.same_as_baseline("backend", os.environ.get("KERNEL", "flash"),
                          fails=lambda old, new: new == "math", explain="(fake kernel)")
"""


def test_categorical_baseline_reports_a_change_and_fails_a_regression(pytester, monkeypatch):
    pytester.makepyfile(test_kernel=KERNEL_TEST)
    args = ("--profile", "cpu-test")
    pytester.runpytest(*args, "--update-baselines").assert_outcomes(passed=1)
    pytester.runpytest(*args).assert_outcomes(passed=1)

    monkeypatch.setenv("KERNEL", "cudnn")  # another fused kernel: reported, passes
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*changed: test_kernel.py::test_kernel#backend: backend is "
                                 "'cudnn', the baseline recorded on profile 'cpu-test' under "
                                 "torch * is 'flash'*"])
    monkeypatch.setenv("KERNEL", "math")  # the regression the caller names: fails
    result = pytester.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*backend is 'math', the baseline * is 'flash' * (fake kernel)"])


def test_failing_test_is_not_recorded(pytester):
    pytester.makepyfile(test_bad="""
def test_bad(gate):
    gate.at_most_baseline("things", 1)
    assert False, "the test fails after measuring"
""")
    result = pytester.runpytest("--profile", "cpu-test", "--update-baselines")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no passing test measured a baseline value; nothing written*"])
    assert not (pytester.path / "baselines").exists()


def test_non_numeric_baseline_for_a_count_fails_clearly(suite):
    write(suite.path / "baselines" / "cpu-test" / f"{suite.path.name}.json",
          valid({"test_things.py::test_count#things": "three"}))
    result = suite.runpytest("--profile", "cpu-test")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*#things: the baseline in *.json is 'three', not a number*"])


def test_malformed_baseline_is_a_usage_error(suite):
    path = write(suite.path / "baselines" / "cpu-test" / "x.json", "{oops")
    result = suite.runpytest("--profile", "cpu-test")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*malformed baseline file: {path}: not valid JSON*"])
    assert path.read_text() == "{oops"


def test_invalid_profile_name_is_a_usage_error(suite):
    result = suite.runpytest("--profile", "Bad Name")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--profile: profile name 'Bad Name' is not valid*"])


def test_thread_count_must_be_positive(suite):
    result = suite.runpytest("--threads", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--threads must be >= 1, got 0*"])


def test_report_header_and_run_report(suite):
    suite.runpytest("--profile", "cpu-test", "--update-baselines")
    result = suite.runpytest("--profile", "cpu-test", "--report-dir", "out")
    result.stdout.fnmatch_lines(["stackqual profile: cpu-test (--profile); baselines: *(1 files)",
                                 "stack: python *torch*threads*"])
    [report] = (suite.path / "out").glob("stackqual-cpu-test-*.json")
    data = json.loads(report.read_text())
    [check] = data["checks"]
    assert check["check_id"] == "test_things.py::test_count#things"
    assert (check["measured"], check["expected"], check["verdict"]) == (3, 3, "pass")
    assert data["tests"]["test_things.py::test_count"]["outcome"] == "passed"
    assert data["fingerprint"]["torch"]
    summary = report.with_suffix(".md").read_text()
    assert "## Checks" in summary
    assert "`test_things.py::test_count#things` | 3 | 3 | pass" in summary


# --- stale keys: recorded values no test produces any more ---------------------------------

def test_stale_keys_are_those_of_collected_files_without_their_case_or_of_gone_files(tmp_path):
    write(tmp_path / "cpu-x" / "compile.json", valid({
        "test_a.py::test_x[1]#m": 1, "test_a.py::test_x[old-id]#m": 2,
        "test_gone.py::test_y#m": 3, "test_unselected.py::test_z#m": 4}))
    write(tmp_path / "cpu-x" / "models.json", valid({"test_b.py::test_q#m": 5}))
    store = BaselineStore(tmp_path, "cpu-x")
    stale = store.stale({"compile": {"test_a.py::test_x[1]"}},
                        gone=lambda suite, file: file == "test_gone.py")
    # models was not collected at all, test_unselected.py still exists: neither is judged
    assert stale == {"compile": ["test_a.py::test_x[old-id]#m", "test_gone.py::test_y#m"]}

    store.stage("compile", "test_a.py::test_x[1]#m", 7, "node")
    [path] = store.commit({"node"}, FINGERPRINT, prune=stale)
    assert json.loads(path.read_text())["values"] == {"test_a.py::test_x[1]#m": 7,
                                                      "test_unselected.py::test_z#m": 4}


def test_pruning_alone_keeps_the_fingerprint_the_values_were_recorded_under(tmp_path):
    old = {"fingerprint": {"torch": "2.12.0"}, "at": "2026-01-01T00:00:00+00:00"}
    write(tmp_path / "cpu-x" / "compile.json",
          {**valid({"test_a.py::test_x#m": 1, "test_a.py::test_old#m": 2}), "recorded": old})
    store = BaselineStore(tmp_path, "cpu-x")
    [path] = store.commit(set(), FINGERPRINT, prune={"compile": ["test_a.py::test_old#m"]})
    data = json.loads(path.read_text())
    assert data["values"] == {"test_a.py::test_x#m": 1} and data["recorded"] == old


PARAMETRIZED = """
import pytest

@pytest.mark.parametrize("n", [1, 2])
def test_count(gate, n):
    gate.at_most_baseline("things", n)
"""


def test_a_renamed_test_is_reported_and_pruned_by_update_baselines(pytester):
    pytester.makepyfile(test_things=PARAMETRIZED)
    path = write(pytester.path / "baselines" / "cpu-test" / f"{pytester.path.name}.json",
                 valid({"test_things.py::test_count[1]#things": 1,
                        "test_things.py::test_count[2]#things": 2,
                        "test_things.py::test_count_before_rename[1]#things": 1}))
    stale = "test_things.py::test_count_before_rename[1]#things"
    literal = stale.replace("[", "<").replace("]", "[]]").replace("<", "[[]")  # for fnmatch
    result = pytester.runpytest("--profile", "cpu-test", "-k", "1")  # -k: [2] is not stale
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines([f"stale baselines: 1 keys in *.json that no collected test "
                                 f"produces (a test renamed or removed): {literal}; "
                                 "--update-baselines prunes them"])
    named = pytester.runpytest("--profile", "cpu-test", "test_things.py::test_count")
    assert "stale" not in named.stdout.str()  # a file named with a selector is not judged

    result = pytester.runpytest("--profile", "cpu-test", "-k", "1", "--update-baselines")
    result.stdout.fnmatch_lines([f"pruned from *.json: 1 stale keys: {literal}"])
    assert json.loads(path.read_text())["values"] == {"test_things.py::test_count[1]#things": 1,
                                                      "test_things.py::test_count[2]#things": 2}
