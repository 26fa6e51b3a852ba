"""Instructions per call do not grow beyond this profile's baseline: the eager and the
compiled forward of small models on a tiny input, counted by callgrind in a child process
(suites/compile/instructions.py). A count of instructions is the same on a busy machine
and a quiet one, so this gate judges where the wall clock cannot, and catches a 10%
slower compiled wrapper (more guards, a heavier call path) that no timed gate here sees."""

import pytest

from stackqual import callgrind

from . import policy as suite_policy
from .cases import instruction_cases
from .instructions import CALLS, PATHS, measure

# `counted`: `stackqual ab` compares these counts between two stacks (no clock involved).
pytestmark = [pytest.mark.counted, pytest.mark.slow]


@pytest.fixture(scope="session")
def per_call(request, tmp_path_factory):
    """model -> path -> instructions per call for every model this run selected, from one
    child under callgrind; or why they could not be counted here."""
    models = sorted({item.callspec.params["case"].model for item in request.session.items
                     if item.originalname == "test_instructions_per_call_do_not_grow"})
    try:
        return measure(models, tmp_path_factory.mktemp("callgrind"))
    except callgrind.Unavailable as e:
        return e


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", instruction_cases())
def test_instructions_per_call_do_not_grow(case, path, gate, per_call):
    if isinstance(per_call, callgrind.Unavailable):
        pytest.skip(f"{per_call}; the per-call instruction counts were not measured")
    fraction, _ = tolerance = suite_policy.INSTRUCTION_TOLERANCE
    gate.at_most_baseline(
        "instructions_per_call", round(per_call[case.model][path]), tolerance=tolerance,
        details={"kind": "count", "tolerance": fraction, "calls": CALLS},
        explain=f"{path} forward of {case.model}, batch 1, one thread, mean of {CALLS} calls "
                "under callgrind: the growth is in what runs around the kernels")
