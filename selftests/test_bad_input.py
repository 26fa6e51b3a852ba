"""Bad input gets a clear error and loses nothing: baselines written by two runs at once, a
read-only baselines folder, reports of runs started in the same second, non-finite or
misplaced baseline files, mistyped options, runs that judge nothing, and the temporary
files a run leaves."""

import contextlib
import json
import math
import os
import re
import select
import shutil
import stat
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from selftests.support import REPO, unguarded_environ
from stackqual import assets, baselines, declared, policy
from stackqual.baselines import BaselineError, BaselineStore
from stackqual.report import RunReport

pytest_plugins = ["pytester"]
PROFILE = "cpu-test"

COUNTS = """
import os, pathlib, time

def wait_for(flag):
    deadline = time.monotonic() + 120
    while flag and not pathlib.Path(flag).exists():
        assert time.monotonic() < deadline, f"{flag} never appeared"
        time.sleep(0.05)

def test_a(gate):
    gate.at_most_baseline("things", 1)
    wait_for(os.environ.get("WAIT_FOR"))

def test_b(gate):
    gate.at_most_baseline("things", 2)
"""


def start(pytester, *args, **env) -> subprocess.Popen:
    """A real pytest process on pytester's folder (its own baselines/, no report)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--no-report", "-v",
         "--profile", PROFILE, *args], cwd=pytester.path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env})


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


def recorded_values(pytester) -> dict:
    path = pytester.path / "baselines" / PROFILE / f"{pytester.path.name}.json"
    return json.loads(path.read_text())["values"]


# --- 1. two --update-baselines runs at once --------------------------------------------

def test_two_runs_recording_at_once_keep_both_values(pytester):
    """Run A measures, then waits while run B records and ends; A writes last. A merged
    into the file as it was when A started, so B's value would be lost."""
    pytester.makepyfile(test_counts=COUNTS)
    flag = pytester.path / "b-finished"
    a = start(pytester, "-k", "test_a", "--update-baselines", WAIT_FOR=str(flag))
    b = start(pytester, "-k", "test_b", "--update-baselines")
    finish(b)
    flag.touch()
    finish(a)
    assert recorded_values(pytester) == {"test_counts.py::test_a#things": 1,
                                         "test_counts.py::test_b#things": 2}


def test_a_run_waits_for_the_lock_of_another_write(pytester):
    pytester.makepyfile(test_counts=COUNTS)
    folder = pytester.path / "baselines" / PROFILE
    with baselines.locked(folder):
        proc = start(pytester, "-k", "test_b", "--update-baselines")
        seen, deadline = "", time.monotonic() + 120
        while "PASSED" not in seen and time.monotonic() < deadline:  # the write comes after
            if select.select([proc.stdout], [], [], 1.0)[0]:
                seen += os.read(proc.stdout.fileno(), 65536).decode()
        time.sleep(1.0)
        assert proc.poll() is None, "the run ended while another held the baselines' lock"
        assert not (folder / f"{pytester.path.name}.json").exists()
    finish(proc)
    assert recorded_values(pytester) == {"test_counts.py::test_b#things": 2}


# --- 2. reports of runs started in the same second -----------------------------------

def test_reports_of_runs_started_in_the_same_second_are_both_kept(tmp_path):
    started = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)
    paths = []
    for run in ("first", "second"):
        report = RunReport(PROFILE, {"torch": "2.13.0"}, ["pytest", run])
        report.started = started
        report.add_test(f"test_{run}", "passed", 0.1)
        paths.append(report.write(tmp_path))
    (json1, md1), (json2, md2) = paths
    assert len({json1, md1, json2, md2}) == 4
    assert json2.name == "stackqual-cpu-test-20261128T120000Z-2.json"
    assert json.loads(json1.read_text())["invocation"] == ["pytest", "first"]
    assert json.loads(json2.read_text())["invocation"] == ["pytest", "second"]


# --- 3. a read-only baselines folder -----------------------------------------------------

