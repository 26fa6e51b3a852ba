"""`pytest -m gpu` fits its six minutes on one H100: the collected qualification tier,
turned into seconds by the arithmetic of selftests/gpu_budget.py at the cost each suite
declares in its suite.toml (estimates until a GPU run measures them). No GPU needed:
collection only."""

import subprocess
import sys

import pytest

from selftests import gpu_budget
from selftests.support import REPO, unguarded_environ

pytestmark = pytest.mark.slow
SUITES = REPO / "suites"


@pytest.fixture(scope="module")
def collected() -> dict[str, list[str]]:
    """Tier -> the node ids of the CUDA rows it collects, from one collection of the suites
    (selftests/print_tiers.py)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "suites", "--collect-only", "-q",
                          "-m", "gpu or gpu_full", "-p", "no:cacheprovider", "-p",
                          "selftests.print_tiers"],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env=unguarded_environ())
    tiers = {"gpu": [], "gpu_full": []}
    for line in out.stdout.splitlines():
        if line.startswith("TIERS "):
            _, marks, nodeid = line.split(" ", 2)
            for tier in marks.split(","):
                tiers[tier].append(nodeid)
    assert tiers["gpu"] and tiers["gpu_full"], out.stdout + out.stderr
    return tiers


def test_the_qualification_tier_fits_its_budget(collected):
    e = gpu_budget.estimate(collected["gpu"], SUITES)
    assert e.seconds <= gpu_budget.LIMIT_S, (
        f"pytest -m gpu is estimated at {e.seconds:.0f} s, over its {gpu_budget.LIMIT_S} s "
        "budget: " + "; ".join(e.lines) + " (selftests/gpu_budget.py); move rows to gpu_full")


def test_the_whole_gpu_table_would_not_fit(collected):
    """The budget can fail: every CUDA row (the tier before it was split) is far over."""
    e = gpu_budget.estimate(collected["gpu"] + collected["gpu_full"], SUITES)
    assert e.seconds > 3 * gpu_budget.LIMIT_S, "; ".join(e.lines)


def test_a_suite_in_its_own_folder_is_priced_by_its_own_declaration(tmp_path):
    """The example suite (selftests/example_suites) declares its timed test's cost; the
    budget reads it from there, and a test it does not price is a light case."""
    folder = REPO / "selftests" / "example_suites"
    e = gpu_budget.estimate(
        ["selftests/example_suites/quant/test_quant.py::"
         "test_quantize_keeps_its_speed_against_a_clone[vector-1m-cuda]",
         "selftests/example_suites/quant/test_quant.py::"
         "test_int8_round_trip_moves_a_value_at_most_half_a_step[vector-1m-cuda]"], folder)
    assert e.seconds == pytest.approx(gpu_budget.START_UP_S + 11 + gpu_budget.LIGHT_CASE_S)
    assert "quant 11 s" in e.lines, e.lines
    (tmp_path / "quant").mkdir()
    (tmp_path / "quant" / "suite.toml").write_text(
        'packages = []\n[gpu_budget.tests]\ntest_x = { seconds = "ten" }\n')
    with pytest.raises(gpu_budget.Undeclared, match=r"quant/suite.toml \[gpu_budget\] "
                                                    r"tests.test_x: expected a number"):
        gpu_budget.estimate([], tmp_path)
