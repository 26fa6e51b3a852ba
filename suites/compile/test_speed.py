"""torch.compile is not slower than on this profile's baseline: the speedup eager/compiled
from interleaved rounds in one process (stackqual.timing), and the cold compile time.
A speedup below 1 is not a failure in itself (small models on CPU often lose to eager);
a speedup that drops below what this hardware profile measured before is."""

import time

import pytest
import torch

from stackqual import timing

from . import policy as suite_policy
from . import running
from .cases import speed_cases
from .models import MODELS


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _floor(case):
    """The policy floor, where there is one: on CUDA the mlp with reduce-overhead must beat
    eager (suites/compile/policy.py)."""
    if case.device == "cuda" and case.model == "mlp" and case.mode == "reduce-overhead":
        return suite_policy.CUDA_REDUCE_OVERHEAD_MIN_SPEEDUP
    return None


@pytest.mark.parametrize("case", speed_cases())
def test_speedup_holds_against_baseline(case, perf):
    spec = MODELS[case.model]
    spec.runs_on(case.device)  # skips where the model's kernels cannot run here
    with spec.context(), torch.no_grad(), timing.fixed_threads(case.threads):
        model = spec.build().to(case.device, case.dtype).eval()
        inputs = running.to_case(spec.inputs(spec.batch), case.dtype, case.device)
        compiled = running.compile_model(model, case.backend, case.mode_arg)
        perf.speed("speedup", lambda: model(*inputs), lambda: compiled(*inputs),
                   names=("eager", "compiled"), device=case.device, at_least=_floor(case))


# Dynamo says, once per compile, that caches being off also turns off its profile-guided
# dynamic shapes: that is the point of a cold compile here.
@pytest.mark.filterwarnings("ignore:dynamo_pgo force disabled:UserWarning")
@pytest.mark.parametrize("case", speed_cases(compile_time=True))
def test_compile_time_holds_against_baseline(case, perf):
    """Tracing, lowering and code generation with inductor's caches off (FX graph and
    autotune caches; compiled C++ objects on disk may be reused): the work an upgrade can
    make slower. Two cold compiles, the faster one counts. Measured in CPU seconds (this
    process and the compilers it runs) with inductor compiling in-process
    (compile_threads=1, no worker pool whose time would be missed): other processes taking
    the CPUs lengthen the wall time 2-4x, the CPU time hardly (docs/timing.md)."""
    spec = MODELS[case.model]
    spec.runs_on(case.device)  # skips where the model's kernels cannot run here
    running.warm_inductor(case.device)  # no case's compile time carries the first one's set-up
    samples, walls = [], []
    load = timing.OtherLoad()
    with spec.context(), torch.no_grad(), timing.fixed_threads(case.threads):
        model = spec.build().to(case.device, case.dtype).eval()
        inputs = running.to_case(spec.inputs(spec.batch), case.dtype, case.device)
        for _ in range(2):
            torch.compiler.reset()
            with torch._inductor.config.patch(force_disable_caches=True, compile_threads=1):
                compiled = running.compile_model(model, case.backend, case.mode_arg)
                _sync(case.device)
                cpu, wall = timing.cpu_seconds(), time.perf_counter()
                compiled(*inputs)
                _sync(case.device)
                samples.append(timing.cpu_seconds() - cpu)
                walls.append(round(time.perf_counter() - wall, 3))
    perf.time("compile_s", samples, tolerance="compile_s", device=case.device,
              what="CPU time", others_busy=load.share(), wall_s=walls)
