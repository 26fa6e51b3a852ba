"""`stackqual compare`: what an upgrade changes, regressions first, from two run reports;
non-zero when anything blocks; reports of two profiles refused."""

import json
import subprocess
import sys

import pytest

from selftests.faults import Fault
from selftests.support import REPO
from stackqual import compare


def report(checks=(), tests=None, fingerprint=None, profile="cpu-test"):
    return {"profile": profile, "fingerprint": fingerprint or {"torch": "2.13.0"},
            "checks": [{"check_id": cid, "nodeid": f"suites/{suite}/t.py::{cid}",
                        "suite": suite, "metric": cid.split("#")[-1], "measured": measured,
                        "expected": None, "verdict": verdict, "message": message,
                        "source": "", "details": {}}
                       for cid, suite, measured, verdict, message in checks],
            "tests": tests or {}}


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
                                                        "reason": "failed in call"},
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


PARITY = ("suites/compile/test_parity.py::test_compiled_matches_eager_against_fp64"
          "[mlp-inductor-default-fp32-cpu-inference]")
GRAPH_BREAKS = "suites/compile/test_dynamo.py::test_graph_breaks_do_not_grow[mlp-cpu-inference]"
PROMPT = "suites/agents/test_dspy.py::test_prompt_and_typed_prediction[predict-chat]"


@pytest.mark.slow
def test_real_runs_a_miscompile_a_graph_break_and_a_prompt_are_exactly_what_it_lists(
        run_suite, tmp_path):
    pytest.importorskip("dspy", reason="dspy not installed: `pip install -e '.[agents]'`")
    selection = (PARITY, GRAPH_BREAKS, PROMPT)
    clean = run_suite(*selection)
    assert clean.returncode == 0, clean.output
    faulty = run_suite.fires(Fault(
        id="upgrade", selection=selection, failures=3,
        plugins=("compile.perturb_compiled_output", "compile.add_graph_break",
                 "agents.dspy_field_header"),
        env={"STACKQUAL_FAULT_OFFSET": "1.0"}))
    result = compare.compare(clean.report, faulty.report)
    listed = [(c.kind, c.what) for c in result.changes]
    assert listed == [
        ("regressed", "test_dynamo.py::test_graph_breaks_do_not_grow[mlp-cpu-inference]"
                      "#graph_breaks"),
        ("regressed", "test_parity.py::test_compiled_matches_eager_against_fp64"
                      "[mlp-inductor-default-fp32-cpu-inference]#parity_vs_fp64"),
        ("test failed", PROMPT)], listed
    assert compare.compare(clean.report, run_suite(*selection).report).blocking == []
