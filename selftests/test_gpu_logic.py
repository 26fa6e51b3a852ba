"""The GPU tier's decisions, checked on CPU against what the upstream code does: which cause
torch's forced-flash warning names first, and which backends may run (suites/attention).
Written from torch's sdp_utils (cuda/sdp_utils.cpp can_use_flash_attention, sdp_utils_cpp.cpp
use_flash_attention_cpp); no GPU needed."""

import pytest
import torch

from suites.attention import backends
from suites.attention.cases import BY_NAME, Case

FP16, BF16, FP32 = torch.float16, torch.bfloat16, torch.float32


# (condition, dtype, device) -> the cause named first. CUDA checks attn_mask, head_dim,
# causal with unequal lengths, dtype, and only then the last-dimension stride.
@pytest.mark.parametrize("condition,dtype,device,first", [
    ("last-dim-strided", FP32, "cuda", "dtype"),
    ("last-dim-strided", FP16, "cuda", "last-dim"),
    ("head-dim-320", FP32, "cuda", "head-dim"),
    ("causal-unequal-lengths", FP32, "cuda", "causal-unequal"),
    ("bool-mask", FP32, "cuda", "mask"),
    ("float-mask", BF16, "cuda", "mask"),
    ("plain", FP32, "cuda", "dtype"),
    ("plain", BF16, "cuda", None),
    ("dropout", FP16, "cuda", None),
    ("dropout", FP32, "cpu", "dropout"),
    ("last-dim-strided", FP32, "cpu", "last-dim"),
    ("head-dim-320", FP32, "cpu", None),
])
def test_the_refusal_cause_follows_torchs_check_order(condition, dtype, device, first):
    case = Case(condition=BY_NAME[condition], dtype=dtype, device=device)
    assert backends.flash_refusal_cause(case) == first, backends.flash_refusal_causes(case)


@pytest.mark.parametrize("condition,dtype,allowed", [
    ("last-dim-strided", FP32, {"math"}),  # flash names dtype first; still only math runs
    ("last-dim-strided", BF16, {"math"}),
    ("head-dim-320", FP32, {"efficient", "cudnn"}),
    ("causal-unequal-lengths", FP32, {"efficient", "cudnn"}),
    ("plain", BF16, {"flash", "cudnn"}),
])
def test_which_backend_may_run_on_cuda_is_unchanged_by_the_order(condition, dtype, allowed):
    case = Case(condition=BY_NAME[condition], dtype=dtype, device="cuda")
    assert backends.documented(case).allowed == allowed


def test_a_flash_attn_package_refuses_fp32_as_a_documented_limit(monkeypatch):
    """FA2/FA3 raise RuntimeError on fp32; the suite must skip that row with the reason
    (backends.Unsupported), not error. A stand-in module stands for the package."""
    import types

    from suites.attention.cases import make_inputs

    def flash_attn_func(q, k, v, causal=False):
        if q.dtype not in (FP16, BF16):
            raise RuntimeError("FlashAttention only support fp16 and bf16 data type")
        return q
    monkeypatch.setitem(__import__("sys").modules, "flash_attn",
                        types.SimpleNamespace(flash_attn_func=flash_attn_func))
    inputs = make_inputs(BY_NAME["plain"], FP32, "cpu")
    with pytest.raises(backends.Unsupported, match="takes fp16 and bf16 only"):
        backends.run("flash_attn", inputs)
    assert backends.run("flash_attn", make_inputs(BY_NAME["plain"], BF16, "cpu")).dtype == BF16


