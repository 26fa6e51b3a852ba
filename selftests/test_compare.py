"""`stackqual compare`: what an upgrade changes, regressions first, from two run reports;
non-zero when anything blocks; reports of two profiles refused; a broken environment, an
API incompatible framework and a harness that needs updating each named as such; a
changed snapshot's whole diff in the Markdown; each suite's own stack changes."""

import json
import subprocess
import sys

import pytest

from selftests.faults import Fault
from selftests.support import REPO
from stackqual import compare, incompatible


def report(checks=(), tests=None, fingerprint=None, profile="cpu-test", **more):
    return {"profile": profile, "fingerprint": fingerprint or {"torch": "2.13.0"},
            "checks": [{"check_id": cid, "nodeid": f"suites/{suite}/t.py::{cid}",
                        "suite": suite, "metric": cid.split("#")[-1], "measured": measured,
                        "expected": None, "verdict": verdict, "message": message,
                        "source": "", "details": details[0] if details else {}}
                       for cid, suite, measured, verdict, message, *details in checks],
            "tests": tests or {}, **more}


BASE = report(
    checks=[("a#parity", "compile", 0.4, "pass", ""),
            ("b#graph_breaks", "compile", 0, "pass", ""),
            ("c#backend", "attention", "flash", "pass", ""),
            ("d#speedup", "compile", 2.0, "pass", "")],
    tests={"suites/agents/test_dspy.py::test_prompt": {"outcome": "passed"},
           "suites/attention/test_hf.py::test_flex": {"outcome": "passed"}},
    fingerprint={"torch": "2.13.0", "packages": {"transformers": "5.23.0"}})
CANDIDATE = report(
    checks=[("a#parity", "compile", 2.1, "fail", "compiled is further from fp64"),
            ("b#graph_breaks", "compile", 1, "fail", "graph_breaks = 1, more than 0"),
            ("c#backend", "attention", "cudnn", "changed", "backend is 'cudnn'"),
            ("d#speedup", "compile", 2.5, "improved", "speedup improved")],
    tests={"suites/agents/test_dspy.py::test_prompt": {"outcome": "failed",
                                                        "reason": "failed in call: boom"},
           "suites/attention/test_hf.py::test_flex": {"outcome": "skipped",
                                                      "reason": "flex not offered"}},
    fingerprint={"torch": "2.13.0", "packages": {"transformers": "5.24.0"}})


def test_blocking_changes_come_first_each_named():
    result = compare.compare(BASE, CANDIDATE)
    kinds = [(c.kind, c.what) for c in result.changes]
    assert kinds == [("regressed", "a#parity"), ("regressed", "b#graph_breaks"),
                     ("capability lost", "suites/attention/test_hf.py::test_flex"),
                     ("test failed", "suites/agents/test_dspy.py::test_prompt"),
                     ("changed", "c#backend"), ("improved", "d#speedup")]
    assert result.stack == ["packages.transformers: 5.23.0 -> 5.24.0"]
    text = compare.markdown(result)
    assert "**4 blocking changes**" in text and "- packages.transformers: 5.23.0 -> 5.24.0" in text
    assert "| **capability lost** | `suites/attention/test_hf.py::test_flex` |" in text


def test_environment_api_and_harness_incompatibility_each_have_their_own_kind():
    tests = {"suites/agents/test_crewai.py::test_crew": {"outcome": "passed"},
             "suites/agents/test_dspy.py::test_prompt": {"outcome": "passed"},
             "suites/models/test_cost.py::test_memory": {"outcome": "passed"}}
    base = report(tests=tests, environment={"pip_check": "ok"})
    candidate = report(tests={
        "suites/agents/test_crewai.py": {"outcome": "failed", "reason": (
            f"failed in collection: {incompatible.API}: crewai 1.16.0: ImportError: cannot "
            "import name 'BaseLLM'")},
        "suites/agents/test_dspy.py::test_prompt": {"outcome": "passed"},
        "suites/models/test_cost.py::test_memory": {"outcome": "failed", "reason": (
            f"failed in call: {incompatible.HARNESS}: stackqual relies on torch.distributed."
            "_tools.mem_tracker.MemTracker, ...")}},
        environment={"pip_check": "broken", "problems": ["crewai 1.16.0 has requirement "
                                                         "litellm>=2, but you have 1.110.2."]})
    result = compare.compare(base, candidate)
    listed = [(c.kind, c.what) for c in result.changes]
    assert listed == [("environment broken", "pip check"),
                      (incompatible.HARNESS, "suites/models/test_cost.py::test_memory"),
                      (incompatible.API, "suites/agents/test_crewai.py")], listed
    assert "cannot import name 'BaseLLM'" in result.changes[2].note  # its tests not "gone"
    assert all(c.blocks for c in result.changes)


