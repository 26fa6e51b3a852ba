"""Every threshold that is policy (not a measured baseline), with where it comes from.

Measured expectations live in baselines/<profile>/ and are written by --update-baselines;
nothing here is a measurement of this stack.
"""

import torch

# --- numerics: compiled (or any candidate) path vs an fp64 reference -------------------
# Rule of torch._dynamo.utils.same(), the accuracy check of PyTorch's own dynamo benchmark
# harness: pass if  rmse(candidate, fp64) <= m * rmse(trusted, fp64) + tol / 10,
# where "trusted" is eager in the same dtype and the fp64 run uses the same weights.
RMSE_MULTIPLIER = {
    torch.float32: 2.0,
    torch.float64: 2.0,
    # same(): 3.0 for low precision "to avoid false alarms" seen with AMP.
    torch.float16: 3.0,
    torch.bfloat16: 3.0,
}
# same(): tensors under 1000 elements use 3.0 whatever the dtype ("noise might dominate
# our error metric for smaller tensors").
SMALL_TENSOR_NUMEL = 1000
SMALL_TENSOR_MULTIPLIER = 3.0

# tol, whose tenth is the absolute floor of the bound (it matters only when the trusted
# path is almost exact). 1e-4 is same()'s default and benchmarks/dynamo/torchbench.py's
# fp32 tolerance; 1e-3 is torchbench.py's fp16/amp tolerance. Gradients get the same tol:
# benchmarks/dynamo/huggingface.py allows 10x for training, which these models do not need
# (the gradient checks pass at the inference tol), so the stricter bound is kept.
TOL = {
    torch.float64: 1e-4,
    torch.float32: 1e-4,
    torch.float16: 1e-3,
    torch.bfloat16: 1e-3,
}

# Without an fp64 reference (a model that cannot run in float64), same() falls back to
# cosine similarity between candidate and trusted, passing at >= 0.99.
COSINE_MIN = 0.99

RULE_SOURCE = "rule of torch._dynamo.utils.same(); multipliers and tol in stackqual/policy.py"


def tolerance(dtype: torch.dtype) -> float:
    return TOL[dtype]


def rmse_multiplier(dtype: torch.dtype, numel: int) -> float:
    m = RMSE_MULTIPLIER[dtype]
    return max(m, SMALL_TENSOR_MULTIPLIER) if numel < SMALL_TENSOR_NUMEL else m
