"""Every attention backend is as close to a float64 reference as PyTorch's own math path in
the same dtype is (flash-attention's test rule, suites/attention/policy.py): the output and the
gradients dq, dk, dv, causal or not, with a key-padding mask where the backend takes one.
The reference is SDPA's math backend in float64 on the same values; the scale is the math
backend in the candidate's dtype."""

import pytest
import torch

from stackqual import numerics

from . import backends
from . import policy as suite_policy
from .backends import PACKAGES, Unsupported
from stackqual.cases import dtype_name

from .cases import SEED, Inputs, make_inputs, numerics_cases


def forward_backward(backend: str, inputs: Inputs, dout: torch.Tensor) -> dict:
    q, k, v = (t.detach().requires_grad_() for t in (inputs.q, inputs.k, inputs.v))
    out = backends.run(backend, Inputs(q, k, v, inputs.attn_mask, inputs.dropout_p,
                                       inputs.is_causal))
    dq, dk, dv = torch.autograd.grad(out, (q, k, v), dout.to(out.dtype))
    return {"output": out, "dq": dq, "dk": dk, "dv": dv}


def _skip_if_refused(backend: str, inputs: Inputs, case_id: str) -> None:
    """A backend that does not take these inputs is skipped with its own reason (which
    backend runs what is the dispatch test's concern)."""
    if backend in PACKAGES:
        pytest.importorskip(backend, reason=f"{backend} not installed: {PACKAGES[backend]}; "
                                            "the SDPA backends were checked without it")
        refused = backends.package_refusal(backend, inputs.q.device.type)
        if refused:
            pytest.skip(refused)
        return
    with torch.no_grad():
        error, warned = backends.refusal(backend, inputs)
    if error is not None:
        causes = [w for w in warned if "kernel not used because" not in w] or [str(error)]
        pytest.skip(f"{backend} does not take {case_id}: {'; '.join(causes)[:300]}")


@pytest.mark.parametrize("case", numerics_cases())
def test_backend_is_as_close_to_fp64_as_math(case, gate):
    backend = case.backend
    inputs = make_inputs(case.condition, case.dtype, case.device)
    _skip_if_refused(backend, inputs, case.inputs_id)
    g = torch.Generator().manual_seed(SEED + 1)
    dout = torch.randn(inputs.q.shape[:-1] + (inputs.v.shape[-1],), generator=g)
    dout = dout.to(case.device)
    reference = forward_backward("math", inputs.to(torch.float64), dout)
    trusted = forward_backward("math", inputs, dout)
    try:
        candidate = forward_backward(backend, inputs, dout)
    except Unsupported as e:
        pytest.skip(f"{backend} does not take {case.inputs_id}: {e}")
    judgements = [
        numerics.judge_max_error(name, candidate[name], trusted[name], reference[name],
                                 suite_policy.ATTENTION_ERROR_MULTIPLIER[
                                     "output" if name == "output" else "grad"])
        for name in reference]
    details = numerics.summary(judgements)
    details["error_ratio"] = {j.name: j.candidate_error / j.trusted_error
                              if j.trusted_error else None for j in judgements}
    gate.require_close(
        "error_vs_fp64", judgements, details=details, source=suite_policy.ATTENTION_RULE_SOURCE,
        candidate=f"{backend} ({dtype_name(case.dtype)}, {case.condition.name}, {case.device})",
        trusted=f"the math backend in {dtype_name(case.dtype)}")
