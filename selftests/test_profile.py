"""Profile detection and the stack fingerprint."""

import pytest
import torch

from stackqual import profile


MIB, GIB = 2**20, 2**30


@pytest.mark.parametrize("name,major,minor,total,expected", [
    ("NVIDIA H100 80GB HBM3", 9, 0, 85_031_714_816, "cuda-sm90-h100-80gb"),
    ("NVIDIA A10", 8, 6, 23_827_644_416, "cuda-sm86-a10-22gb"),  # not in the table
    ("NVIDIA A100-SXM4-40GB", 8, 0, 42_505_273_344, "cuda-sm80-a100-40gb"),
])
def test_cuda_profile_names_capability_model_and_memory(fake_gpu, name, major, minor, total,
                                                        expected):
    fake_gpu(name, major, minor, total)
    assert profile.detect_profile() == expected


# The device names torch (cudaDeviceProp.name) and NVML (nvmlDeviceGetName) report, and
# the memory they report (the H200's 143771 MiB as seen on a real one; the others what a
# driver leaves after its reservation, a little under the datasheet's GB).
@pytest.mark.parametrize("name,capability,reported,expected", [
    ("NVIDIA H100 80GB HBM3", (9, 0), 81_559 * MIB, "cuda-sm90-h100-80gb"),
    ("NVIDIA H100 PCIe", (9, 0), 81_559 * MIB, "cuda-sm90-h100-pcie-80gb"),
    ("NVIDIA H100 NVL", (9, 0), 95_830 * MIB, "cuda-sm90-h100-nvl-94gb"),
    ("NVIDIA H200", (9, 0), 143_771 * MIB, "cuda-sm90-h200-141gb"),
    ("NVIDIA H200", (9, 0), 139 * GIB, "cuda-sm90-h200-141gb"),  # a larger reservation
    ("NVIDIA H200 NVL", (9, 0), 143_771 * MIB, "cuda-sm90-h200-nvl-141gb"),
    ("NVIDIA GH200 480GB", (9, 0), 97_871 * MIB, "cuda-sm90-gh200-96gb"),
    ("NVIDIA GH200 144G HBM3e", (9, 0), 146_831 * MIB, "cuda-sm90-gh200-144gb"),
    ("NVIDIA B200", (10, 0), 183_359 * MIB, "cuda-sm100-b200-180gb"),
    ("NVIDIA A100-SXM4-40GB", (8, 0), 40_960 * MIB, "cuda-sm80-a100-40gb"),
    ("NVIDIA A100-SXM4-80GB", (8, 0), 81_920 * MIB, "cuda-sm80-a100-80gb"),
    ("NVIDIA A100-PCIE-40GB", (8, 0), 40_960 * MIB, "cuda-sm80-a100-pcie-40gb"),
    ("NVIDIA A100 80GB PCIe", (8, 0), 81_920 * MIB, "cuda-sm80-a100-pcie-80gb"),
    ("NVIDIA L4", (8, 9), 23_034 * MIB, "cuda-sm89-l4-24gb"),
])
def test_profile_names_come_from_the_device_table(name, capability, reported, expected):
    assert profile.gpu_profile_name(name, *capability, reported) == expected


def test_a_gh200_is_not_judged_against_h200_datasheet_figures():
    from suites.hardware import policy as hardware_policy

    assert hardware_policy.gpu_peak_tflops("NVIDIA GH200 480GB") is None
    assert hardware_policy.gpu_peak("memory", "NVIDIA GH200 480GB")[0] is None
    assert hardware_policy.gpu_peak("memory", "NVIDIA H200")[0] == 4800.0


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
