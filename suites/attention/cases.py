"""The attention suite's tables: input conditions for SDPA dispatch, numerics cases, HF
attn_implementation parity cases, speed cases, and the inputs each one builds (seeded).
Each row is a frozen dataclass with an `id` (stackqual.cases)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stackqual import cases
from stackqual.cases import dtype_name, timing_threads

DTYPES = (torch.float16, torch.bfloat16, torch.float32)
DEVICES = ("cpu", "cuda")
BATCH, HEADS, SEQ = 2, 4, 128
SEED = 0
# The CUDA rows need sm80+: the rules and kernels under test (FlashAttention-2) start there.
MIN_SM = (8, 0)


def param(row, *more, full: bool = False):
    return cases.param(row, *more, min_sm=MIN_SM, full=full)


@dataclass(frozen=True)
class Condition:
    """One way an SDPA call can differ from the plain one: what the dispatcher decides on."""

    name: str
    mask: str = "none"  # none | bool | float | padding (bool key padding, per batch row)
    causal: bool = False
    dropout: float = 0.0
    head_dim: int = 64
    kv_len: int = SEQ
    layout: str = "bhsd"  # bhsd (contiguous) | bshd (transposed view) | last-dim-strided


# One factor at a time from the plain call, plus the interaction the rules name
# (is_causal with unequal lengths).
CONDITIONS = (
    Condition("plain"),
    Condition("bool-mask", mask="bool"),
    Condition("float-mask", mask="float"),
    Condition("causal", causal=True),
    Condition("unequal-lengths", kv_len=SEQ + 64),
    Condition("causal-unequal-lengths", causal=True, kv_len=SEQ + 64),
    Condition("dropout", dropout=0.1),
    Condition("head-dim-128", head_dim=128),
    Condition("head-dim-256", head_dim=256),
    Condition("head-dim-320", head_dim=320),
    Condition("transposed-layout", layout="bshd"),
    Condition("last-dim-strided", layout="last-dim-strided"),
)
BY_NAME = {c.name: c for c in CONDITIONS}


@dataclass(frozen=True)
class Case:
    condition: Condition
    dtype: torch.dtype
    device: str

    @property
    def id(self) -> str:
        return f"{self.condition.name}-{dtype_name(self.dtype)}-{self.device}"


def dispatch_cases() -> list:
    return [param(Case(condition=c, dtype=dtype, device=device))
            for device in DEVICES for c in CONDITIONS for dtype in DTYPES]


# Numerics: forward and backward of every backend against fp64, causal or not, with a
# key-padding mask where the backend takes masks.
NUMERICS_CONDITIONS = (
    Condition("plain"),
    Condition("causal", causal=True),
    Condition("padding-mask", mask="padding"),
    Condition("head-dim-128", head_dim=128),
)


# The candidates on each device: every fused SDPA backend, and on CUDA the flash-attn
# packages called directly (FA2 `flash_attn`, FA3 `flash_attn_interface`) where installed.
CANDIDATES = {"cpu": ("flash_cpu",),
              "cuda": ("flash", "efficient", "cudnn", "flash_attn", "flash_attn_interface")}


@dataclass(frozen=True)
class NumericsCase(Case):
    backend: str = "math"  # the candidate, judged against math in the same dtype

    @property
    def inputs_id(self) -> str:
        return super().id

    @property
    def id(self) -> str:
        return f"{self.inputs_id}-{self.backend}"


def numerics_cases() -> list:
    return [param(NumericsCase(condition=c, dtype=dtype, device=device, backend=backend))
            for device in DEVICES for c in NUMERICS_CONDITIONS for dtype in DTYPES
            for backend in CANDIDATES[device]]


# transformers' attn_implementation values against eager, on a pretrained BERT; FA2/FA3
# need CUDA and their packages.
HF_IMPLEMENTATIONS = ("sdpa", "flex_attention", "flash_attention_2", "flash_attention_3")
HF_NEEDS_CUDA = {
    "flash_attention_2": "the flash-attn package (`pip install flash-attn`)",
    "flash_attention_3": "the FA3 package flash_attn_interface (flash-attention/hopper)"}
HF_DTYPES = {"cpu": (torch.float32, torch.bfloat16),
             "cuda": (torch.float32, torch.float16, torch.bfloat16)}


@dataclass(frozen=True)
class HFParityCase:
    impl: str
    dtype: torch.dtype
    device: str
    side: str  # padding side: right | left

    @property
    def id(self) -> str:
        return f"{self.impl}-{dtype_name(self.dtype)}-{self.device}-{self.side}-pad"


def hf_parity_cases() -> list:
    """In the GPU qualification tier: each implementation in bf16 with right padding; the
    other dtypes and left padding are `gpu_full`."""
    return [cases.param(HFParityCase(impl=impl, dtype=dtype, device=device, side=side),
                        full=not (dtype == torch.bfloat16 and side == "right"))
            for device, dtypes in HF_DTYPES.items()
            for impl in HF_IMPLEMENTATIONS if not (impl in HF_NEEDS_CUDA and device == "cpu")
            for dtype in dtypes
            for side in ("right", "left")]


def _layout(shape_bhsd, layout: str, dtype, device, generator) -> torch.Tensor:
    b, h, s, d = shape_bhsd
    if layout == "bshd":  # the usual projection output viewed as (b, h, s, d)
        x = torch.randn(b, s, h, d, generator=generator).transpose(1, 2)
    elif layout == "last-dim-strided":  # head_dim is not the innermost dimension
        x = torch.randn(b, h, d, s, generator=generator).transpose(-1, -2)
    else:
        x = torch.randn(b, h, s, d, generator=generator)
    return x.to(device=device, dtype=dtype)


@dataclass
class Inputs:
    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    attn_mask: torch.Tensor | None
    dropout_p: float
    is_causal: bool

    @property
    def kwargs(self) -> dict:
        return {"attn_mask": self.attn_mask, "dropout_p": self.dropout_p,
                "is_causal": self.is_causal}

    def to(self, dtype: torch.dtype) -> "Inputs":
        """The same values in another dtype (the fp64 reference); masks keep bool-ness."""
        mask = self.attn_mask
        if mask is not None and mask.is_floating_point():
            mask = mask.to(dtype)
        return Inputs(self.q.detach().to(dtype), self.k.detach().to(dtype),
                      self.v.detach().to(dtype), mask, self.dropout_p, self.is_causal)


def make_inputs(cond: Condition, dtype: torch.dtype, device: str) -> Inputs:
    g = torch.Generator().manual_seed(SEED)
    q = _layout((BATCH, HEADS, SEQ, cond.head_dim), cond.layout, dtype, device, g)
    k = _layout((BATCH, HEADS, cond.kv_len, cond.head_dim), cond.layout, dtype, device, g)
    v = _layout((BATCH, HEADS, cond.kv_len, cond.head_dim), cond.layout, dtype, device, g)
    mask = None
    if cond.mask == "bool":
        mask = torch.rand(SEQ, cond.kv_len, generator=g) > 0.3
        mask[:, 0] = True  # no fully masked row: its softmax is undefined
    elif cond.mask == "float":
        mask = torch.randn(SEQ, cond.kv_len, generator=g).to(dtype)
    elif cond.mask == "padding":  # row i keeps its first kv_len - 24*i keys
        keep = torch.arange(cond.kv_len) < torch.tensor([cond.kv_len - 24 * i
                                                         for i in range(BATCH)])[:, None]
        mask = keep[:, None, None, :]
    if mask is not None:
        mask = mask.to(device)
    return Inputs(q, k, v, mask, cond.dropout, cond.causal)


@dataclass(frozen=True)
class SpeedCase:
    """A timed pair: `baseline` (A) against `candidate` (B); the ratio is time(A)/time(B)."""

    baseline: str  # math | flash (FA2 inside SDPA)
    candidate: str  # flash_cpu | flash | flash_attn_interface (FA3)
    seq: int
    head_dim: int
    causal: bool
    dtype: torch.dtype
    device: str
    threads: int | None  # stackqual.cases.timing_threads

    @property
    def heads(self) -> int:
        return 8 if self.device == "cpu" else 16

    @property
    def batch(self) -> int:
        """CPU: one sequence; CUDA: 16k tokens per call at every length."""
        return 1 if self.device == "cpu" else max(1, 16384 // self.seq)

    @property
    def id(self) -> str:
        return (f"{self.candidate}-vs-{self.baseline}-{self.seq}-d{self.head_dim}-"
                f"{'causal' if self.causal else 'full'}-{dtype_name(self.dtype)}-{self.device}"
                + (f"-{self.threads}thread" if self.threads else ""))

    def flops(self) -> float:
        """Forward FLOPs: two matmuls of 2*b*h*s*s*d each, half of them when causal (the
        FlashAttention papers' count)."""
        full = 4 * self.batch * self.heads * self.seq * self.seq * self.head_dim
        return full / 2 if self.causal else full


# CPU (in CI): the CPU flash kernel against math at L=1024, where the 2-core machine times
# it in a few seconds. At L=512 math's time depended on what the process had run before
# (9-17 ms per call, 8 MB score matrices and glibc's allocator state; flash steady at
# 6 ms), too unsteady for a 10% gate; at 1024 both sides held within 3%. CUDA: flash (FA2
# in SDPA) against math up to 4k (math materialises the b*h*s*s score matrix: 16 GB in
# bf16 at 16k tokens of 4k), and FA3 against FA2 from 1k to 16k, head_dim 64 and 128,
# causal or not.
SPEED_CASES = (
    [SpeedCase(baseline="math", candidate="flash_cpu", seq=1024, head_dim=64, causal=causal,
               dtype=torch.float32, device="cpu", threads=timing_threads("cpu"))
     for causal in (False, True)]
    + [SpeedCase(baseline="math", candidate="flash", seq=seq, head_dim=d, causal=causal,
                 dtype=torch.bfloat16, device="cuda", threads=timing_threads("cuda"))
       for seq in (1024, 2048, 4096) for d in (64, 128) for causal in (False, True)]
    + [SpeedCase(baseline="flash", candidate="flash_attn_interface", seq=seq, head_dim=d,
                 causal=causal, dtype=torch.bfloat16, device="cuda",
                 threads=timing_threads("cuda"))
       for seq in (1024, 4096, 16384) for d in (64, 128) for causal in (False, True)]
)


def qualifies(case: SpeedCase) -> bool:
    """The GPU qualification tier times flash against math and FA3 against FA2 at two
    lengths each (head_dim 128, no causal mask); the rest of the table is `gpu_full`."""
    lengths = {"flash": (1024, 4096), "flash_attn_interface": (4096, 16384)}
    return case.seq in lengths.get(case.candidate, ()) and case.head_dim == 128 and (
        not case.causal)


def speed_cases() -> list:
    return [param(c, full=not qualifies(c)) for c in SPEED_CASES]
