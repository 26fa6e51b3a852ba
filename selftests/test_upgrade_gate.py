"""The upgrade gate's snapshot lifecycle and isolation, on a small stand-in suite (pytester)
whose "framework" is pytest itself (its installed version names the snapshot folder):

- with two version folders present, a plain run uses the installed version's and leaves
  the other alone (not "unused"); recording keeps the other folder;
- a run whose version has no folder compares with the newest older one, and a change in
  the middle of a long artifact is in the report in full; a blocking kind fails the test,
  a review kind is reported "changed" and the test passes;
- a framework module whose imports fail is "API incompatible" while the other modules run;
- a private API the harness needs and lacks is "harness incompatible".
"""

import json
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

from stackqual import incompatible
from stackqual.snapshots import version_key

pytest_plugins = ["pytester"]

VERSION = ".".join(map(str, version_key(metadata.version("pytest"))))
OLDER = f"{version_key(VERSION)[0]}.{version_key(VERSION)[1] - 1}"

CONFTEST = """
from pathlib import Path

import pytest

from stackqual import snapshots

KINDS = {"messages": snapshots.Kind(blocks=True, why="what the LM is sent"),
         "events": snapshots.Kind(blocks=False, why="traces move between releases")}


@pytest.fixture
def snapshots_of(request, gate):
    return snapshots.Snapshots(request, Path(__file__).parent / "__snapshots__", "fw",
                               "pytest", KINDS, gate, "conftest KINDS")
"""
AGENT = """
import os

def test_agent(snapshots_of):
    messages = [f"message {i}" for i in range(200)]
    if os.environ.get("CHANGE_MESSAGE"):
        messages[100] = "message 100, reworded"
    events = [f"event {i}" for i in range(50)]
    if os.environ.get("EXTRA_EVENT"):
        events.insert(25, "an extra event")
    snapshots_of.check(messages=messages, events=events)
"""
BROKEN = """
from stackqual import incompatible

with incompatible.stack_api("pytest", "pytest not installed"):
    from _pytest.python import NoSuchNameInThisRelease

def test_never_collected():
    pass
"""


def run(pytester, monkeypatch, *args, **env):
    for name in ("CHANGE_MESSAGE", "EXTRA_EVENT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = pytester.path / "reports"
    for old in out.glob("*"):
        old.unlink()
    result = pytester.runpytest("--profile", "cpu-test", "--report-dir", str(out), *args)
    [report] = out.glob("*.json")
    return result, json.loads(report.read_text())


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_fw=AGENT)
    return pytester.path / "__snapshots__"


def folder(snapshots, version):
    return snapshots / f"fw-{version}" / "test_fw"


def test_other_versions_folders_are_neither_unused_nor_deleted(suite, pytester, monkeypatch):
    result, _ = run(pytester, monkeypatch, "--snapshot-update")
    result.assert_outcomes(passed=1)
    own = folder(suite, VERSION)
    assert sorted(p.name for p in own.iterdir()) == ["test_agent[events].json",
                                                      "test_agent[messages].json"]
    older = folder(suite, OLDER)
    older.mkdir(parents=True)
    for path in own.iterdir():  # an older release's recording, which differs
        (older / path.name).write_text(path.read_text().replace("message 7", "message seven"))

    result, report = run(pytester, monkeypatch)
    result.assert_outcomes(passed=1)
    assert result.ret == 0, result.stdout.str()
    assert " unused." not in result.stdout.str()  # syrupy's "N snapshot(s) unused."
    sources = {c["metric"]: c["source"] for c in report["checks"]}
    assert all(f"fw-{VERSION}" in s for s in sources.values()), sources

    result, _ = run(pytester, monkeypatch, "--snapshot-update")
    assert result.ret == 0 and "Deleted" not in result.stdout.str()
    assert sorted(p.name for p in older.iterdir()) == sorted(p.name for p in own.iterdir())


def test_a_missing_snapshot_is_not_judged_with_the_command_that_records_it(
        suite, pytester, monkeypatch):
    """Defect: a missing recording failed the test, and `compare` called it regressed."""
    result, report = run(pytester, monkeypatch)
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # nothing was judged
    verdicts = {c["metric"]: c["verdict"] for c in report["checks"]}
    assert verdicts == {"snapshot[messages]": "no-baseline", "snapshot[events]": "no-baseline"}
    assert "--snapshot-update" in report["tests"]["test_fw.py::test_agent"]["reason"]
    from stackqual import compare

    recorded, _ = run(pytester, monkeypatch, "--snapshot-update")
    base = run(pytester, monkeypatch)[1]
    result = compare.compare(base, report)
    assert result.blocking == [], [(c.kind, c.what) for c in result.changes]
    # each snapshot the candidate had no recording for, once (not its test again)
    assert [(c.kind, c.what.split("#")[-1]) for c in result.changes] == [
        ("not judged", "snapshot[events]"), ("not judged", "snapshot[messages]")]


