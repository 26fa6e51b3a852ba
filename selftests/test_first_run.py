"""The one-screen table that ends a first run on a new GPU (stackqual/first_run.py): a row
per stage, then the sections the suites declare (suite.toml [[first_run]]), read from the
streams of a qualify folder; the harness names no suite's metric."""

import json
import re

from stackqual import declared, first_run
from selftests.support import REPO


def stream(folder, *checks):
    folder.mkdir(parents=True)
    (folder / "stream.jsonl").write_text("".join(
        json.dumps({"event": "check", **c}) + "\n" for c in checks))


def test_the_suites_declared_sections_show_their_checks(tmp_path):
    qualify = tmp_path / "qualify-20261203T000000Z"
    stream(qualify / "attention",
           *({"check_id": f"test_dispatch.py::test_dispatch[{case}]#documented_rule",
              "metric": "documented_rule", "measured": "flash", "verdict": "pass"}
             for case in ("a", "b")),
           {"check_id": "test_dispatch.py::test_dispatch[c]#documented_rule",
            "metric": "documented_rule", "measured": "math", "verdict": "fail"})
    stream(qualify / "hardware",
           {"check_id": "test_peak.py::test_share[gemm-bf16-cuda]#share_of_peak",
            "metric": "share_of_peak", "measured": 0.71, "verdict": "info",
            "details": {"peak": 989.4, "unit": "TFLOP/s"}},
           {"check_id": "test_peak.py::test_share[copy-cuda]#share_of_peak",
            "metric": "share_of_peak", "measured": None, "verdict": "info",
            "details": {"peak": None, "unit": "GB/s"}})
    sections = declared.first_run_sections(REPO / "suites")
    assert [s.metric for s in sections] == ["documented_rule", "share_of_peak"]
    text = first_run.table([("stage1", qualify, 1)], sections)
    assert "  flash            pass     2 cases: a, b" in text, text
    assert "  math             fail     1 cases: c" in text, text
    assert "  gemm-bf16-cuda       71% of 989.4 TFLOP/s" in text, text
    assert "  copy-cuda            not measured" in text, text
    row = text.splitlines()[1]  # two passed, one failed, none not judged (info is neither)
    assert row.startswith("stage1   exit 1 ") and re.search(r" 2 +1 +0   ", row), text


def test_a_suite_of_its_own_adds_its_section_and_an_unmeasured_one_says_so(tmp_path):
    suites = tmp_path / "suites"
    (suites / "quant").mkdir(parents=True)
    (suites / "quant" / declared.FILE).write_text(
        'packages = ["torch"]\n[[first_run]]\ntitle = "int8 round trip"\n'
        'metric = "max_step_error"\nrow = "{measured:.2f} steps of {bound}"\n')
    qualify = tmp_path / "qualify-20261203T000000Z"
    stream(qualify / "quant",
           {"check_id": "test_quant.py::test_round_trip[vector-1m]#max_step_error",
            "metric": "max_step_error", "measured": 0.5, "verdict": "pass",
            "details": {"bound": 0.5}})
    text = first_run.table([("stage1", qualify, 0)], declared.first_run_sections(suites))
    assert "int8 round trip:\n  vector-1m            0.50 steps of 0.5\n" in text, text
    empty = first_run.table([("stage1", tmp_path / "none", 2)],
                            declared.first_run_sections(suites))
    assert "int8 round trip:\n  none measured\n" in empty, empty
