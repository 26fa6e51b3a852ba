"""The compile suite's policy (thresholds that are not measured baselines), with where each
comes from. The general rules (fp64 parity, perf tolerances) are in stackqual/policy.py."""

# On CUDA, the "mlp" network compiled with mode="reduce-overhead" must beat eager: its
# kernels take microseconds each, so eager is bound by kernel launches, which is what
# CUDA graphs remove ("reduce-overhead ... reduces the overhead of Python with CUDA graphs",
# torch.compile's documentation). Policy, not a baseline: the interval's lower end must
# exceed 1.
CUDA_REDUCE_OVERHEAD_MIN_SPEEDUP = (1.0, "suites/compile/policy.py: reduce-overhead (CUDA "
                                         "graphs) beats eager on a launch-bound network")