# --- Mamba: the path transformers really calls (suites/mamba_kernels.py) -----------------
def _decorated(package_functions: dict[str, str], monkeypatch):
    """A stand-in for transformers' modeling_mamba: each kernel function decorated by
    transformers' own use_kernel_func_from_hub_with_fallback, with stand-in packages in
    sys.modules exposing the functions named in `package_functions` (package -> names)."""
    import sys
    import types

    from transformers.integrations.hub_kernels import use_kernel_func_from_hub_with_fallback

    from suites import mamba_kernels

    for package, names in package_functions.items():
        module = types.ModuleType(package)
        for name in names:
            setattr(module, name, lambda *args, **kwargs: "kernel")
        monkeypatch.setitem(sys.modules, package, module)
    upstream = {"mamba_inner_fn": ("mamba_inner_fn", "mamba_ssm"),
                "mamba_selective_scan": ("selective_scan_fn", "mamba_ssm"),
                "mamba_selective_state_update": ("selective_state_update", "mamba_ssm"),
                "causal_conv1d_fn": ("causal_conv1d_fn", "causal_conv1d"),
                "causal_conv1d_update": ("causal_conv1d_update", "causal_conv1d")}
    for missing in {"mamba_ssm", "causal_conv1d"} - set(package_functions):
        monkeypatch.setitem(sys.modules, missing, None)  # its import fails, as uninstalled
    functions = {}
    for name in mamba_kernels.FUNCTIONS:
        func_name, package = upstream[name]
        functions[name] = use_kernel_func_from_hub_with_fallback(func_name, package)(
            lambda *args, **kwargs: "torch")
    return types.SimpleNamespace(**functions)


MAMBA_SSM = {"mamba_ssm": ("mamba_inner_fn", "selective_scan_fn", "selective_state_update")}
CONV1D = {"causal_conv1d": ("causal_conv1d_fn", "causal_conv1d_update")}


@pytest.mark.parametrize("packages,expected", [
    ({}, "pure-torch fallback"),
    ({**MAMBA_SSM, **CONV1D}, "CUDA kernels (mamba_ssm, causal_conv1d)"),
    (MAMBA_SSM, "mixed: mamba_inner_fn mamba_ssm, mamba_selective_scan mamba_ssm, "
                "mamba_selective_state_update mamba_ssm, causal_conv1d_fn torch, "
                "causal_conv1d_update torch"),
], ids=["none", "both", "mamba_ssm-only"])
def test_the_mamba_label_is_what_transformers_bound(packages, expected, monkeypatch):
    """Not which packages `find_spec` finds: one package alone gives a mixed path."""
    from suites import mamba_kernels

    module = _decorated(packages, monkeypatch)
    assert mamba_kernels.label(mamba_kernels.bindings(module)) == expected


def test_kernels_that_import_but_cannot_run_skip_with_the_reason(monkeypatch):
    """mamba-ssm >= 2.3 can install without selective_scan_cuda: transformers binds its
    kernels and the first forward raises; the rows skip, saying so, never label it."""
    from suites import mamba_kernels

    bound = mamba_kernels.bindings(_decorated({**MAMBA_SSM, **CONV1D}, monkeypatch))
    monkeypatch.setattr(mamba_kernels, "probe", lambda device: (
        "ModuleNotFoundError: No module named 'selective_scan_cuda'"))
    with pytest.raises(pytest.skip.Exception, match="cannot run on cuda: ModuleNotFoundError"):
        mamba_kernels.path("cuda", bound)
    assert "atomic adds" in mamba_kernels.nondeterministic_backward(bound)


def test_this_machines_mamba_runs_and_its_fp64_reference_takes_the_torch_path():
    from transformers.models.mamba import modeling_mamba

    from suites import mamba_kernels

    bound = mamba_kernels.bindings()
    assert mamba_kernels.probe("cpu") is None or set(bound.values()) != {"torch"}
    original = modeling_mamba.causal_conv1d_fn
    with mamba_kernels.pure_torch():
        assert modeling_mamba.causal_conv1d_fn is original.__wrapped__
    assert modeling_mamba.causal_conv1d_fn is original