def test_a_changed_snapshot_carries_its_whole_diff_and_each_suite_its_own_stack():
    diff = "--- dspy-3.3/x.json\n+++ this run (dspy 3.4.1)\n@@ -1 +1 @@\n-a\n+b"
    checks = [("p#snapshot[messages]", "agents", "same", "pass", "")]
    candidate = report(
        checks=[("p#snapshot[messages]", "agents", "changed", "fail", "messages changed",
                 {"diff": diff})],
        fingerprint={"torch": "2.13.0", "packages": {"dspy": "3.4.1", "transformers": "5.24.0"}},
        suite_packages={"agents": ["dspy"], "models": ["transformers"]})
    result = compare.compare(report(checks=checks, fingerprint={
        "torch": "2.13.0", "packages": {"dspy": "3.3.1", "transformers": "5.24.0"}}), candidate)
    assert result.suite_stack == {"agents": ["packages.dspy: 3.3.1 -> 3.4.1"], "models": []}
    text = compare.markdown(result)
    assert f"```diff\n{diff}\n```" in text
    assert "Stack changes this suite depends on: packages.dspy: 3.3.1 -> 3.4.1" in text


def test_two_clean_reports_have_nothing_to_block():
    result = compare.compare(BASE, BASE)
    assert result.changes == [] and "nothing blocks" in compare.markdown(result)


def test_reports_of_two_profiles_are_refused():
    with pytest.raises(compare.CompareError, match="different hardware profiles"):
        compare.compare(BASE, report(profile="cuda-sm90-h100-80gb"))


def test_the_command_exits_1_on_a_block_0_on_none_and_4_on_bad_input(tmp_path):
    def write(name, data):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "stackqual-cpu-test-20261128T000000Z.json").write_text(json.dumps(data))
        return folder
    base, cand = write("base", BASE), write("cand", CANDIDATE)
    (tmp_path / "junk.json").write_text("{not json")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "stackqual.cli", "compare", *map(str, args)],
                              capture_output=True, text=True, cwd=REPO)
    blocked = run(base, cand, "--json", tmp_path / "c.json")
    assert blocked.returncode == 1 and "regressed" in blocked.stdout
    assert json.loads((tmp_path / "c.json").read_text())["blocking"] == 4
    assert run(base, base).returncode == 0
    bad = run(base, tmp_path / "junk.json")
    assert bad.returncode == 4 and "not a readable run report" in bad.stderr


# -- a verdict never passes what it did not judge ----------------------------------------
def test_a_candidate_that_fails_what_the_base_did_not_blocks_new_checks_and_tests_too():
    """Defect: a check absent from the base was "new" whatever its verdict, and a failing
    test the base did not have passed: a failing candidate passed `compare`."""
    candidate = report(
        checks=[("a#parity", "compile", 0.4, "pass", ""),
                ("e#snapshot[messages]", "agents", "changed", "fail", "messages changed")],
        tests={"suites/agents/test_new.py::test_new": {"outcome": "failed",
                                                       "reason": "failed in call: boom"},
               "suites/attention/test_hf.py::test_flex": {"outcome": "failed",
                                                          "reason": "failed in call: x"}})
    base = report(checks=[("a#parity", "compile", 0.4, "pass", "")],
                  tests={"suites/attention/test_hf.py::test_flex": {"outcome": "skipped"}})
    blocking = [(c.kind, c.what) for c in compare.compare(base, candidate).blocking]
    assert blocking == [("regressed", "e#snapshot[messages]"),
                        ("test failed", "suites/agents/test_new.py::test_new"),
                        ("test failed", "suites/attention/test_hf.py::test_flex")], blocking