@contextlib.contextmanager
def read_only(folder: Path):
    """`folder` read-only for this process: chmod where that binds (not root), else a
    read-only bind mount (root); skips, saying why, where neither is possible."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mount = shutil.which("mount")
    steps = [[mount, "--bind", str(folder), str(folder)],
             [mount, "-o", "remount,bind,ro", str(folder)]]
    done = subprocess.run(steps[0], capture_output=True, text=True) if mount else None
    if done is None or done.returncode != 0:
        pytest.skip("cannot make a folder read-only here: running as root (chmod does not "
                    "bind) and a read-only bind mount failed "
                    f"({done.stderr.strip() if done else 'no mount command'})")
    try:
        remount = subprocess.run(steps[1], capture_output=True, text=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount a folder read-only here: {remount.stderr.strip()}")
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_read_only_baselines_are_refused_before_any_test_runs(pytester):
    pytester.makepyfile(test_counts=COUNTS)
    folder = pytester.path / "baselines" / PROFILE
    with read_only(folder):
        result = pytester.runpytest("--profile", PROFILE, "--update-baselines")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--update-baselines: the baselines of profile '{PROFILE}' "
                                 f"cannot be written (cannot create a file in {folder}: *); "
                                 "nothing was run*"])
    assert "passed" not in result.stdout.str()


def test_a_suite_without_a_readable_declaration_stops_the_run_naming_its_file(pytester):
    """A suite's suite.toml (stackqual.declared) says what it depends on; a run that cannot
    read one would judge stack changes against nothing, so it does not start."""
    suite = pytester.mkpydir("suites") / "quant"
    suite.mkdir()
    (suite / "test_q.py").write_text("def test_q():\n    pass\n")
    (suite / "suite.toml").write_text("packages = torch\n")
    result = pytester.runpytest("--profile", PROFILE, "--no-report")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*suites/quant/suite.toml: not readable TOML*"])
    assert "passed" not in result.stdout.str()


def test_a_write_that_fails_at_the_end_keeps_the_report_and_says_what_was_lost(
        pytester, monkeypatch):
    pytester.makepyfile(test_counts=COUNTS)

    def read_only_file_system(path, data):
        raise OSError(30, "Read-only file system", str(path))
    monkeypatch.setattr(baselines, "write_atomic", read_only_file_system)
    result = pytester.runpytest("--profile", PROFILE, "--update-baselines", "--report-dir", "out")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*--update-baselines: baselines not written: *.json: [[]Errno "
                                 "30[]] Read-only file system*(each such file is as it was)"])
    [report] = (pytester.path / "out").glob("*.json")
    assert "Read-only file system" in json.loads(report.read_text())["problems"][0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


# --- 4. the file mode survives a write --------------------------------------------------

@pytest.mark.parametrize("mode", [0o644, 0o640, 0o664])
def test_a_rewrite_keeps_the_file_mode(tmp_path, mode):
    path = tmp_path / PROFILE / "compile.json"
    path.parent.mkdir()
    baselines.write_atomic(path, {"schema": 1})
    path.chmod(mode)
    baselines.write_atomic(path, {"schema": 1, "values": {}})
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path):
    old = os.umask(0o022)
    try:
        baselines.write_atomic(tmp_path / "new.json", {"schema": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644


# --- 5, 6. baselines that would switch a gate off -----------------------------------------

def baseline_text(profile=PROFILE, suite="models", values='{"acc#accuracy": 0.9}',
                  recorded="{}"):
    return (f'{{"schema": 1, "profile": "{profile}", "suite": "{suite}", '
            f'"values": {values}, "recorded": {recorded}}}')


@pytest.mark.parametrize("text,problem", [
    (baseline_text(values='{"acc#accuracy": NaN}'), "values.acc#accuracy is nan"),
    (baseline_text(values='{"mem#peak_memory": Infinity}'), "values.mem#peak_memory is inf"),
    (baseline_text(values='{"t#speedup": -Infinity}'), "values.t#speedup is -inf"),
    (baseline_text(recorded='{"calibration": {"t#speedup": {"gemm": NaN}}}'),
     "recorded.calibration.t#speedup.gemm is nan"),
    (baseline_text(profile="cuda-sm90-h100-80gb"),
     "its 'profile' is 'cuda-sm90-h100-80gb', but the file is stored as profile 'cpu-test'"),
    (baseline_text(suite="attention"),
     "its 'suite' is 'attention', but the file is stored as suite 'models'"),
], ids=["nan", "infinity", "minus-infinity", "nan-calibration", "other-profile", "other-suite"])
def test_a_baseline_that_would_switch_a_gate_off_is_refused(tmp_path, text, problem):
    path = tmp_path / PROFILE / "models.json"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(BaselineError, match=re.escape(f"{path}: {problem}")):
        BaselineStore(tmp_path, PROFILE)


def test_a_non_finite_measurement_is_never_staged():
    store = BaselineStore(Path("/nonexistent"), PROFILE)
    with pytest.raises(ValueError, match="measured nan: a non-finite value cannot be recorded"):
        store.stage("models", "acc#accuracy", math.nan, "node")


def test_a_misplaced_baseline_is_a_usage_error_naming_it(pytester):
    pytester.makepyfile(test_counts=COUNTS)
    path = pytester.path / "baselines" / PROFILE / "attention.json"
    path.parent.mkdir(parents=True)
    path.write_text(baseline_text(profile="cuda-sm90-h100-80gb", suite="attention"))
    result = pytester.runpytest("--profile", PROFILE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*malformed baseline file: {path}: its 'profile' is "
                                 "'cuda-sm90-h100-80gb'*move the file to its own folder*"])


# --- 7-12. misconfigurations that ended green ----------------------------------------------

def test_a_baselines_dir_that_does_not_exist_is_a_usage_error(pytester):
    pytester.makepyfile(test_counts=COUNTS)
    result = pytester.runpytest("--baselines-dir", "baselnes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--baselines-dir baselnes: *baselnes is not an existing "
                                 "folder*"])


def collect_models(*args) -> subprocess.CompletedProcess:
    """Collect the real models suite (it declares its assets) with these options."""
    return subprocess.run([sys.executable, "-m", "pytest", "suites/models", "--collect-only",
                           "-q", "-p", "no:cacheprovider", "--no-report", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_an_unknown_asset_name_is_refused_listing_the_known_ones(tmp_path):
    done = collect_models("--asset", f"nonsense={tmp_path}")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert (f"--asset nonsense={tmp_path}: no collected case uses an asset named 'nonsense'; "
            "known names: aclimdb-tiny, bert-imdb, imdb, imdb-tiny, mamba-imdb, "
            "mamba-imdb-tokenizer, tiny-bert, tiny-mamba, tiny-mamba-tokenizer") in done.stderr


@pytest.mark.slow
def test_a_folder_that_is_not_a_model_is_refused_in_one_line(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    done = collect_models("--asset", f"bert-imdb={tmp_path}")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"ERROR: --asset bert-imdb={tmp_path}: not a bert classifier folder "
        "(textattack/bert-base-uncased-imdb): no weights (model.safetensors or "
        "model.safetensors.index.json or pytorch_model.bin or pytorch_model.bin.index.json), "
        "no tokenizer files (tokenizer.json or vocab.txt)")


def test_a_failed_download_says_it_was_tried(monkeypatch):
    """--online without a network: not the offline advice to run with --online."""
    import huggingface_hub

    def no_network(*args, **kwargs):  # a stand-in: nothing here may reach the hub
        raise ConnectionError("Failed to resolve 'huggingface.co' ([Errno -3] Temporary "
                              "failure in name resolution)")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_network)
    monkeypatch.setattr(assets, "_ONLINE", True)
    with pytest.raises(pytest.skip.Exception) as skipped:
        assets.hub_snapshot(assets.Hub("textattack/bert-base-uncased-imdb"), "bert-imdb")
    message = str(skipped.value)
    assert ("the download (--online) failed: ConnectionError: Failed to resolve "
            "'huggingface.co'") in message
    assert "run with --online" not in message


COMPARED = """
def test_speed(perf):
    perf.speed("speedup", lambda: sum(range(2000)), lambda: sum(range(1000)))