def test_cuda_peak_memory_does_not_count_a_first_calls_workspace(monkeypatch):
    """A stand-in CUDA allocator: the first call of the forward leaves a workspace resident
    (as cuBLAS's first call on a stream does); the peak of the forward itself must not
    depend on whether an earlier test made that call."""
    from suites.models import cost

    WORKSPACE, ACTIVATIONS = 8 << 20, 1 << 20
    state = {"allocated": 0, "peak": 0, "workspace": False}

    def forward():
        if not state["workspace"]:
            state["workspace"] = True
            state["allocated"] += WORKSPACE
        state["peak"] = max(state["peak"], state["allocated"] + ACTIVATIONS)

    def reset():
        state["peak"] = state["allocated"]
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda: state["allocated"])
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", reset)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda: state["peak"])
    first = cost.peak_bytes(forward, "cuda")  # a fresh process: `-k peak` alone
    again = cost.peak_bytes(forward, "cuda")  # after other tests
    assert first == again == ACTIVATIONS


def test_inductor_is_warmed_once_per_device_before_a_cold_compile_is_timed(monkeypatch):
    """The CUDA compile-time case that ran first carried Triton's start-up: the warm-up
    must happen on each device the compile times are measured on, once."""
    from suites.compile import running

    compiled_on = []

    def fake_compile(fn):
        return lambda x: compiled_on.append(x.device.type if hasattr(x, "device") else x)
    monkeypatch.setattr(running, "_WARMED", set())
    monkeypatch.setattr(torch, "compile", fake_compile)
    monkeypatch.setattr(torch, "ones", lambda n, device="cpu": device)  # no CUDA here
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    for device in ("cuda", "cuda", "cpu", "cuda"):
        running.warm_inductor(device)
    assert compiled_on == ["cuda", "cpu"]


@pytest.mark.parametrize("name,capability,refused", [
    ("NVIDIA H100 80GB HBM3", (9, 0), False),
    ("NVIDIA B200", (10, 0), True),
    ("NVIDIA A100-SXM4-80GB", (8, 0), True),
])
def test_fa3_runs_on_hopper_only_and_skips_elsewhere(fake_gpu, name, capability, refused):
    fake_gpu(name, *capability, 80 << 30)
    reason = backends.package_refusal("flash_attn_interface", "cuda")
    assert bool(reason) == refused, reason
    if refused:
        assert f"sm{capability[0]}{capability[1]}" in reason and "runs on sm90 only" in reason
    assert backends.package_refusal("flash_attn", "cuda") is None  # FA2: sm80+ (the row marks)


@pytest.mark.parametrize("name,capability,memory_gb,profile,peak", [
    ("NVIDIA H100 80GB HBM3", (9, 0), 80, "cuda-sm90-h100-80gb", 989.5),
    ("NVIDIA H100 PCIe", (9, 0), 80, "cuda-sm90-h100-pcie-80gb", 756.0),
    ("NVIDIA H100 NVL", (9, 0), 94, "cuda-sm90-h100-nvl-94gb", 835.5),
    ("NVIDIA H200", (9, 0), 141, "cuda-sm90-h200-141gb", 989.5),
    ("NVIDIA H200 NVL", (9, 0), 141, "cuda-sm90-h200-nvl-141gb", 835.5),
    ("NVIDIA B200", (10, 0), 179, "cuda-sm100-b200-180gb", 2250.0),
    ("NVIDIA A100-SXM4-80GB", (8, 0), 80, "cuda-sm80-a100-80gb", 312.0),
    ("NVIDIA A100-PCIE-40GB", (8, 0), 40, "cuda-sm80-a100-pcie-40gb", 312.0),
])
def test_each_form_factor_is_its_own_profile_with_its_own_peak(
        fake_gpu, name, capability, memory_gb, profile, peak):
    from suites.hardware import policy as hardware_policy
    from stackqual import profile as profiles

    fake_gpu(name, *capability, memory_gb << 30)
    assert profiles.cuda_profile() == profile
    assert hardware_policy.gpu_peak_tflops(name) == peak
