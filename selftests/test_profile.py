"""Profile detection and the stack fingerprint."""

import pytest
import torch

from stackqual import profile


@pytest.mark.parametrize("name,major,minor,total,expected", [
    ("NVIDIA H100 80GB HBM3", 9, 0, 85_031_714_816, "cuda-sm90-h100-80gb"),
    ("NVIDIA H200", 9, 0, 150_754_820_096, "cuda-sm90-h200-140gb"),
    ("NVIDIA A10", 8, 6, 23_827_644_416, "cuda-sm86-a10-22gb"),
    ("NVIDIA A100-SXM4-40GB", 8, 0, 42_505_273_344, "cuda-sm80-a100-40gb"),
])
def test_cuda_profile_names_capability_model_and_memory(fake_gpu, name, major, minor, total,
                                                        expected):
    fake_gpu(name, major, minor, total)
    assert profile.detect_profile() == expected


@pytest.mark.parametrize("capability,expected", [
    ("AVX512", "cpu-avx512"), ("AVX2", "cpu-avx2"), ("DEFAULT", "cpu-default")])
def test_cpu_profile_names_the_isa(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert profile.detect_profile() == expected


def test_profile_name_is_validated():
    assert profile.validate_profile_name("cpu-avx512") == "cpu-avx512"
    with pytest.raises(ValueError, match="not valid"):
        profile.validate_profile_name("CPU AVX/512")


def test_fingerprint_names_the_stack():
    fp = profile.fingerprint()
    assert fp["torch"] == torch.__version__
    assert fp["torch_threads"] == torch.get_num_threads()
    assert {"python", "cpu", "cpu_capability", "cuda", "packages"} <= set(fp)
    assert "torch" in fp["packages"]


def test_fingerprint_differences_are_readable():
    old = {"torch": "2.13.0", "packages": {"transformers": "5.24.0"}, "platform": "a"}
    new = {"torch": "2.14.1", "packages": {"transformers": "5.24.0"}, "platform": "b"}
    assert profile.fingerprint_differences(old, new) == ["torch: 2.13.0 -> 2.14.1"]


def test_a_suite_sees_only_the_packages_it_depends_on():
    old = {"torch": "2.13.0", "packages": {"transformers": "5.23.0", "dspy": "3.3.1"}}
    new = {"torch": "2.13.0", "packages": {"transformers": "5.24.0", "dspy": "3.4.1"}}
    assert profile.fingerprint_differences(old, new, packages=("dspy",)) == [
        "packages.dspy: 3.3.1 -> 3.4.1"]
    assert len(profile.fingerprint_differences(old, new)) == 2
