"""torch.compile matches eager: outputs and, for training, every parameter's gradient are
judged against a float64 reference, with a bound scaled by eager's own distance from it."""

import copy
import time

import pytest
import torch

from stackqual import incompatible, numerics, policy

from .cases import parity_cases
from .models import MODELS, mha_fastpath
from .running import compile_model, run, to_case

with incompatible.harness("torch._dynamo.utils.counters"):
    from torch._dynamo.utils import counters

pytestmark = pytest.mark.usefixtures("deterministic_algorithms")


@pytest.mark.slow
@pytest.mark.parametrize("case", parity_cases())
def test_compiled_matches_eager_against_fp64(case, gate):
    spec = MODELS[case.model]
    runs = spec.runs_on(case.device)  # skips where the model's kernels cannot run here
    with spec.context():
        base = spec.build().to(case.device, case.dtype)
        inputs = to_case(spec.inputs(spec.batch), case.dtype, case.device)

        def eager():
            model = copy.deepcopy(base)
            return run(model, model, inputs, training=case.training, case_dtype=case.dtype)

        trusted = eager()
        difference = numerics.first_difference(trusted, eager())
        why = spec.nondeterministic(case.device) if case.training else ""
        if why:  # the fp64 bound below judges it, with eager's own error as the scale
            gate.info("eager_deterministic", difference or "identical", note=why)
        else:
            gate.require(
                "eager_deterministic", difference is None, measured=difference or "identical",
                expected="bitwise identical", source="same() also runs eager twice",
                message=f"eager is not deterministic, so compiled cannot be judged: "
                        f"{difference}")

        model = copy.deepcopy(base)
        compiled = compile_model(model, case.backend, case.mode_arg)
        counters.clear()
        start = time.perf_counter()
        candidate = run(model, compiled, inputs, training=case.training, case_dtype=case.dtype)
        gate.info("first_call_s", round(time.perf_counter() - start, 3),
                  note="compile + one run; depends on the inductor cache being warm")
        cudagraph_skips = counters["inductor"]["cudagraph_skips"]

    # the reference is the plain composite path, in float64
    with mha_fastpath(False), spec.reference_context():
        reference_model = copy.deepcopy(base).to(torch.float64)
        reference = run(reference_model, reference_model,
                        to_case(inputs, torch.float64, case.device),
                        training=case.training, case_dtype=case.dtype)

    judgements = numerics.judge_all(candidate, trusted, reference)
    gate.require_close(
        "parity_vs_fp64", judgements,
        details={**numerics.summary(judgements), **({"path": runs} if runs else {})},
        candidate=f"compiled (backend={case.backend}, mode={case.mode}, {case.dtype}, "
                  f"{case.phase})", trusted="eager", source=policy.RULE_SOURCE)

    if case.device == "cuda" and case.mode == "reduce-overhead":
        gate.at_most_baseline("cudagraph_skips", cudagraph_skips,
                              explain="inductor did not use CUDA graphs where it did before; "
                                      "TORCH_LOGS=perf_hints says why")
    else:  # only reduce-overhead asks for CUDA graphs; off-GPU inductor skips them (reported)
        gate.info("cudagraph_skips", cudagraph_skips)


@pytest.mark.parametrize("name", [n for n, s in MODELS.items() if s.expects_op])
def test_eager_takes_the_path_under_test(name, gate):
    """A case named after a kernel path must really run it (e.g. the encoder-layer fast
    path), or its parity cases test something else."""
    spec = MODELS[name]
    model = spec.build().eval()
    with spec.context(), torch.no_grad(), torch.profiler.profile() as prof:
        model(*spec.inputs(spec.batch))
    ops = {e.key for e in prof.key_averages()}
    gate.require("expected_op_ran", spec.expects_op in ops, measured=spec.expects_op in ops,
                 expected=True, source="models.py: expects_op",
                 message=f"eager inference did not run {spec.expects_op}; ops seen: "
                         f"{sorted(o for o in ops if o.startswith('aten::'))[:20]}")
