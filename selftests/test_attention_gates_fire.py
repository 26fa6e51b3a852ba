"""Mutation tests: the attention suite's gates fail, through real runs of the suite, when
the fault they exist to catch is injected (selftests/faults/)."""

import pytest

pytestmark = pytest.mark.slow

DISPATCH = "suites/attention/test_dispatch.py::test_backend_follows_the_rules_and_the_profile_table"
NUMERICS = "suites/attention/test_numerics.py::test_backend_is_as_close_to_fp64_as_math"


def test_forced_math_fails_the_dispatch_check_naming_case_and_backends(run_suite):
    run = run_suite(f"{DISPATCH}[plain-bf16-cpu]", f"{DISPATCH}[dropout-bf16-cpu]",
                    faults=["attention.sdpa_forced_math"])
    assert run.returncode == 1, run.output
    assert run.report["outcomes"] == {"failed": 1, "passed": 1}, run.output
    assert ("test_backend_follows_the_rules_and_the_profile_table[plain-bf16-cpu]: SDPA ran "
            "'math' for bf16 plain (mask none, is_causal False") in run.output
    assert "where the documented rules allow ['flash_cpu']" in run.output
    [check] = [c for c in run.report["checks"]
               if c["metric"] == "documented_rule" and c["verdict"] == "fail"]
    assert check["measured"] == "math"


def test_forced_math_against_the_recorded_table_fails_as_fused_to_math(run_suite):
    """With the documented rules switched off, the committed profile table alone must
    catch a fused kernel going to math."""
    run = run_suite(f"{DISPATCH}[plain-fp32-cpu]",
                    faults=["attention.sdpa_rules_allow_math", "attention.sdpa_forced_math"])
    assert run.returncode == 1, run.output
    assert "backend is 'math', the baseline recorded on profile" in run.output
    assert "is 'flash_cpu'" in run.output
    assert "A fused kernel going to math fails" in run.output


@pytest.mark.parametrize("case", ["plain-bf16-cpu-flash_cpu", "causal-fp32-cpu-flash_cpu"])
def test_perturbed_backend_fails_numerics_beyond_the_bound_only(run_suite, case):
    clean = run_suite(f"{NUMERICS}[{case}]")
    assert clean.returncode == 0, clean.output
    bound = clean.check("error_vs_fp64")["details"]["output"]["bound"]
    within, beyond = (  # both at once: neither depends on the other's result
        run_suite.start(f"{NUMERICS}[{case}]", faults=["attention.perturb_attention_backend"],
                        env={"STACKQUAL_FAULT_OFFSET": repr(scale * bound)})
        for scale in (0.25, 2.0))
    within, beyond = within.result(), beyond.result()
    assert within.returncode == 0, f"offset 0.25 x bound should pass:\n{within.output}"
    assert beyond.returncode == 1, beyond.output
    assert "flash_cpu (" in beyond.output
    assert "is further from the fp64 reference than the math backend in" in beyond.output
    assert "output: max|candidate - fp64| = " in beyond.output
