"""Mutation tests: each compile-suite gate fails, through a real run of the suite, when the
fault it exists to catch is injected (selftests/faults/), with a message that says why."""

import pytest

pytestmark = pytest.mark.slow

PARITY = "suites/compile/test_parity.py::test_compiled_matches_eager_against_fp64"
CASES = ["mlp-inductor-default-fp32-cpu-inference", "mlp-inductor-default-bf16-cpu-inference"]


def test_perturbed_compiled_output_fails_parity_beyond_the_bound_only(run_suite):
    clean = run_suite(*(f"{PARITY}[{case}]" for case in CASES))
    assert clean.returncode == 0, clean.output
    bounds = {c["check_id"]: c["details"]["output"]["bound"]
              for c in clean.report["checks"] if c["metric"] == "parity_vs_fp64"}
    assert len(bounds) == 2
    for check_id, bound in bounds.items():
        case = check_id.split("[")[1].split("]")[0]
        nodeid = f"{PARITY}[{case}]"
        within = run_suite(nodeid, faults=["perturb_compiled_output"],
                           env={"STACKQUAL_FAULT_OFFSET": repr(0.5 * bound)})
        assert within.returncode == 0, f"offset 0.5 x bound should pass:\n{within.output}"
        beyond = run_suite(nodeid, faults=["perturb_compiled_output"],
                           env={"STACKQUAL_FAULT_OFFSET": repr(2.0 * bound)})
        assert beyond.returncode == 1, f"offset 2 x bound should fail:\n{beyond.output}"
        assert f"{case}]: compiled (backend=inductor, mode=default" in beyond.output
        assert "is further from the fp64 reference than eager allows" in beyond.output
        assert "output: rmse(candidate, fp64) = " in beyond.output
        assert beyond.check("parity_vs_fp64")["verdict"] == "fail"


def test_added_graph_break_fails_the_graph_break_check(run_suite):
    run = run_suite("suites/compile/test_dynamo.py::test_graph_breaks_do_not_grow",
                    "-k", "mlp-cpu", faults=["add_graph_break"])
    assert run.returncode == 1, run.output
    assert run.report["outcomes"] == {"failed": 2}
    assert "graph_breaks = 1, more than the baseline 0" in run.output
    assert "Break reasons: 1x Call to `torch._dynamo.graph_break()`" in run.output


def test_break_that_leaves_no_graph_fails_the_capture_check(run_suite):
    run = run_suite("suites/compile/test_dynamo.py::test_graph_breaks_do_not_grow",
                    "-k", "mlp-cpu", faults=["nested_graph_break"])
    assert run.returncode == 1, run.output
    assert run.report["outcomes"] == {"failed": 2}
    assert "dynamo captured no graph at all, so the compiled model runs entirely eager" \
        in run.output


def test_model_recompiling_on_every_batch_size_fails_the_recompile_check(run_suite):
    run = run_suite("suites/compile/test_dynamo.py::test_recompiles_do_not_grow",
                    "-k", "mlp-cpu", faults=["recompile_every_batch"])
    assert run.returncode == 1, run.output
    assert run.report["outcomes"] == {"failed": 2}
    assert "dynamic=None: dynamo's recompile limit (8) was hit at batch size" in run.output
    assert "dynamic=True: dynamo's recompile limit (8) was hit at batch size" in run.output
    assert "silently runs eager" in run.output
