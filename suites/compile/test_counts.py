"""The compiler's own counts do not grow beyond this profile's baseline: one cold inductor
compile of each model, counted (suites/compile/counts.py). Exact counts judge on any
runner of the profile's ISA class, where the wall clock cannot: a lost fusion is one more
kernel, a changed decomposition a new aten op, more tracing work more guards or nodes."""

import functools

import pytest

from . import policy as suite_policy
from .cases import model_device_cases
from .counts import NUMERIC, measure
from .models import MODELS

# `counted`: `stackqual ab` compares these counts between two stacks (no clock involved).
pytestmark = [pytest.mark.counted, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:dynamo_pgo force disabled:UserWarning")]


@functools.cache
def _counted(model: str, device: str) -> dict:
    return measure(MODELS[model], device)


def counts(case) -> dict:
    """The case's counts, measured once per process (every count of a model comes from the
    same compile)."""
    MODELS[case.model].runs_on(case.device)  # skips where the model's kernels cannot run here
    return _counted(case.model, case.device)


@pytest.mark.parametrize("metric", NUMERIC)
@pytest.mark.parametrize("case", model_device_cases())
def test_compiler_count_does_not_grow(case, metric, gate):
    gate.count_at_most_baseline(
        metric, counts(case)[metric], tolerance=suite_policy.COUNT_TOLERANCE[metric],
        explain="the counts of the compile: " + ", ".join(
            f"{k} {v}" for k, v in counts(case).items() if k in NUMERIC))


@pytest.mark.parametrize("case", model_device_cases())
def test_compiled_graphs_call_no_new_aten_op(case, gate):
    gate.no_new_members("aten_ops", counts(case)["aten_ops"], explain=(
        "An op the graph did not call before is a changed decomposition or lowering: "
        "see whether inductor still fuses it"))
