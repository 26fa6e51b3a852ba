"""Which SDPA backend ran, how to force one, and which one the documented rules allow.

The backend that ran is read from the profiler: each backend is its own aten op
(`aten::_scaled_dot_product_flash_attention`, ...), and on CUDA its kernels are recorded
too. `torch._fused_sdp_choice` (the dispatcher's own decision) must agree with it.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from stackqual import incompatible

from .cases import SEQ, Case, Inputs

# aten op -> backend name; "flash_cpu" is the CPU flash kernel (a different implementation
# from CUDA's FlashAttention-2 with different rules).
OPS = {
    "aten::_scaled_dot_product_flash_attention_for_cpu": "flash_cpu",
    "aten::_scaled_dot_product_flash_attention": "flash",
    "aten::_scaled_dot_product_efficient_attention": "efficient",
    "aten::_scaled_dot_product_cudnn_attention": "cudnn",
    "aten::_scaled_dot_product_attention_math": "math",
}
FUSED = {"flash_cpu", "flash", "efficient", "cudnn"}

# backend name -> what sdpa_kernel() takes to force it
FORCE = {
    "flash_cpu": SDPBackend.FLASH_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "math": SDPBackend.MATH,
}
# The fused backends each device has (math is the reference, never a candidate).
FUSED_ON = {"cpu": ("flash_cpu",), "cuda": ("flash", "efficient", "cudnn")}


def attend(inputs: Inputs) -> torch.Tensor:
    return F.scaled_dot_product_attention(inputs.q, inputs.k, inputs.v, **inputs.kwargs)


# The flash-attn packages, called directly: (module, why it may be missing). Both take fp16
# and bf16 only (flash-attention's README: FlashAttention-2 "Datatype fp16 and bf16";
# FA3's flash_attn_func the same, plus fp8 forward) and raise RuntimeError otherwise.
PACKAGE_DTYPES = (torch.float16, torch.bfloat16)
PACKAGES = {
    "flash_attn": "FlashAttention-2 (`pip install flash-attn`, CUDA sm80+)",
    "flash_attn_interface": "FlashAttention-3 (built from flash-attention/hopper, CUDA sm90)",
}


# FA3 (flash_attn_interface, built from flash-attention's hopper/) runs on Hopper only
# (flash-attention README: "Requirements: H100 / H800 GPU"); on Blackwell (sm100) it raises.
PACKAGE_CAPABILITY = {"flash_attn_interface": {(9, 0)}}


def package_refusal(backend: str, device: str) -> str | None:
    """Why a flash-attn package cannot run on this GPU, or None."""
    allowed = PACKAGE_CAPABILITY.get(backend)
    if not allowed or device != "cuda":
        return None
    major, minor = torch.cuda.get_device_capability()
    if (major, minor) in allowed:
        return None
    wanted = ", ".join(f"sm{a}{b}" for a, b in sorted(allowed))
    return (f"{backend} runs on {wanted} only (flash-attention README: FlashAttention-3 "
            f"needs H100/H800); this GPU ({torch.cuda.get_device_name()}) is sm{major}{minor}")


class Unsupported(Exception):
    """The candidate does not take these inputs (a documented limit, not a defect)."""


def _package(backend: str, inputs: Inputs) -> torch.Tensor:
    module = importlib.import_module(backend)
    if inputs.q.dtype not in PACKAGE_DTYPES:
        raise Unsupported(f"{backend}.flash_attn_func takes fp16 and bf16 only, not "
                          f"{inputs.q.dtype} (flash-attention README)")
    if inputs.attn_mask is not None or inputs.dropout_p:
        raise Unsupported(f"{backend}.flash_attn_func takes no attn_mask (padding goes "
                          "through its varlen API)")
    out = module.flash_attn_func(inputs.q.transpose(1, 2), inputs.k.transpose(1, 2),
                                 inputs.v.transpose(1, 2), causal=inputs.is_causal)
    out = out[0] if isinstance(out, tuple) else out  # FA3 returns (out, lse)
    return out.transpose(1, 2)


def run(backend: str, inputs: Inputs) -> torch.Tensor:
    """One backend: SDPA restricted to it with sdpa_kernel (raises RuntimeError when it
    refuses the inputs), or a flash-attn package called directly."""
    if backend in PACKAGES:
        return _package(backend, inputs)
    with sdpa_kernel([FORCE[backend]]):
        return attend(inputs)


@dataclass
class Observed:
    backends: list[str]  # backend ops that ran, in order (one for a forward call)
    kernels: list[str]  # CUDA kernel names (empty on CPU)
    fused_choice: str | None  # torch._fused_sdp_choice, as a backend name

    @property
    def backend(self) -> str:
        return self.backends[0] if len(self.backends) == 1 else "+".join(self.backends) or "none"


def _choice_name(index: int, device: str) -> str:
    name = {SDPBackend.FLASH_ATTENTION: "flash_cpu" if device == "cpu" else "flash",
            SDPBackend.EFFICIENT_ATTENTION: "efficient", SDPBackend.CUDNN_ATTENTION: "cudnn",
            SDPBackend.MATH: "math"}.get(SDPBackend(index))
    return name or SDPBackend(index).name.lower()


def observe(inputs: Inputs, device: str) -> Observed:
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        attend(inputs)
        if device == "cuda":
            torch.cuda.synchronize()
    events = prof.events()
    backends = [OPS[e.name] for e in events if e.name in OPS]
    kernels = sorted({e.name for e in events
                      if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA})
    with incompatible.harness("torch._fused_sdp_choice"):
        fused_choice = torch._fused_sdp_choice
    choice = _choice_name(fused_choice(inputs.q, inputs.k, inputs.v, **inputs.kwargs), device)
    return Observed(backends, kernels, choice)


def refusal(backend: str, inputs: Inputs) -> tuple[Exception | None, list[str]]:
    """Force `backend`: (the error it raised or None, the warnings it emitted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run(backend, inputs)
            error = None
        except RuntimeError as e:
            error = e
    return error, [str(w.message) for w in caught]


# --- the documented rules --------------------------------------------------------------
# Sources: aten/src/ATen/native/transformers/sdp_utils_cpp.h (shared checks, CPU rules)
# and cuda/sdp_utils.cpp (can_use_flash_attention, priority_order,
# check_prefer_cudnn_attention). Each rule: the backends allowed and why;
# for a refusal, the cause the forced-flash warning must name.
CAUSES = {
    "dropout": "Both fused kernels do not support non-zero dropout",
    "last-dim": "All fused kernels require the last dimension of the input to have stride 1",
    "mask": "Flash Attention does not support non-null attn_mask",
    "dtype": "Expected query, key and value to all be of dtype: {",
    "head-dim": "requires q,k,v to have the same last dimension and to be less than or "
                "equal to 256",
    "causal-unequal": "Flash attention does not support the is_causal flag when "
                      "seqlen_q != seqlen_k",
}


# The order in which each flash kernel checks its constraints, and so the cause its
# warning names first when several fail: use_flash_attention_cpp (sdp_utils_cpp.cpp:
# dropout ... last-dim stride) on CPU; on CUDA can_use_flash_attention's general
# constraints (attn_mask, head_dim <= 256, causal with unequal lengths, dtype), then its
# dense ones (last-dim stride) (cuda/sdp_utils.cpp).
CHECK_ORDER = {"cpu": ("dropout", "last-dim"),
               "cuda": ("mask", "head-dim", "causal-unequal", "dtype", "last-dim")}


def flash_refusal_causes(case: Case) -> list[str]:
    """Every reason flash (CPU or CUDA) refuses this case, as CAUSES keys, in the order the
    kernel checks them; [] if eligible. The CPU flash kernel takes masks, any head_dim,
    fp32 and causal with unequal lengths."""
    c = case.condition
    failing = {
        "dropout": c.dropout > 0,
        "last-dim": c.layout == "last-dim-strided",
        "mask": c.mask != "none",
        "head-dim": c.head_dim > 256,
        "causal-unequal": c.causal and c.kv_len != SEQ,
        "dtype": case.dtype not in (torch.float16, torch.bfloat16),
    }
    return [cause for cause in CHECK_ORDER[case.device] if failing[cause]]


def flash_refusal_cause(case: Case) -> str | None:
    """The cause forcing flash must name: the first failed check, in the kernel's order."""
    causes = flash_refusal_causes(case)
    return causes[0] if causes else None


@dataclass(frozen=True)
class Rule:
    allowed: frozenset
    why: str


def documented(case: Case) -> Rule:
    """The backends the documented rules allow for this case on this device."""
    cause = flash_refusal_cause(case)
    if case.device == "cpu":
        if cause:
            return Rule(frozenset({"math"}), f"CPU: the flash kernel refuses it ({CAUSES[cause]}); "
                        "math is the only other CPU backend")
        return Rule(frozenset({"flash_cpu"}), "CPU: the flash kernel takes fp32/bf16/fp16, "
                    "masks, causal and any head_dim; only dropout or a strided last dimension "
                    "send it to math")
    if "last-dim" in flash_refusal_causes(case):  # whatever flash names first
        return Rule(frozenset({"math"}), CAUSES["last-dim"])
    if cause is None:
        return Rule(frozenset({"flash", "cudnn"}), "sm80+, fp16/bf16, no mask, head_dim <= 256: "
                    "a fused flash-class kernel (FlashAttention-2, or cuDNN attention, which "
                    "recent PyTorch prefers on sm90/sm100 with cuDNN > 9.15)")
    return Rule(frozenset({"efficient", "cudnn"}), f"flash refuses it ({CAUSES[cause]}); the "
                "memory-efficient kernel (or cuDNN) takes masks, fp32 and larger head_dim")
