"""Fault: an upgrade that decomposes sqrt into pow(x, 0.5) before inductor sees the graph
(a new entry in inductor's decomposition table), so the CNN's graph (its BatchNorms in
eval mode take a sqrt) calls an aten op it did not call before. The outputs are the same
to rounding: the aten-ops gate names the new op.

AOTAutograd traces with inductor's decomposition table
(`torch._inductor.decomposition.select_decomp_table()`, which returns the module's
`decompositions` dict), so an entry added there applies to every compile of this process.
It composes with lose_a_fusion (which changes relu's lowering, not an op)."""

import torch


def sqrt_as_pow(x):
    return torch.ops.aten.pow.Tensor_Scalar(x, 0.5)


def pytest_configure(config):
    from torch._inductor import decomposition

    decomposition.decompositions[torch.ops.aten.sqrt.default] = sqrt_as_pow
