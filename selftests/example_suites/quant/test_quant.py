"""int8 quantization of a tensor: a value survives the round trip within half a step, and
quantizing keeps its speed against a clone of the same tensor."""

import pytest
import torch

from stackqual.cases import param, timing_threads
from stackqual.timing import fixed_threads

from . import int8, policy
from .cases import CASES

# The dequantized value is a float32 of up to 127 steps: its own rounding moves it by up to
# half a float32 ulp of that, 127 * eps / 2 steps, beyond the round trip's half step.
FLOAT32_STEPS = 127 * torch.finfo(torch.float32).eps / 2


def tensor(case):
    return torch.randn(case.numel, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("case", [param(c) for c in CASES])
def test_int8_round_trip_moves_a_value_at_most_half_a_step(case, gate):
    x = tensor(case)
    q = int8.quantize(x)
    steps = float((q.dequantize().double() - x.double()).abs().max()) / q.q_scale()
    bound, source = policy.ROUND_TRIP_STEPS
    gate.require("round_trip_steps", steps <= bound + FLOAT32_STEPS, measured=round(steps, 6),
                 expected=f"<= {bound} (+ {FLOAT32_STEPS:.1e} for float32)", source=source,
                 message=f"{case.id}: a value moved by {steps:.4f} quantization steps in the "
                         f"int8 round trip, more than {bound} ({source})")


@pytest.mark.parametrize("case", [param(c) for c in CASES])
def test_quantize_keeps_its_speed_against_a_clone(case, perf):
    x = tensor(case)
    with fixed_threads(timing_threads("cpu")):
        perf.speed("quantize_vs_clone", lambda: x.clone(), lambda: int8.quantize(x),
                   names=("clone", "quantize"), tolerance="quantize_ratio")
