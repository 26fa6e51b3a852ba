"""Every threshold that is policy (not a measured baseline), with where it comes from.

Measured expectations live in baselines/<profile>/ and are written by --update-baselines;
nothing here is a measurement of this stack.
"""


import torch

from .declared import Tolerance

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

# --- performance: how far a timing may move from this profile's baseline ----------------
# The harness's own kinds of timed metric; a suite declares its own in its suite.toml
# (`[tolerances.NAME]`, stackqual/declared.py: a model's throughput, a compile's seconds
# with a slack, a device's rates). Override any of them per run with
# --perf-tolerance NAME=VALUE.
PERF_TOLERANCE = {
    # A speed ratio (eager/compiled, math/flash) is regressed when its whole confidence
    # interval lies more than this below the baseline ratio. On the 2-core CI machine the
    # unchanged code's interval half-width is a few percent (selftests/test_false_alarms.py,
    # docs/timing.md), so 10% is clear of noise and still catches a 20% slowdown.
    "speedup": Tolerance(0.10, "10% band around the baseline ratio, clear of the few-percent "
                               "noise measured"),
}


def perf_tolerance(name: str, known: dict[str, Tolerance] | None = None,
                   overrides: dict[str, float] | None = None,
                   baseline: float | None = None) -> tuple[float, str]:
    """(tolerance, where it comes from) of a timed metric: --perf-tolerance's override, or
    its declaration in `known` (the harness's and the suites', stackqual.declared.tolerances;
    default: the harness's own); for a time with a slack in seconds, at least that slack
    relative to `baseline`. KeyError for a name declared nowhere."""
    if overrides and name in overrides:
        return overrides[name], "--perf-tolerance"
    return (PERF_TOLERANCE if known is None else known)[name].for_baseline(baseline)

# A timing baseline is compared only on an equivalent machine: each yardstick of the
# calibration (stackqual.calibration: gemm, memory copy, small-op dispatch, pure Python)
# must take within this factor (either way) of the time recorded with the baseline.
# Measured on the 2-vCPU CI VM (docs/timing.md): across processes in a quiet phase the
# yardsticks spread by 5-7% (max/min of each); the same host in a "slow phase" (a
# neighbour on the physical core, invisible to /proc/stat) ran Python 1.7-1.9x and the
# GEMM 1.2-1.3x slower, and another host behind the same CPU model string compiled 1.5x
# and ran the compiled CNN 2x slower. 15% is twice the quiet spread, below every
# difference that moved a timed ratio.
CALIBRATION_TOLERANCE = (0.15, "policy.CALIBRATION_TOLERANCE: each yardstick within 15%, "
                               "twice the spread measured across runs of one machine")
# An absolute rate on CPU (perf.rate: a GEMM's FLOP/s, a copy's GB/s) is the calibration's
# own kind of work, so a 15% match would excuse the very slowdowns it exists to catch. It is
# judged wherever the calibration is within 35%: a host's slow phase (up to 1.31x) is
# judged against the rate's own band, while another host behind the same CPU model string
# (1.5-2x, docs/timing.md) is "not comparable", never "qualified".
RATE_CPU_EQUIVALENCE = (0.35, "policy.RATE_CPU_EQUIVALENCE: each yardstick within "
                              "35%: a host's phases are judged, another generation is not")

# Before a timed check whose baseline's calibration differs from this machine's, the
# calibration is taken again (about 0.6 s each) until it matches, for at most the first
# figure's seconds in a whole run and the second's for one check: the slow phases seen on
# the CI VM lasted 1-10 s (docs/timing.md), and a machine that really differs should cost
# a run little more than this; the per-check cap leaves the later checks their chance.
CALIBRATION_WAIT_S = (30.0, 6.0, "policy.CALIBRATION_WAIT_S: slow phases of a shared host "
                                 "measured at 1-10 s")

# A slowdown measured while other processes (or the hypervisor, as steal time) used more
# than this share of the machine's CPUs is not attributed to the code: the verdict becomes
# "inconclusive", and a baseline is not recorded. On the 2-core CI machine one neighbour
# process at full speed is 50%; a quiet machine measures 0-2% here.
BUSY_MACHINE_MAX = 0.10


# stackqual qualify's containment. A test past its timeout is interrupted (pytest-timeout,
# thread method) and its suite reported as broken. The longest test measured on the 2-vCPU
# CI machine took 42 s (two cold compiles of Mamba); 300 s is seven times that, and a call
# blocked in CUDA ends in minutes rather than never. Tests marked slow (compiles of every
# model in training) get 900 s.
TEST_TIMEOUT_S = {
    "default": (300, "policy.TEST_TIMEOUT_S: 7x the longest test measured (42 s)"),
    "slow": (900, "policy.TEST_TIMEOUT_S: tests marked slow"),
}
# One suite's whole process: the CPU tier of all suites takes about 20 minutes on the CI
# machine, the compile suite most of it.
SUITE_TIMEOUT_S = (3600, "policy.SUITE_TIMEOUT_S: three times the whole CPU tier's run")

# `stackqual fleet`: a unit (a node, or one GPU of it) is an outlier of its fleet when its
# figure is worse than the fleet's median by more than FLEET_OUTLIER_Z robust standard
# deviations and by more than FLEET_MIN_DEVIATION of the median.
# The robust z-score is Iglewicz and Hoaglin's modified z-score, 0.6745 (x - median) / MAD,
# and 3.5 is their cut-off for "potential outlier" (B. Iglewicz, D. Hoaglin, "How to Detect
# and Handle Outliers", ASQC 1993; NIST/SEMATECH e-Handbook of Statistical Methods,
# section 1.3.5.17). It adapts to the fleet's own spread; MAD is ~0 in a tight fleet, so a
# floor on the deviation keeps a difference within one machine's own run-to-run spread from
# being called a defect. CPU: one shared 2-vCPU host's GEMM and copy rates moved by up to
# 1.31x between its phases (a neighbour on the physical core: calibration GEMM 57.9 vs
# 75.8 GFLOP/s, memory 1.24x; docs/timing.md); 35% absorbs that. CUDA: clocks under load
# vary by a few percent; 15% until GPU fleets measure their spread. A part at half its rate
# is caught on either; an 18% slower GPU is caught on CUDA.
FLEET_OUTLIER_Z = (3.5, "policy.FLEET_OUTLIER_Z: modified z-score 3.5 (Iglewicz and Hoaglin "
                        "1993)")
FLEET_MIN_DEVIATION = {
    "cpu": (0.35, "policy.FLEET_MIN_DEVIATION['cpu']: a shared CPU host's phases moved its "
                  "rates by up to 1.31x"),
    "cuda": (0.15, "policy.FLEET_MIN_DEVIATION['cuda']: a few percent of clock variation, 15% "
                   "until GPU fleets are measured"),
}
# Fewer units than this and no outlier is named: with two, the median is their mean and
# each is as far from it as the other.
FLEET_MIN_UNITS = 3
