"""Mutation tests: each compile-suite gate fails, through a real run of the suite, when the
fault it exists to catch is injected (selftests/faults/), with a message that says why."""

import pytest

from selftests.faults import Fault
from selftests.support import SuiteRunner

pytestmark = pytest.mark.slow

PARITY = "suites/compile/test_parity.py::test_compiled_matches_eager_against_fp64"
CASES = ["mlp-inductor-default-fp32-cpu-inference", "mlp-inductor-default-bf16-cpu-inference"]


def test_perturbed_compiled_output_fails_parity_beyond_the_bound_only(run_suite):
    clean = run_suite(*(f"{PARITY}[{case}]" for case in CASES))
    assert clean.returncode == 0, clean.output
    bounds = {c["check_id"]: c["details"]["output"]["bound"]
              for c in clean.report["checks"] if c["metric"] == "parity_vs_fp64"}
    assert len(bounds) == 2
    started = {}  # every faulted run at once: none depends on another's result
    for check_id, bound in bounds.items():
        case = check_id.split("[")[1].split("]")[0]
        started[case] = [run_suite.start(f"{PARITY}[{case}]",
                                         faults=["compile.perturb_compiled_output"],
                                         env={"STACKQUAL_FAULT_OFFSET": repr(scale * bound)})
                         for scale in (0.5, 2.0)]
    for case, (within, beyond) in started.items():
        within, beyond = within.result(), beyond.result()
        assert within.returncode == 0, f"offset 0.5 x bound should pass:\n{within.output}"
        assert beyond.returncode == 1, f"offset 2 x bound should fail:\n{beyond.output}"
        assert f"{case}]: compiled (backend=inductor, mode=default" in beyond.output
        assert "is further from the fp64 reference than eager allows" in beyond.output
        assert "output: rmse(candidate, fp64) = " in beyond.output
        assert beyond.check("parity_vs_fp64")["verdict"] == "fail"


GRAPH_BREAKS = ("suites/compile/test_dynamo.py::test_graph_breaks_do_not_grow", "-k", "mlp-cpu")
RECOMPILES = ("suites/compile/test_dynamo.py::test_recompiles_do_not_grow", "-k", "mlp-cpu")
DETERMINISM = (f"{PARITY}[mlp-aot_eager-default-fp32-cpu-inference]",)
FAST_PATH = ("suites/compile/test_parity.py::test_eager_takes_the_path_under_test",)

FAULTS = [
    Fault(id="extra-graph-break", plugins=("compile.add_graph_break",), selection=GRAPH_BREAKS,
          failures=2, messages=(
              "graph_breaks = 1, more than the baseline 0 recorded on profile",
              "Break reasons: 1x Call to `torch._dynamo.graph_break()`")),
    Fault(id="break-that-leaves-no-graph", plugins=("compile.nested_graph_break",),
          selection=GRAPH_BREAKS, failures=2, messages=(
              "dynamo captured no graph at all, so the compiled model runs entirely eager",)),
    Fault(id="extra-recompile", plugins=("compile.branch_on_batch_parity",),
          selection=RECOMPILES, failures=2, messages=(
              "dynamic=None]: recompiles = 2, more than the baseline 1",
              "dynamic=True]: recompiles = 1, more than the baseline 0")),
    Fault(id="recompile-limit-hit", plugins=("compile.recompile_every_batch",),
          selection=RECOMPILES, failures=2, messages=(
              "dynamic=None: dynamo's recompile limit (8) was hit at batch size",
              "dynamic=True: dynamo's recompile limit (8) was hit at batch size",
              "past it the compiled model silently runs eager")),
    Fault(id="non-deterministic-eager", plugins=("compile.nondeterministic_model",),
          selection=DETERMINISM, messages=(
              "eager is not deterministic, so compiled cannot be judged: output differs "
              "between two eager runs",)),
    Fault(id="fast-path-not-taken", plugins=("compile.fastpath_off",), selection=FAST_PATH,
          messages=("eager inference did not run aten::_transformer_encoder_layer_fwd",)),
]


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory):
    """Every row's run, started at once (none depends on another's result, and no row judges
    a clock): the table takes about the time of its longest run."""
    with SuiteRunner(tmp_path_factory.mktemp("faults")) as runner:
        yield {fault.id: runner.start_fault(fault) for fault in FAULTS}


@pytest.mark.parametrize("fault", [f.param() for f in FAULTS])
def test_gate_fires(fault_runs, fault):
    SuiteRunner.fired(fault, fault_runs[fault.id])
