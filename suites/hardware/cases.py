"""The hardware suite's table: each row a kernel that stands for one roofline limit of the
machine, measured as an absolute rate, reported as a share of the hardware's peak and
gated against this profile's baseline (`suites/hardware/test_peak.py`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PeakCase:
    id: str
    kernel: str  # gemm, copy, triad, attention (peaks.KERNELS)
    device: str
    dtype: torch.dtype = torch.float32
    tf32: bool = False  # fp32 matmul on TF32 tensor cores (CUDA)
    full: bool = False  # a CUDA row outside the six-minute qualification tier (gpu_full)
    min_sm: tuple[int, int] | None = None  # bf16 tensor cores and the flash kernel: sm80+


CASES = (
    # CPU: all the run's threads (the machine's GEMM and memory system, not one core's).
    PeakCase(id="gemm-fp32-cpu", kernel="gemm", device="cpu"),
    PeakCase(id="copy-cpu", kernel="copy", device="cpu"),
    PeakCase(id="triad-cpu", kernel="triad", device="cpu"),
    # CUDA: the tensor cores at each precision, HBM, and fused attention.
    PeakCase(id="gemm-bf16-cuda", kernel="gemm", device="cuda", dtype=torch.bfloat16,
             min_sm=(8, 0)),
    PeakCase(id="gemm-fp16-cuda", kernel="gemm", device="cuda", dtype=torch.float16,
             full=True),
    PeakCase(id="gemm-tf32-cuda", kernel="gemm", device="cuda", tf32=True, full=True),
    PeakCase(id="copy-cuda", kernel="copy", device="cuda"),
    PeakCase(id="triad-cuda", kernel="triad", device="cuda"),
    PeakCase(id="attention-bf16-cuda", kernel="attention", device="cuda", dtype=torch.bfloat16,
             min_sm=(8, 0)),
)
