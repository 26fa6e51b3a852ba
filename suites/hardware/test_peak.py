"""The hardware against its own peak: dense GEMM FLOP/s, memory bandwidth (copy, STREAM
triad) and fused attention FLOP/s, each an absolute rate reported as a share of the
hardware's peak (suites/hardware/peaks.py, each peak with its source) and gated against
this profile's baseline (its band: hardware_cpu or hardware_cuda in suite.toml); on CUDA
also against a floor of that share (suites/hardware/policy.py GPU_PEAK_SHARE_FLOOR).
Absolute figures: compared only with baselines of the same profile and device model
(stackqual.perf.rate; on CPU also only where the calibration is within 35% of the
baseline's)."""

import pytest
import torch

from stackqual import timing
from stackqual.cases import param

from . import peaks
from . import policy as suite_policy
from .cases import CASES

ROUNDS = 15
SAMPLE_S = 0.05  # per sample: many calls of a CPU copy, a few of a CUDA GEMM


@pytest.mark.parametrize("case", [param(c, full=c.full, min_sm=c.min_sm) for c in CASES])
def test_hardware_reaches_its_baseline_share_of_peak(case, perf, gate):
    if case.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
    try:
        kernel = peaks.build(case)
        with torch.no_grad():
            sides, others_busy = timing.measure_each({case.id: kernel.run}, device=case.device,
                                                     rounds=ROUNDS, sample_s=SAMPLE_S)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False
    times = sides[case.id].times_s
    median = sorted(kernel.work / t / kernel.scale for t in times)[len(times) // 2]
    peak, source = peaks.peak(case)
    share = None if peak is None else round(median / peak, 4)
    gate.info("share_of_peak", share, peak=peak, peak_source=source, unit=kernel.unit,
              note=("above the derived peak: the CPU runs faster than the clock it reports "
                    "(boost)" if share and share > 1 else ""))
    if case.device == "cuda" and peak is not None:
        floor, floor_source = suite_policy.GPU_PEAK_SHARE_FLOOR[case.kernel]
        gate.require("share_floor", share >= floor, measured=share, expected=f">= {floor}",
                     source=floor_source, message=(
                         f"{case.id} reached {median:.4g} {kernel.unit}, {share:.0%} of the "
                         f"peak {peak:g} ({source}); the floor is {floor:.0%} ({floor_source})"))
    perf.rate("rate", times, work=kernel.work, unit=kernel.unit, scale=kernel.scale,
              tolerance=f"hardware_{'cuda' if case.device == 'cuda' else 'cpu'}",
              device=case.device, others_busy=others_busy, threads=torch.get_num_threads(),
              peak=peak, peak_source=source)