def test_a_newer_release_is_compared_with_the_older_folder_and_the_diff_is_whole(
        suite, pytester, monkeypatch):
    run(pytester, monkeypatch, "--snapshot-update")
    folder(suite, VERSION).parent.rename(suite / f"fw-{OLDER}")  # recorded on the older one

    result, report = run(pytester, monkeypatch, CHANGE_MESSAGE="1")
    result.assert_outcomes(failed=1)
    [messages] = [c for c in report["checks"] if c["metric"] == "snapshot[messages]"]
    assert messages["verdict"] == "fail" and f"fw-{OLDER}" in messages["source"]
    diff = messages["details"]["diff"]
    assert '-  "message 100",' in diff and '+  "message 100, reworded",' in diff, diff
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert len(changed) == 2, diff  # only that line, with its context around it
    assert "message 100, reworded" in result.stdout.str()  # in the failure too, whole

    result, report = run(pytester, monkeypatch, EXTRA_EVENT="1")
    result.assert_outcomes(passed=1)  # events are reported for review
    [events] = [c for c in report["checks"] if c["metric"] == "snapshot[events]"]
    assert events["verdict"] == "changed", events
    assert '+  "an extra event",' in events["details"]["diff"]
    assert "traces move between releases" in events["message"]


def test_a_framework_that_fails_to_import_is_api_incompatible_and_the_rest_runs(
        suite, pytester, monkeypatch):
    pytester.makepyfile(test_broken=BROKEN)
    run(pytester, monkeypatch, "--snapshot-update", "test_fw.py")
    # pyproject.toml sets --continue-on-collection-errors for the project's own runs.
    result, report = run(pytester, monkeypatch, "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    assert (f"{incompatible.API}: pytest {metadata.version('pytest')}: ImportError: cannot "
            "import name 'NoSuchNameInThisRelease'") in output, output
    broken = report["tests"]["test_broken.py"]
    assert broken["outcome"] == "failed" and incompatible.API in broken["reason"], broken
    assert report["tests"]["test_fw.py::test_agent"]["outcome"] == "passed"


def test_a_missing_private_api_is_harness_incompatible(pytester):
    pytester.makepyfile(test_harness="""
        import torch
        from stackqual import incompatible

        def test_reads_a_private_api():
            with incompatible.harness("torch._no_such_private_api"):
                torch._no_such_private_api
    """)
    result = pytester.runpytest("--profile", "cpu-test", "--no-report")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*harness incompatible: stackqual relies on "
                                 "torch._no_such_private_api*not a regression of the stack*"])


def test_a_broken_environment_is_reported_as_such_and_fails_the_run(pytester, monkeypatch):
    """A conflict that involves what the run imports (here pytest itself) fails it; one
    among packages no collected suite imports (crewai, for a run without the agents suite)
    is listed as information."""
    from stackqual import profile

    monkeypatch.setattr(profile, "environment_check", lambda: {
        "pip_check": "broken", "problems": [
            "pytest-benchmark 5.1.0 has requirement pytest>=8.1, but you have pytest 8.0.0.",
            "crewai 1.13.0 has requirement x>=2, but you have x 1.0."]})
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest("--profile", "cpu-test", "--no-report")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "stackqual: pip check broken: pytest-benchmark 5.1.0 has requirement" in output
    summary = output.split("= stackqual =")[-1]
    assert "environment broken (pip check): pytest-benchmark 5.1.0" in summary
    assert "1 conflicts among packages no collected suite imports (information, not a " \
           "failure): crewai 1.13.0" in summary


def test_a_changed_signature_is_named_api_incompatible():
    def old_style(required):
        return required

    try:
        old_style(renamed=1)
    except TypeError as e:
        verdict = incompatible.signature_break(e, "pytest")
    assert verdict.startswith(f"{incompatible.API}: pytest {metadata.version('pytest')}: "
                              "TypeError:") and "unexpected keyword argument 'renamed'" in verdict
    assert incompatible.signature_break(TypeError("unsupported operand type(s)"), "pytest") is None


def accept(tmp_path, base: dict, candidate: dict, *args, env=None):
    from selftests.support import REPO, unguarded_environ

    paths = []
    for name, data in (("base", base), ("candidate", candidate)):
        path = tmp_path / f"stackqual-{name}.json"
        path.write_text(json.dumps(data))
        paths.append(str(path))
    return subprocess.run([sys.executable, "-m", "stackqual.cli", "accept", *paths, *args],
                          capture_output=True, text=True, cwd=REPO,
                          env={**unguarded_environ(), **(env or {})})


def stack_report(packages: dict) -> dict:
    from stackqual import profile

    fingerprint = profile.fingerprint()
    return {"profile": profile.detect_profile(), "checks": [], "tests": {},
            "fingerprint": {**fingerprint, "packages": {**fingerprint["packages"], **packages}}}