@pytest.mark.parametrize("candidate,why", [
    (report(), "no test and no check"),
    (report(checks=[("a#parity", "compile", 0.4, "recorded", "")],
            tests={"suites/compile/t.py::a": {"outcome": "passed"}}), "recorded"),
    (report(checks=[("a#speedup", "compile", 2.0, "no-baseline", "")],
            tests={"suites/compile/t.py::a": {"outcome": "skipped"}}), "no-baseline"),
])
def test_a_candidate_that_judged_nothing_is_not_judged_exit_2(tmp_path, candidate, why):
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    base.write_text(json.dumps(BASE))
    cand.write_text(json.dumps(candidate))
    done = subprocess.run([sys.executable, "-m", "stackqual", "compare", str(base), str(cand),
                           "--markdown", str(tmp_path / "c.md")],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "judged nothing" in done.stdout and why in done.stdout
    assert "judged nothing" in (tmp_path / "c.md").read_text()


@pytest.mark.parametrize("verdict", ["inconclusive", "not-comparable", "no-baseline"])
def test_a_check_the_base_judged_and_the_candidate_could_not_is_not_judged_exit_2(
        tmp_path, verdict):
    """Defect: an inconclusive timing was "not judged", exit 2, in qualify and "changed",
    exit 0, in compare. One vocabulary (stackqual.verdicts): not judged everywhere."""
    candidate = {**BASE, "checks": [*BASE["checks"][:3], {
        **BASE["checks"][3], "measured": 1.1, "verdict": verdict, "message": "too noisy"}]}
    result = compare.compare(BASE, candidate)
    assert [(c.kind, c.what) for c in result.changes] == [("not judged", "d#speedup")]
    assert result.blocking == [] and "1 not judged (never a pass)" in compare.markdown(result)
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    base.write_text(json.dumps(BASE))
    cand.write_text(json.dumps(candidate))
    done = subprocess.run([sys.executable, "-m", "stackqual", "compare", str(base), str(cand)],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2, done.stdout + done.stderr


def test_the_newest_report_of_a_folder_is_the_one_that_started_last(tmp_path):
    """Defect: a name sort chose `...Z.json` over a newer `...Z-2.json`, `-2` over `-10`,
    and one profile's reports over another's whatever their times."""
    def write(name, started, marker):
        (tmp_path / name).write_text(json.dumps(report(started=started, marker=marker)))
    write("stackqual-cpu-test-20261128T000000Z.json", "2026-11-28T00:00:00+00:00", "first")
    write("stackqual-cpu-test-20261128T000000Z-2.json", "2026-11-28T00:00:00+00:00", "second")
    write("stackqual-cpu-test-20261128T000000Z-10.json", "2026-11-28T00:00:00+00:00", "tenth")
    write("stackqual-aaa-20261127T000000Z.json", "2026-11-27T00:00:00+00:00", "older")
    assert compare.load(tmp_path)[1]["marker"] == "tenth"


def test_an_ab_result_of_other_stacks_is_refused():
    ab = {"kind": "ab", "profile": "cpu-test", "cases": [], "fingerprints": {
        "base": {"packages": {"transformers": "5.23.0"}},
        "candidate": {"packages": {"transformers": "5.22.0"}}}}
    result = compare.compare(BASE, CANDIDATE)
    with pytest.raises(compare.CompareError, match="the ab result's candidate is not"):
        compare.add_ab(result, ab, BASE, CANDIDATE)
    ab["fingerprints"]["candidate"]["packages"]["transformers"] = "5.24.0"
    compare.add_ab(result, ab, BASE, CANDIDATE)  # the same two stacks: accepted


PARITY = ("suites/compile/test_parity.py::test_compiled_matches_eager_against_fp64"
          "[mlp-inductor-default-fp32-cpu-inference]")
GRAPH_BREAKS = "suites/compile/test_dynamo.py::test_graph_breaks_do_not_grow[mlp-cpu-inference]"
PROMPT = "suites/agents/test_dspy.py::test_prompt_and_typed_prediction[predict-chat]"


@pytest.mark.slow
def test_real_runs_a_miscompile_a_graph_break_and_a_prompt_are_exactly_what_it_lists(
        run_suite, tmp_path):
    pytest.importorskip("dspy", reason="dspy not installed: `pip install -e '.[agents]'`")
    selection = (PARITY, GRAPH_BREAKS, PROMPT)
    upgrade = Fault(id="upgrade", selection=selection, failures=3,
                    plugins=("compile.perturb_compiled_output", "compile.add_graph_break",
                             "agents.dspy_field_header"),
                    env={"STACKQUAL_FAULT_OFFSET": "1.0"})
    # The three runs at once (none judges a clock): two clean, one upgraded.
    clean, faulty, again = (run_suite.start(*selection), run_suite.start_fault(upgrade),
                            run_suite.start(*selection))
    clean = clean.result()
    assert clean.returncode == 0, clean.output
    faulty = run_suite.fired(upgrade, faulty)
    result = compare.compare(clean.report, faulty.report)
    listed = [(c.kind, c.what) for c in result.changes]
    assert listed == [
        ("regressed", "test_dspy.py::test_prompt_and_typed_prediction[predict-chat]"
                      "#snapshot[messages]"),
        ("regressed", "test_dynamo.py::test_graph_breaks_do_not_grow[mlp-cpu-inference]"
                      "#graph_breaks"),
        ("regressed", "test_parity.py::test_compiled_matches_eager_against_fp64"
                      "[mlp-inductor-default-fp32-cpu-inference]#parity_vs_fp64")], listed
    assert "+        \"[[ # question # ]]\"," in result.changes[0].diff, result.changes[0].diff
    assert compare.compare(clean.report, again.result().report).blocking == []
