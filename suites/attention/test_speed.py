"""The fused attention kernels keep their speed over the slower path on this profile: the
ratio time(math)/time(flash), and time(FA2)/time(FA3) on Hopper, from interleaved rounds in
one process (stackqual.timing), gated against the profile's baseline. Achieved TFLOP/s of
both sides is reported beside the device's peak (suites/hardware/policy.py,
GPU_PEAK_TFLOPS_16BIT)."""

import pytest
import torch

from stackqual import timing
from suites.hardware.policy import gpu_peak_tflops

from . import backends
from .backends import PACKAGES
from .cases import SEED, Inputs, speed_cases


def _inputs(case) -> Inputs:
    g = torch.Generator().manual_seed(SEED)
    shape = (case.batch, case.heads, case.seq, case.head_dim)
    q, k, v = (torch.randn(shape, generator=g).to(case.device, case.dtype) for _ in range(3))
    return Inputs(q, k, v, None, 0.0, case.causal)


@pytest.mark.parametrize("case", speed_cases())
def test_fused_attention_speedup_holds_against_baseline(case, perf, gate):
    if case.candidate in PACKAGES:
        pytest.importorskip(case.candidate, reason=f"{case.candidate} not installed: "
                                                   f"{PACKAGES[case.candidate]}")
        refused = backends.package_refusal(case.candidate, case.device)
        if refused:
            pytest.skip(refused)
    inputs = _inputs(case)
    with torch.no_grad(), timing.fixed_threads(case.threads):
        comparison = perf.speed(
            "speedup", lambda: backends.run(case.baseline, inputs),
            lambda: backends.run(case.candidate, inputs),
            names=(case.baseline, case.candidate), device=case.device)
    if comparison is None:  # --benchmark-disable
        return
    achieved = {side.name: round(case.flops() / side.median / 1e12, 3)
                for side in (comparison.a, comparison.b)}
    peak = (gpu_peak_tflops(torch.cuda.get_device_name())
            if case.device == "cuda" else None)
    gate.info("tflops", achieved, peak_tflops=peak,
              fraction_of_peak={k: v / peak for k, v in achieved.items()} if peak else None,
              flops=case.flops())
