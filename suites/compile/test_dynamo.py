"""Dynamo's capture: graph breaks and recompiles do not grow beyond this profile's
baseline, and varying batch sizes never exhaust the recompile limit (past it, compiled
code silently falls back to eager)."""

from collections import Counter

import pytest
import torch

from stackqual import incompatible

from .cases import PHASES, model_device_cases
from .models import MODELS

with incompatible.harness("torch._dynamo internals (exc.FailOnRecompileLimitHit, testing."
                 "CompileCounter*, utils.counters)"):
    from torch._dynamo.exc import FailOnRecompileLimitHit
    from torch._dynamo.testing import CompileCounter, CompileCounterWithBackend
    from torch._dynamo.utils import counters

# More distinct sizes than dynamo's recompile limit (8), so a model that recompiles for
# every batch size reaches it within the list. 0 and 1 are left out: dynamo specializes
# on them by design.
BATCH_SIZES = (2, 3, 4, 5, 6, 7, 8, 9, 10, 11)


def capture(model, inputs, *, grad: bool) -> tuple[int, Counter]:
    """Compile with a counting backend (dynamo only) and run once: the number of graphs
    captured and dynamo's own graph-break counter (reason -> count). torch._dynamo.explain
    is not used: for a break inside a nested module it reports graph_break_count = -1."""
    counters.clear()
    backend = CompileCounter()
    with torch.set_grad_enabled(grad):
        torch.compile(model, backend=backend)(*inputs)
    return backend.frame_count, Counter(counters["graph_break"])


def _reasons(breaks: Counter) -> str:
    return "; ".join(f"{n}x {reason.strip().splitlines()[0]}"
                     for reason, n in breaks.most_common()) or "none"


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("case", model_device_cases())
def test_graph_breaks_do_not_grow(case, phase, gate):
    name, device = case.model, case.device
    spec = MODELS[name]
    spec.runs_on(device)  # skips where the model's kernels cannot run here
    if phase == "training" and spec.inference_only:
        pytest.skip(f"{name} has no training phase: {spec.inference_only}")
    model = spec.build().to(device).train(phase == "training")
    inputs = tuple(t.to(device) for t in spec.inputs(spec.batch))
    with spec.context():
        graphs, breaks = capture(model, inputs, grad=phase == "training")
    count = sum(breaks.values())
    gate.info("graphs", graphs)
    gate.require(
        "graphs_captured", graphs >= 1, measured=graphs, expected=">= 1",
        source="a compiled model that captures no graph runs entirely eager",
        message=f"dynamo captured no graph at all, so the compiled model runs entirely eager "
                f"({count} graph breaks: {_reasons(breaks)})")
    gate.at_most_baseline("graph_breaks", count, explain=f"Break reasons: {_reasons(breaks)}")


@pytest.mark.parametrize("dynamic", [None, True], ids=["dynamic=None", "dynamic=True"])
@pytest.mark.parametrize("case", model_device_cases())
def test_recompiles_do_not_grow(case, dynamic, gate):
    """Inference over BATCH_SIZES. Counted with aot_eager (dynamo + AOTAutograd guards);
    a recompile is any graph compiled after the first call."""
    spec, device = MODELS[case.model], case.device
    spec.runs_on(device)  # skips where the model's kernels cannot run here
    model = spec.build().to(device).eval()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(model, backend=counter, dynamic=dynamic)
    with incompatible.harness("torch._dynamo.config.recompile_limit"):
        limit = torch._dynamo.config.recompile_limit
    after_first, seen, hit_at = None, [], None
    with spec.context(), torch.no_grad(), \
            torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):
        for batch in BATCH_SIZES:
            seen.append(batch)
            try:
                compiled(*(t.to(device) for t in spec.inputs(batch)))
            except FailOnRecompileLimitHit:
                hit_at = batch
                break
            after_first = counter.frame_count if after_first is None else after_first
    recompiles = counter.frame_count - (after_first or 0)
    gate.require(
        "recompile_limit_not_hit", hit_at is None, measured=hit_at or "not hit",
        expected="not hit", source=f"torch._dynamo.config.recompile_limit = {limit}",
        message=(f"dynamic={dynamic}: dynamo's recompile limit ({limit}) was hit at batch size "
                 f"{hit_at} after {recompiles} recompiles over batch sizes {seen}; past it the "
                 "compiled model silently runs eager"))
    gate.at_most_baseline("recompiles", recompiles,
                          explain=f"dynamic={dynamic}, batch sizes {list(BATCH_SIZES)}")
