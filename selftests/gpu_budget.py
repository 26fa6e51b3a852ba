"""The GPU qualification tier's time budget: the arithmetic that turns what `pytest -m gpu`
runs into minutes on one H100/H200, from a cold inductor cache, start-up included.

What is counted is exact (the collected cases); the seconds per unit are estimates until a
GPU run measures them (the run report holds each test's duration): each says what it rests
on. Re-measure them from the first GPU run's report and update this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIMIT_S = 360  # six minutes: a qualification window or a CI GPU runner's slot
# Interpreter, torch/transformers imports, CUDA context, collection (collection alone took
# 6.5 s on the 2-vCPU CI machine).
START_UP_S = 60
# One cold inductor compile per model (inference). Estimate: on the 2-vCPU CI machine the
# CPU cold compiles took 0.9 (mlp), 2.8 (cnn), 4.6 (encoder layer), 9.4 (bert) and 16 (mamba)
# CPU-seconds; Triton's GPU kernel builds are taken as 3x that, rounded up.
COLD_COMPILE_S = {"mlp": 15, "cnn": 15, "encoder-layer": 15, "encoder-layer-fastpath": 5,
                  "bert": 45, "mamba": 60}
TRAINING_FACTOR = 2  # a training case compiles a forward and a backward graph
# A timed comparison: the rounds' cap (--perf-max-time 10 s) and one calibration (~1 s);
# most stop earlier when decided (3-7 s on CPU).
TIMED_S = 11
# A dynamo counter case (aot_eager; the recompile case over 10 batch sizes): 1.3 s (graph
# breaks) and 5.1 s (recompiles) mean on CPU.
DYNAMO_CASE_S = 5
# A case that loads a pretrained model (HF parity: 1.2 s mean, 4 s first, on CPU).
MODEL_LOAD_CASE_S = 3
# A hardware peak case (suites/hardware): 15 rounds of 0.05 s samples, warm-up, one
# calibration (~1 s) and its buffers (up to 3 x 2 GiB); the CPU cases took about 2 s each on
# the 2-vCPU CI machine.
HARDWARE_CASE_S = 4
# The all-reduce across a node's GPUs (gpu_full): a process per GPU with its CUDA context
# and NCCL's set-up, then 3 sizes x (5 + 7 x 10) calls, the largest 512 MiB, milliseconds a
# call on NVLink. Estimate until measured.
INTERCONNECT_CASE_S = 40
# Any other case (SDPA dispatch and numerics: 0.01-0.03 s each on CPU; on CUDA the
# profiler and kernel launches add to that).
LIGHT_CASE_S = 0.3


@dataclass
class Estimate:
    cases: int = 0
    cold_compiles: float = 0
    timed: int = 0
    seconds: float = START_UP_S
    lines: list = None

    def minutes(self) -> float:
        return self.seconds / 60


def _model(case_id: str) -> str:
    """The compile suite's model a case id starts with (longest name first)."""
    return next(m for m in sorted(COLD_COMPILE_S, key=len, reverse=True)
                if case_id.startswith(m + "-"))


def estimate(nodeids: list[str]) -> Estimate:
    """The tier's seconds: start-up, cold compiles, timed comparisons, the rest."""
    e = Estimate(lines=[f"start-up {START_UP_S} s"])
    for nodeid in nodeids:
        e.cases += 1
        case_id = re.search(r"\[(.*)\]$", nodeid).group(1) if "[" in nodeid else ""
        if "compile/test_parity.py::test_compiled_matches" in nodeid:
            compiles = TRAINING_FACTOR if case_id.endswith("-training") else 1
            e.cold_compiles += compiles
            e.seconds += compiles * COLD_COMPILE_S[_model(case_id)]
        elif "compile/test_speed.py::test_speedup" in nodeid:
            e.cold_compiles += 1
            e.timed += 1
            e.seconds += COLD_COMPILE_S[_model(case_id)] + TIMED_S
        elif "compile/test_speed.py::test_compile_time" in nodeid:
            e.cold_compiles += 2  # two cold compiles, the faster counts
            e.seconds += 2 * COLD_COMPILE_S[_model(case_id)]
        elif "compile/test_dynamo.py" in nodeid:
            e.seconds += DYNAMO_CASE_S
        elif ("attention/test_speed.py" in nodeid
              or "models/test_cost.py::test_throughput" in nodeid):
            e.timed += 1
            e.seconds += TIMED_S
        elif "hardware/test_peak.py" in nodeid:
            e.seconds += HARDWARE_CASE_S
        elif "hardware/test_interconnect.py" in nodeid:
            e.seconds += INTERCONNECT_CASE_S
        elif "test_hf_parity.py" in nodeid or "test_accuracy.py" in nodeid:
            e.seconds += MODEL_LOAD_CASE_S
        else:
            e.seconds += LIGHT_CASE_S
    e.lines += [f"{e.cold_compiles:g} cold compiles (table COLD_COMPILE_S)",
                f"{e.timed} timed comparisons x {TIMED_S} s",
                f"{e.cases} cases in all: {e.seconds:.0f} s = {e.minutes():.1f} min"]
    return e
