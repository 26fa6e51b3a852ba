"""`pytest -m gpu` fits its six minutes on one H100: the collected qualification tier,
turned into seconds by the arithmetic of selftests/gpu_budget.py (its per-unit seconds are
estimates until a GPU run measures them). No GPU needed: collection only."""

import subprocess
import sys

import pytest

from selftests import gpu_budget
from selftests.support import REPO, unguarded_environ

pytestmark = pytest.mark.slow


def collected(marker: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "suites", "--collect-only", "-q",
                          "-m", marker, "-p", "no:cacheprovider", "-p", "no:randomly"],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env=unguarded_environ())
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert ids, out.stdout + out.stderr
    return ids


def test_the_qualification_tier_fits_its_budget():
    e = gpu_budget.estimate(collected("gpu"))
    assert e.seconds <= gpu_budget.LIMIT_S, (
        f"pytest -m gpu is estimated at {e.seconds:.0f} s, over its {gpu_budget.LIMIT_S} s "
        "budget: " + "; ".join(e.lines) + " (selftests/gpu_budget.py); move rows to gpu_full")


def test_the_whole_gpu_table_would_not_fit():
    """The budget can fail: every CUDA row (the tier before it was split) is far over."""
    e = gpu_budget.estimate(collected("gpu or gpu_full"))
    assert e.seconds > 3 * gpu_budget.LIMIT_S, "; ".join(e.lines)
