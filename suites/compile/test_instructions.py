"""Instructions do not grow beyond this profile's baseline: the Python side of a model's
cold compile, and the eager and the compiled forward per call on a tiny input, counted by
callgrind in a child process (suites/compile/instructions.py). A count of instructions is
the same on a busy machine and a quiet one and on another CPU model of the same ISA class,
so these gates judge where the wall clock cannot: they catch 5% more compile work and a
compiled wrapper 8% heavier per call, which no timed gate here sees."""

import pytest

from stackqual import callgrind

from . import policy as suite_policy
from .cases import instruction_cases
from .instructions import CALLS, COMPILE, PATHS, measure

# `counted`: `stackqual ab` compares these counts between two stacks (no clock involved).
pytestmark = [pytest.mark.counted, pytest.mark.slow]
TESTS = ("test_instructions_per_call_do_not_grow", "test_compile_instructions_do_not_grow")


@pytest.fixture(scope="session")
def instructions(request, tmp_path_factory):
    """model -> `compile` and each path -> instructions for every model this run selected,
    each from a child of its own under callgrind; or why they could not be counted here."""
    models = sorted({item.callspec.params["case"].model for item in request.session.items
                     if item.originalname in TESTS})
    try:
        return measure(models, tmp_path_factory.mktemp("callgrind"))
    except callgrind.Unavailable as e:
        return e


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", instruction_cases())
def test_instructions_per_call_do_not_grow(case, path, gate, instructions):
    if isinstance(instructions, callgrind.Unavailable):
        pytest.skip(f"{instructions}; the instruction counts were not measured")
    gate.count_at_most_baseline(
        "instructions_per_call", round(instructions[case.model][path]),
        tolerance=suite_policy.INSTRUCTION_TOLERANCE, details={"calls": CALLS},
        explain=f"{path} forward of {case.model}, batch 1, one thread, mean of {CALLS} calls "
                "under callgrind: the growth is in what runs around the kernels")


@pytest.mark.parametrize("case", instruction_cases())
def test_compile_instructions_do_not_grow(case, gate, instructions):
    if isinstance(instructions, callgrind.Unavailable):
        pytest.skip(f"{instructions}; the instruction counts were not measured")
    gate.count_at_most_baseline(
        "compile_instructions", instructions[case.model][COMPILE],
        tolerance=suite_policy.COMPILE_INSTRUCTION_TOLERANCE,
        explain=f"the cold inductor compile of {case.model} on the Python side (dynamo, "
                "AOTAutograd, inductor's lowering and code generation; the C++ compiler's own "
                "process not counted), caches off, under callgrind")
