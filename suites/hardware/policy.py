"""The hardware suite's policy (thresholds and datasheet figures, not measured baselines),
with where each comes from: the GPUs' datasheet peaks, which a measured rate is reported
against, and the share of them below which a part is broken. The attention suite reports
its throughput against the same 16-bit peak."""

import re

# Dense fp16/bf16 tensor-core peak (TFLOP/s, without sparsity: half the datasheets' starred
# "with sparsity" figures), reported beside achieved attention throughput; never gated on.
# The first fragment found in the GPU's name wins, so form factors come before the model.
GPU_PEAK_TFLOPS_16BIT = (
    ("H100 PCIe", 756.0, "NVIDIA H100 datasheet: PCIe BF16 1,513 TFLOPS with sparsity"),
    ("H100 NVL", 835.5, "NVIDIA H100 datasheet: NVL BF16 1,671 TFLOPS with sparsity"),
    ("H100", 989.5, "NVIDIA H100 datasheet: SXM BF16 1,979 TFLOPS with sparsity"),
    ("H200 NVL", 835.5, "NVIDIA H200 datasheet: NVL BF16 1,671 TFLOPS with sparsity"),
    ("H200", 989.5, "NVIDIA H200 datasheet: SXM BF16 1,979 TFLOPS with sparsity"),
    ("B200", 2250.0, "NVIDIA HGX B200 datasheet: BF16 4.5 PFLOPS per GPU with sparsity"),
    ("A100", 312.0, "NVIDIA A100 datasheet: BF16 312 TFLOPS dense (624 with sparsity)"),
    ("L4", 121.0, "NVIDIA L4 datasheet: BF16 242 TFLOPS with sparsity"),
)


# Peak memory bandwidth (GB/s), from the same datasheets.
GPU_PEAK_MEMORY_GBPS = (
    ("H100 PCIe", 2000.0, "NVIDIA H100 datasheet: PCIe 2 TB/s"),
    ("H100 NVL", 3900.0, "NVIDIA H100 datasheet: NVL 3.9 TB/s"),
    ("H100", 3350.0, "NVIDIA H100 datasheet: SXM 3.35 TB/s"),
    ("H200", 4800.0, "NVIDIA H200 datasheet: SXM and NVL 4.8 TB/s"),
    ("B200", 8000.0, "NVIDIA HGX B200 datasheet: 8 TB/s per GPU"),
    ("A100 80GB PCIe", 1935.0, "NVIDIA A100 datasheet: 80GB PCIe 1,935 GB/s"),
    ("A100-SXM4-80GB", 2039.0, "NVIDIA A100 datasheet: 80GB SXM 2,039 GB/s"),
    ("A100", 1555.0, "NVIDIA A100 datasheet: 40GB 1,555 GB/s"),
    ("L4", 300.0, "NVIDIA L4 datasheet: 300 GB/s"),
)


# The link between a node's GPUs, per direction (GB/s): what an all-reduce's bus bandwidth
# is compared with (nccl-tests, doc/PERFORMANCE.md: bus bandwidth "should be close to the
# hardware peak bandwidth"). NVLink datasheet figures are both directions together, so half.
# PCIe and NVL cards talk over PCIe or an NVLink bridge, which the name does not say: no
# peak, the share is not reported.
GPU_LINK_PEAK_GBPS = (
    ("H100 PCIe", None, "a PCIe card: PCIe or an NVLink bridge, not known from its name"),
    ("H100 NVL", None, "a PCIe card: PCIe or an NVLink bridge, not known from its name"),
    ("H100", 450.0, "NVIDIA H100 datasheet: SXM NVLink 900 GB/s, half per direction"),
    ("H200 NVL", None, "a PCIe card: PCIe or an NVLink bridge, not known from its name"),
    ("H200", 450.0, "NVIDIA H200 datasheet: SXM NVLink 900 GB/s, half per direction"),
    ("B200", 900.0, "NVIDIA HGX B200 datasheet: NVLink 1.8 TB/s per GPU, half per direction"),
    ("A100-SXM4", 300.0, "NVIDIA A100 datasheet: SXM NVLink 600 GB/s, half per direction"),
)


def names(fragment: str, device_name: str) -> bool:
    """Whether a table's fragment names this device: as whole words, so that "H200" is not
    found in "NVIDIA GH200 480GB" (a Grace Hopper part, with its own datasheet)."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(fragment)}(?![A-Za-z0-9])",
                     device_name) is not None


def gpu_link_peak(name: str) -> tuple[float | None, str]:
    """(per-direction GB/s of the GPU-to-GPU link of the GPU named `name`, its source)."""
    found = next(((peak, source) for fragment, peak, source in GPU_LINK_PEAK_GBPS
                  if names(fragment, name)), None)
    return found or (None, f"{name!r} is not in suites/hardware/policy.py's link table; "
                           "add it with its datasheet figure")


def gpu_peak_tflops(name: str) -> float | None:
    return next((peak for fragment, peak, _ in GPU_PEAK_TFLOPS_16BIT if names(fragment, name)),
                None)


def gpu_peak(kind: str, name: str) -> tuple[float | None, str]:
    """("16bit" TFLOP/s or "memory" GB/s peak of the GPU named `name`, its source)."""
    table = GPU_PEAK_TFLOPS_16BIT if kind == "16bit" else GPU_PEAK_MEMORY_GBPS
    found = next(((peak, source) for fragment, peak, source in table if names(fragment, name)),
                 None)
    return found or (None, f"{name!r} is not in suites/hardware/policy.py's datasheet "
                           "table; add it with its datasheet figure")


# On CUDA, a kernel below this share of the datasheet peak fails whatever the baseline. A
# floor for a broken or throttled part, not a performance target (the same model's
# baseline, within suite.toml's hardware_cuda band, is the tight gate).
# Attention: FlashAttention-2, which SDPA's flash backend is, reaches 35% of
# H100's peak (FlashAttention-3 paper, Shah et al. 2024, abstract), 50-73% of A100's
# (FlashAttention-2 paper, Dao 2023, abstract): a floor of 20% is well under both. GEMM and
# memory: half the datasheet peak, until a healthy node of each model has recorded its own.
FLOOR = "suites/hardware/policy.py GPU_PEAK_SHARE_FLOOR"
GPU_PEAK_SHARE_FLOOR = {
    "gemm": (0.50, f"{FLOOR}: half the datasheet peak (a broken or throttled part)"),
    "copy": (0.50, f"{FLOOR}: half the datasheet bandwidth"),
    "triad": (0.50, f"{FLOOR}: half the datasheet bandwidth"),
    "all_reduce": (0.50, f"{FLOOR}: half the link's datasheet bandwidth per direction (a "
                         "degraded or missing NVLink)"),
    "attention": (0.20, f"{FLOOR}: FlashAttention-2 reaches 35% of H100 peak "
                        "(FlashAttention-3 paper), 50-73% of A100's (FlashAttention-2 paper)"),
}