@pytest.mark.parametrize("moved,said", [
    ({"python": "3.99.0"}, "python: 3.99.0 -> "),
    ({"cuda": "99.9"}, "cuda: 99.9 -> "),
    ({"profile": "cuda-sm90-h100-80gb"}, "ran on profile 'cuda-sm90-h100-80gb'"),
])
def test_accept_refuses_a_candidate_of_another_python_cuda_or_profile(tmp_path, moved, said):
    """Defect: accept compared the packages only, and recorded for whatever profile this
    machine detects."""
    here = stack_report({})
    base = {**here, "profile": moved.get("profile", here["profile"])}
    candidate = {**base, "fingerprint": {**here["fingerprint"], **moved}}
    refused = accept(tmp_path, base, candidate, "--reason", "ok", "--", "--baselines-dir",
                     str(tmp_path / "baselines"))
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert said in refused.stderr
    assert not (tmp_path / "baselines").exists()


@pytest.mark.slow
def test_accept_records_the_reviewed_stack_and_appends_why_to_the_changelog(tmp_path):
    pytest.importorskip("haystack", reason="haystack-ai not installed: `pip install -e "
                                           "'.[agents]'`")
    here = stack_report({})
    baselines = tmp_path / "baselines"
    selection = ("--", "suites/agents/test_haystack.py::test_bm25_ranks_documents",
                 "--baselines-dir", str(baselines), "--report-dir", str(tmp_path / "reports"))

    refused = accept(tmp_path, here, stack_report({"haystack-ai": "9.9.9"}), "--reason", "ok",
                     *selection)
    assert refused.returncode == 4, refused.stderr
    assert "the installed stack is not the reviewed candidate" in refused.stderr
    assert not baselines.exists()  # nothing recorded

    done = accept(tmp_path, stack_report({"haystack-ai": "3.3.0"}), here, "--reason",
                  "BM25 scores reviewed", *selection)
    assert done.returncode == 0, done.stdout + done.stderr
    changelog = (baselines / "CHANGELOG.md").read_text()
    installed = metadata.version("haystack-ai")
    assert f"packages.haystack-ai: 3.3.0 -> {installed}" in changelog, changelog
    assert "Why accepted: BM25 scores reviewed" in changelog


def test_concurrent_accepts_each_append_their_changelog_entry(tmp_path):
    """Defect: eight concurrent `accept` runs lost three entries while each said
    "appended" (read, replace, no lock). Eight real processes append at once."""
    from selftests.support import REPO, unguarded_environ

    changelog = tmp_path / "baselines" / "CHANGELOG.md"
    code = ("import sys; from pathlib import Path; from stackqual import cli; "
            "cli.append_changelog(Path(sys.argv[1]), f'\\n## entry {sys.argv[2]}\\n')")
    writers = [subprocess.Popen([sys.executable, "-c", code, str(changelog), str(n)], cwd=REPO,
                                env=unguarded_environ()) for n in range(8)]
    assert [w.wait(timeout=120) for w in writers] == [0] * 8
    text = changelog.read_text()
    assert sorted(line for line in text.splitlines() if line.startswith("## entry")) == [
        f"## entry {n}" for n in range(8)], text


def files_of(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.mark.slow
def test_an_interrupted_accept_changes_no_baseline_and_prunes_no_snapshot(tmp_path):
    """Defect: Ctrl-C during `accept` deleted the committed snapshots of the tests that had
    not run yet (syrupy prunes "unused" snapshots at session end, interrupted or not), and
    left the baselines file half old, half new under the new stack's fingerprint. Here the
    run sends itself a real SIGINT after its second test (selftests/interrupt_after.py):
    one baseline recorded, one test of a snapshot module done, four not run."""
    pytest.importorskip("haystack", reason="haystack-ai not installed: `pip install -e "
                                           "'.[agents]'`")
    from selftests.support import REPO

    baselines = tmp_path / "baselines"
    shutil.copytree(REPO / "baselines", baselines)
    snapshots = REPO / "suites" / "agents" / "__snapshots__"
    before = files_of(baselines), files_of(snapshots)
    here = stack_report({})
    interrupted = accept(
        tmp_path, here, here, "--reason", "ok", "--",
        "suites/compile/test_dynamo.py::test_graph_breaks_do_not_grow[mlp-cpu-inference]",
        "suites/agents/test_haystack.py", "-p", "selftests.interrupt_after",
        "--baselines-dir", str(baselines), "--report-dir", str(tmp_path / "reports"),
        env={"STACKQUAL_INTERRUPT_AFTER": "2"})
    output = interrupted.stdout + interrupted.stderr
    assert interrupted.returncode == 3, output  # the run broke (stackqual.exits)
    assert "KeyboardInterrupt" in output and "is as it was" in output, output
    assert (files_of(baselines), files_of(snapshots)) == before, output
    assert not (baselines / "CHANGELOG.md").exists()
