"""Fault: an upgrade of inductor whose lowering of relu realizes its result, so the relu
after each of the CNN's convolutions gets a kernel of its own instead of being fused into
the next one (measured: the cnn compiles to 8 kernels instead of 7). Nothing a user sees
changes but speed: the compiler-count gate sees one more kernel.

Inductor looks a lowering up in `torch._inductor.lowering.lowerings` (op -> function) when
it lowers each node, so replacing the entry changes every compile of this process."""

import torch


def realized(lowering):
    def lower(*args, **kwargs):
        result = lowering(*args, **kwargs)
        result.realize()
        return result
    return lower


def pytest_configure(config):
    from torch._inductor import lowering

    relu = torch.ops.aten.relu.default
    lowering.lowerings[relu] = realized(lowering.lowerings[relu])