"""
FAST = ["--profile", PROFILE, "--perf-min-rounds", "6", "--perf-max-time", "1"]


def test_benchmark_compare_with_nothing_saved_still_runs_and_says_so(pytester):
    """A new profile's first `pytest -m gpu --benchmark-compare` must not stop at start-up
    (the GPU tier issue): the header and the end name what was not compared and how to
    record a run."""
    pytester.makepyfile(test_speed=COMPARED)
    (pytester.path / "baselines" / PROFILE / "benchmarks").mkdir(parents=True)
    result = pytester.runpytest(*FAST, "--benchmark-compare")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # ran; no baseline: judged none
    result.stdout.fnmatch_lines([
        "*--benchmark-compare: *cpu-test/benchmarks holds no saved run: nothing is compared; "
        "record one with --update-baselines*",
        "*none of the 1 timed checks was compared with a saved run*",
        "*not compared: test_speed.py::test_speed*"])


def test_benchmark_compare_with_an_unknown_run_id_is_a_usage_error(pytester, steady_machine):
    pytester.makepyfile(test_speed=COMPARED)
    pytester.runpytest(*FAST, "--update-baselines")
    assert list((pytester.path / "baselines" / PROFILE / "benchmarks").glob("*/0001_*.json"))
    result = pytester.runpytest(*FAST, "--benchmark-compare=0042")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--benchmark-compare: * has no saved run matching '0042'*"])


@pytest.mark.parametrize("module,status", [
    ("import pytest\n\ndef test_a():\n    pytest.skip('needs CUDA')\n", 5),
    ("import pytest\n\n@pytest.mark.xfail(reason='known')\ndef test_a():\n    assert False\n", 0),
    ("import pytest\n\ndef test_a():\n    pytest.skip('x')\n\ndef test_b():\n    pass\n", 0),
], ids=["all-skipped", "xfailed-is-judged", "one-passed"])
def test_a_run_that_judged_nothing_is_not_a_pass(pytester, module, status):
    pytester.makepyfile(test_some=module)
    result = pytester.runpytest("--profile", PROFILE, "--no-report")
    assert result.ret == status
    said = "nothing was judged: all 1 selected tests skipped" in result.stdout.str()
    assert said == (status == 5)


def test_every_perf_tolerance_example_in_the_docs_is_accepted():
    known = declared.tolerances(REPO / "suites", policy.PERF_TOLERANCE)
    docs = [REPO / "README.md", *(REPO / "docs").glob("*.md")]
    examples = [(path.name, m) for path in docs
                for m in re.findall(r"--perf-tolerance[ `]+(\w+=[\d.]+)", path.read_text())]
    examples += [(path.name, m) for path in docs
                 for m in re.findall(r"`(\w+=[\d.]+)`", path.read_text())
                 if m.split("=")[0] in known]
    assert examples, "the docs show no --perf-tolerance example"
    for where, example in examples:
        name, value = example.split("=")
        assert name in known and 0 <= float(value) < 1, (
            f"{where}: --perf-tolerance {example} would be refused (0 <= FRACTION < 1, "
            f"names: {', '.join(known)})")


# --- 13. litter -----------------------------------------------------------------------------

@pytest.mark.slow
def test_a_run_leaves_no_temporary_files_and_collect_only_writes_no_report(tmp_path):
    temp, reports = tmp_path / "tmp", tmp_path / "reports"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/agents", "--collect-only", "-q",
         "--snapshot-warn-unused",  # collect-only uses none (syrupy would fail the run)
         "-p", "no:cacheprovider", "--report-dir", str(reports)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**unguarded_environ(), "TMPDIR": str(temp)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in temp.iterdir()) == []
    assert not reports.exists()


def test_a_report_dir_that_cannot_be_written_is_refused_before_any_test_runs(pytester):
    pytester.makepyfile(test_counts=COUNTS)
    (pytester.path / "a-file").write_text("")
    result = pytester.runpytest("--profile", PROFILE, "--report-dir", "a-file/reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--report-dir: the run report cannot be written (*a-file is "
                                 "not a folder)*"])


@pytest.mark.parametrize("content, said", [
    ({"kind": "fleet", "schema": 1}, "a stackqual fleet file, not a run report"),
    ({"kind": "run-report", "schema": 99}, "a run report of schema 99, written by a newer "
                                           "stackqual; this one reads schema 1: upgrade it"),
])
def test_a_reader_refuses_another_kind_or_a_newer_schema_in_one_line(tmp_path, content, said):
    from stackqual import readers

    path = tmp_path / "stackqual-x.json"
    path.write_text(json.dumps({**content, "profile": "p", "checks": [], "tests": {}}))
    with pytest.raises(readers.Unreadable) as refused:
        readers.read_json(path, "run report", lambda data: None, kind="run-report")
    assert str(refused.value) == f"{path}: {said}"


def test_every_file_a_command_reads_says_its_kind_and_schema():
    from stackqual import readers
    from stackqual.report import RunReport

    data = RunReport(profile="p", fingerprint={}, invocation=[]).to_dict()
    assert (data["kind"], data["schema"]) == ("run-report", readers.SCHEMA)
