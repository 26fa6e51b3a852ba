"""A suite that lives in its own folder: the example suite (selftests/example_suites/quant,
docs/adding-a-suite.md) declares its packages, the band of its timed metric and its place
in qualify in its suite.toml, and no line of stackqual/ names it. Run with that folder as
the suites folder, it is collected, recorded and judged by the plugin, fails on its fault
(selftests/faults/quant/), is compared by `stackqual compare`, qualified by `stackqual
qualify --suites-dir`, merged by `stackqual fleet` and timed under two stacks by
`stackqual ab`."""

import json
import shutil
import subprocess
import sys

import pytest

from selftests.support import REPO, unguarded_environ
from stackqual import compare

pytestmark = pytest.mark.slow

FOLDER = "selftests/example_suites"
SUITE = f"{FOLDER}/quant"
AS_SUITES = ("-o", f"stackqual_suites={FOLDER}")
PROFILE = ("--profile", "example-cpu")
ROUND_TRIP = "test_int8_round_trip_moves_a_value_at_most_half_a_step"
SPEED = "test_quantize_keeps_its_speed_against_a_clone"


def busy(run) -> bool:
    return "not recorded" in run.output


def test_the_plugin_records_judges_and_compares_the_example_suite_and_its_fault_fails(
        run_suite, tmp_path):
    at = ("--baselines-dir", str(tmp_path / "baselines"), *PROFILE, *AS_SUITES)
    recorded = run_suite(SUITE, *at, "--update-baselines")
    if busy(recorded):
        pytest.skip("the machine was busy or in a slow phase: baselines are not recorded "
                    "then; rerun on a quiet machine")
    assert recorded.returncode == 0, recorded.output
    assert recorded.report["suite_packages"]["quant"] == [], recorded.output
    assert (tmp_path / "baselines" / "example-cpu" / "quant.json").is_file()
    checks = recorded.report["checks"]
    assert {c["suite"] for c in checks} == {"quant"}
    assert {c["details"]["tolerance"] for c in checks if c["metric"] == "quantize_vs_clone"} \
        == {0.35}, "the band the suite declares in its suite.toml"
    # Judged against what it recorded. The band is overridden to 90%: this proves that the
    # commands carry a suite's own band, not the timing statistics (test_false_alarms.py),
    # and a shared runner's noise must not fail it.
    clean = run_suite(SUITE, *at, "--perf-tolerance", "quantize_ratio=0.9")
    assert clean.returncode == 0, clean.output
    verdicts = {}
    for c in clean.report["checks"]:
        verdicts.setdefault(c["metric"], set()).add(c["verdict"])
    # A shared host's slow phase may leave the timing not comparable or inconclusive
    # (stackqual.perf), never regressed; the round trip is judged.
    assert verdicts["round_trip_steps"] == {"pass"}, clean.output
    assert verdicts["quantize_vs_clone"] <= {"pass", "inconclusive", "not-comparable"}, \
        clean.output
    faulted = run_suite(SUITE, *at, "--perf-tolerance", "quantize_ratio=0.9",
                        faults=["quant.truncating"])
    assert faulted.returncode == 1, faulted.output
    assert "vector-1m: a value moved by 1.0000 quantization steps in the int8 round trip, " \
           "more than 0.5 (round to nearest: at most half a quantization step)" \
           in faulted.output
    blocking = compare.compare(clean.report, faulted.report).blocking
    assert {c.suite for c in blocking} == {"quant"}, blocking
    assert {c.what.split("[")[0] for c in blocking} >= {f"test_quant.py::{ROUND_TRIP}"}, \
        blocking


def command(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stackqual.cli", *args], cwd=REPO,
                          capture_output=True, text=True, env=unguarded_environ(),
                          timeout=timeout)


def test_qualify_and_fleet_pick_up_the_example_suite(tmp_path):
    reports = tmp_path / "reports"
    done = command("qualify", "--suites-dir", FOLDER, "--record", "--quiet-seconds", "0",
                   "--baselines-dir", str(tmp_path / "baselines"), *PROFILE,
                   "--report-dir", str(reports), "--node", "node1")
    out = done.stdout + done.stderr
    if "busy" in out and done.returncode == 2:
        pytest.skip(f"the machine was busy: qualify did not judge it; rerun on a quiet "
                    f"machine: {out.splitlines()[-1]}")
    assert done.returncode == 0, out
    [folder] = reports.glob("qualify-*")
    verdict = json.loads((folder / "verdict.json").read_text())
    assert list(verdict["suites"]) == ["quant"], out
    # Three nodes of one fleet: the node's folder under two more names.
    for name in ("node2", "node3"):
        copy = reports / folder.name.replace("node1", name)
        shutil.copytree(folder, copy)
        data = json.loads((copy / "verdict.json").read_text())
        (copy / "verdict.json").write_text(json.dumps({**data, "node": name}))
    merged = command("fleet", str(reports), "--out", str(tmp_path / "fleet"))
    assert merged.returncode == 0, merged.stdout + merged.stderr
    fleet = json.loads((tmp_path / "fleet" / "fleet.json").read_text())
    figures = [s for g in fleet["groups"] for s in g["figures"]]
    assert figures and {s["suite"] for s in figures} == {"quant"}, fleet
    assert any(SPEED in s["figure"] for s in figures), fleet


def test_ab_times_the_example_suite_under_two_stacks(tmp_path):
    done = command("ab", "--base", sys.executable, "--candidate", sys.executable, "--rounds",
                   "2", "--report-dir", str(tmp_path), SUITE, "--", *AS_SUITES)
    out = done.stdout + done.stderr
    [result] = tmp_path.glob("ab-*/ab.json")
    cases = json.loads(result.read_text())["cases"]
    assert cases and {c["suite"] for c in cases} == {"quant"}, out
    assert {c["name"].split("::")[-1].split("[")[0] for c in cases} == {SPEED}, out
    assert done.returncode in (0, 2) and "regressed" not in {c["verdict"] for c in cases}, out
