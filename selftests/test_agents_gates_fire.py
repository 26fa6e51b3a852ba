"""Mutation tests of the agents suite, through real runs in fresh processes: a changed
prompt template in each framework fails the matching snapshot test with a readable diff,
and a swallowed network call is caught and named."""

import pytest

pytestmark = pytest.mark.slow

AGENTS = "suites/agents"

# fault plugin, framework package, test that must fail, text the diff must show
TEMPLATES = [
    pytest.param("dspy_field_header", "dspy",
                 f"{AGENTS}/test_dspy.py::test_prompt_and_typed_prediction[predict-chat]",
                 "[[ # question # ]]", id="dspy-adapter-field-header"),
    pytest.param("haystack_prompt_template", "haystack",
                 f"{AGENTS}/test_haystack.py::test_prompt_builder_renders_documents",
                 "Be concise.", id="haystack-template"),
    pytest.param("langgraph_system_prompt", "langgraph",
                 f"{AGENTS}/test_langgraph.py::test_react_agent_trace_and_prompts",
                 "Think step by step.", id="langgraph-system-prompt"),
    pytest.param("crewai_prompt_slice", "crewai",
                 f"{AGENTS}/test_crewai.py::test_sequential_crew",
                 "Always be polite.", id="crewai-prompt-slice"),
]


@pytest.mark.parametrize("fault,package,nodeid,changed", TEMPLATES)
def test_changed_prompt_template_fails_its_snapshot(run_suite, fault, package, nodeid, changed):
    pytest.importorskip(package, reason=f"{package} not installed: `pip install -e '.[agents]'`")
    clean = run_suite(nodeid)
    assert clean.returncode == 0, clean.output
    run = run_suite(nodeid, "-vvv", faults=[fault])  # the whole diff (run_suite adds -q)
    assert run.returncode == 1, run.output
    assert run.report["outcomes"] == {"failed": 1}, run.output
    assert "1 snapshot failed" in run.output, run.output
    added = [line for line in run.output.splitlines()
             if line.lstrip("E ").startswith("+") and changed in line]
    assert added, f"the diff does not show the changed line ({changed!r}):\n{run.output}"


def test_swallowed_network_call_is_caught_and_named(run_suite):
    pytest.importorskip("dspy", reason="dspy not installed: `pip install -e '.[agents]'`")
    run = run_suite(f"{AGENTS}/test_dspy.py::test_prompt_and_typed_prediction[predict-chat]",
                    faults=["network_call_swallowed"])
    assert run.returncode == 1, run.output
    assert ("network access attempted, and refused by stackqual's network guard (tests run "
            "offline): connection to 127.0.0.2:443" in run.output), run.output
    assert "1 failed in" in run.output  # once: no teardown error besides the failure
