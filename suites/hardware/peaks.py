"""The kernels that stand for the machine's roofline limits, and the hardware's peaks.

Kernels (work per call, counted as the roofline does):
- gemm: C = A @ B, square n x n: 2 n^3 FLOP (CPU fp32 n=1024; CUDA n=8192).
- copy: dst = src: 2 x bytes (one read, one write) (CPU 256 MiB, beyond any last-level
  cache; CUDA 2 GiB, beyond any L2).
- triad: a = b + s * c (STREAM's triad, https://www.cs.virginia.edu/stream/ref.html):
  3 x bytes of one array.
- attention: SDPA forward, flash backend, bf16, batch 8, 16 heads, 4096 tokens, head dim
  128, no mask: 4 * b * h * s^2 * d FLOP (the two matmuls, as FlashAttention's own
  benchmarks count it: flash-attention/benchmarks/benchmark_flash_attention.py `flops`).

Peaks: CUDA from the datasheet tables in suites/hardware/policy.py (each figure with its
source); the CPU's derived from what the machine says about itself (stackqual.cpu_peak).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from stackqual import cpu_peak

from . import policy as suite_policy
from .cases import PeakCase


@dataclass
class Kernel:
    run: Callable[[], object]
    work: float  # per call, in `unit`s times `scale`
    unit: str  # GFLOP/s, TFLOP/s, GB/s
    scale: float


def build(case: PeakCase) -> Kernel:
    cuda = case.device == "cuda"
    g = torch.Generator().manual_seed(0)
    if case.kernel == "gemm":
        n = 8192 if cuda else 1024
        a, b = (torch.randn(n, n, generator=g).to(case.device, case.dtype) for _ in range(2))
        return Kernel(lambda: torch.mm(a, b), 2.0 * n ** 3, *(("TFLOP/s", 1e12) if cuda
                                                             else ("GFLOP/s", 1e9)))
    if case.kernel in ("copy", "triad"):
        numel = (2 ** 31 if cuda else 2 ** 28) // 4
        b = torch.ones(numel, device=case.device)
        if case.kernel == "copy":
            a = torch.empty_like(b)
            return Kernel(lambda: a.copy_(b), 2.0 * numel * 4, "GB/s", 1e9)
        a, c = torch.empty_like(b), torch.ones_like(b)
        return Kernel(lambda: torch.add(b, c, alpha=3.0, out=a), 3.0 * numel * 4, "GB/s", 1e9)
    if case.kernel == "attention":
        batch, heads, seq, dim = 8, 16, 4096, 128
        q, k, v = (torch.randn(batch, heads, seq, dim, generator=g).to(case.device, case.dtype)
                   for _ in range(3))

        def attend():
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v)
        return Kernel(attend, 4.0 * batch * heads * seq ** 2 * dim, "TFLOP/s", 1e12)
    raise ValueError(f"unknown kernel {case.kernel!r}")


def peak(case: PeakCase) -> tuple[float | None, str]:
    """The hardware's peak for this kernel in its unit, and where it comes from (None:
    not known for this hardware, said why)."""
    if case.device == "cuda":
        name = torch.cuda.get_device_name()
        if case.kernel in ("copy", "triad"):
            return suite_policy.gpu_peak("memory", name)
        figure, source = suite_policy.gpu_peak("16bit", name)
        if figure is not None and case.tf32:  # dense TF32 is half dense BF16 on these parts
            return figure / 2, f"{source}; TF32 dense = half of BF16 dense (same datasheets)"
        return figure, source
    if case.kernel == "gemm":
        return cpu_peak.fp32_gflops()
    return None, "no CPU memory bandwidth peak is derivable from what the machine reports"
