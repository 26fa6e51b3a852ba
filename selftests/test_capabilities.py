"""Hardware markers skip with a reason that says what is missing and how to run it."""

import torch

pytest_plugins = ["pytester"]

TESTS = """
import pytest

@pytest.mark.gpu
def test_needs_gpu():
    pass

@pytest.mark.min_sm(9, 0)
def test_needs_hopper():
    pass

def test_anywhere():
    pass
"""


def test_gpu_marker_skips_without_cuda(pytester, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-rs", "--no-report")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]2[]] *needs a CUDA GPU: torch.cuda.is_available() is False*`pytest -m gpu`*"])


def test_min_sm_names_both_capabilities(pytester, fake_gpu):
    fake_gpu("NVIDIA A10", 8, 6, 23_827_644_416)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-rs", "--no-report", "--profile", "cuda-test")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*needs CUDA sm90+: this GPU (NVIDIA A10) is sm86*"])
