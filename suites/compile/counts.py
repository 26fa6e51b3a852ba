"""The compiler's own counts for one cold compile of a model: exact, free of the clock,
and the same on every machine of one ISA class running one torch build, so they judge on
any runner where the wall-clock gates cannot (docs/timing.md).

What each count is, and where torch says it:
- graphs: frames dynamo compiled; guards: the guards on them; fx_nodes: the nodes of
  dynamo's FX graphs (`torch._dynamo.utils.get_compilation_metrics()`, one
  CompilationMetrics per frame: `guard_count`, `graph_node_count`).
- aten_nodes, aten_ops: the nodes of the graphs AOTAutograd hands inductor that call an
  op (compile_fx's `inner_compile`: after decomposition, before inductor's own passes),
  and the set of ops they call.
- kernels: the kernels inductor generated (`torch._inductor.metrics.generated_kernel_count`):
  one lost fusion is one more kernel.
- code_lines: the lines of the Python modules inductor wrote, kernel sources included
  (`torch._inductor.utils.run_and_get_code`).

What they depend on, and what is fixed so that they repeat: the torch build (they are its
behaviour), the ISA class (CPU kernels are written for the vector width), the thread count
(CPU kernels are written with or without OpenMP loops: fixed at one thread), and the
caches (a cache hit generates nothing: inductor's caches are off, and dynamo is reset).
"""

from __future__ import annotations

import torch

from stackqual import incompatible
from stackqual.timing import fixed_threads

with incompatible.harness("torch._dynamo.utils.get_compilation_metrics, torch._inductor "
                          "(compile_fx.compile_fx/compile_fx_inner, metrics, utils."
                          "run_and_get_code)"):
    from torch._dynamo.utils import clear_compilation_metrics, get_compilation_metrics
    from torch._inductor import metrics as inductor_metrics
    from torch._inductor.compile_fx import compile_fx, compile_fx_inner
    from torch._inductor.utils import run_and_get_code

# The numeric counts, each gated not to grow; `aten_ops` (a set) must gain no member.
NUMERIC = ("graphs", "guards", "fx_nodes", "aten_nodes", "kernels", "code_lines")
THREADS = 1


def aten_calls(gm: torch.fx.GraphModule) -> list[str]:
    """The ops (aten, prims) a graph's nodes call, by overload name; Python's own functions
    (operator.getitem on an op's tuple result) are not ops."""
    return [str(node.target) for node in gm.graph.nodes
            if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload)]


def measure(spec, device: str) -> dict:
    """Compile `spec`'s model cold with inductor on `device`, run it once under no_grad,
    and return its counts (NUMERIC, and aten_ops: a sorted list)."""
    model = spec.build().to(device).eval()
    inputs = tuple(t.to(device) for t in spec.inputs(spec.batch))
    calls: list[str] = []

    def inner_compile(gm, example_inputs, **kwargs):
        calls.extend(aten_calls(gm))
        return compile_fx_inner(gm, example_inputs, **kwargs)

    def backend(gm, example_inputs):
        return compile_fx(gm, example_inputs, inner_compile=inner_compile)

    torch.compiler.reset()
    clear_compilation_metrics()
    inductor_metrics.reset()
    with spec.context(), torch.no_grad(), fixed_threads(THREADS), \
            torch._inductor.config.patch(force_disable_caches=True):
        _, code = run_and_get_code(torch.compile(model, backend=backend), *inputs)
    frames = get_compilation_metrics()
    return {
        "graphs": len(frames),
        "guards": sum(frame.guard_count or 0 for frame in frames),
        "fx_nodes": sum(frame.graph_node_count or 0 for frame in frames),
        "aten_nodes": len(calls),
        "kernels": inductor_metrics.generated_kernel_count,
        "code_lines": sum(len(module.splitlines()) for module in code),
        "aten_ops": sorted(set(calls)),
    }
