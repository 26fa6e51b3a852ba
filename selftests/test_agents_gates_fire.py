"""Mutation tests of the agents suite, through real runs in fresh processes: a changed
prompt template in each framework fails the matching snapshot test with a readable diff; a
retrieval that newly returns a document and a signal handler installed at import block;
a swallowed network call is caught and named."""

import importlib.util

import pytest

from selftests.faults import Fault
from selftests.support import SuiteRunner
from suites.agents.cases import BY_ID

pytestmark = pytest.mark.slow

AGENTS = "suites/agents"

# Each fault's one message: the text of the changed line, which the diff must show added.
TEMPLATES = [
    Fault(id="dspy-adapter-field-header", plugins=("agents.dspy_field_header",),
          selection=(f"{AGENTS}/test_dspy.py::test_prompt_and_typed_prediction[predict-chat]",),
          messages=("[[ # question # ]]",)),
    Fault(id="haystack-template", plugins=("agents.haystack_prompt_template",),
          selection=(f"{AGENTS}/test_haystack.py::test_prompt_builder_renders_documents",),
          messages=("Be concise.",)),
    Fault(id="langgraph-system-prompt", plugins=("agents.langgraph_system_prompt",),
          selection=(f"{AGENTS}/test_langgraph.py::test_react_agent_trace_and_prompts",),
          messages=("Think step by step.",)),
    Fault(id="crewai-prompt-slice", plugins=("agents.crewai_prompt_slice",),
          selection=(f"{AGENTS}/test_crewai.py::test_sequential_crew",),
          messages=("Always be polite.",)),
]


def framework_of(fault: Fault):
    return BY_ID[fault.id.split("-")[0]]


@pytest.fixture(scope="module")
def template_runs(tmp_path_factory):
    """The run of each installed framework's row, all started at once (none depends on
    another, none judges a clock): the table takes about the time of its longest run."""
    with SuiteRunner(tmp_path_factory.mktemp("templates")) as runner:
        yield {fault.id: runner.start_fault(fault, "-vvv")  # the whole diff (run_suite adds -q)
               for fault in TEMPLATES if importlib.util.find_spec(framework_of(fault).module)}


@pytest.mark.parametrize("fault", [f.param() for f in TEMPLATES])
def test_changed_prompt_template_fails_its_snapshot(template_runs, fault):
    framework = framework_of(fault)
    pytest.importorskip(framework.module, reason=framework.not_installed)
    # No clean run of its own: the same test passes unfaulted in the suite's own run, and
    # the diff must show the fault's line added.
    run = SuiteRunner.fired(fault, template_runs[fault.id])
    assert "1 snapshot failed" in run.output, run.output
    [changed] = fault.messages
    added = [line for line in run.output.splitlines()
             if line.lstrip("E ").startswith("+") and changed in line]
    assert added, f"the diff does not show the changed line ({changed!r}):\n{run.output}"


def test_a_document_retrieval_newly_returns_blocks_on_the_ranking(run_suite):
    """Haystack 3.2 returned a document that matches no query term at rank 4, 3.4 does not:
    with top_k the whole corpus, the ranking snapshot shows such a change (it blocks)."""
    pytest.importorskip("haystack", reason=BY_ID["haystack"].not_installed)
    run = run_suite.fires(Fault(
        id="haystack-keeps-unmatched", plugins=("agents.haystack_keeps_unmatched",),
        selection=(f"{AGENTS}/test_haystack.py::test_bm25_ranks_documents",),
        messages=("ranking changed (blocks",)), "-vvv")
    assert any(line.lstrip("E ").startswith("+") and "rhine" in line
               for line in run.output.splitlines()), run.output


def test_a_signal_handler_installed_at_import_blocks(run_suite):
    pytest.importorskip("dspy", reason=BY_ID["dspy"].not_installed)
    run = run_suite.fires(Fault(
        id="signal-handler-at-import", plugins=("agents.signal_handler_at_import",),
        selection=(f"{AGENTS}/test_host_effects.py::test_importing_changes_the_host_process"
                   "[dspy]",),
        messages=("signals changed (blocks",)), "-vvv")
    assert any(line.lstrip("E ").startswith("+") and "SIGTERM" in line and "flush_then_exit"
               in line for line in run.output.splitlines()), run.output


def test_swallowed_network_call_is_caught_and_named(run_suite):
    pytest.importorskip("dspy", reason="dspy not installed: `pip install -e '.[agents]'`")
    run = run_suite(f"{AGENTS}/test_dspy.py::test_prompt_and_typed_prediction[predict-chat]",
                    faults=["agents.network_call_swallowed"])
    assert run.returncode == 1, run.output
    assert ("network access attempted, and refused by stackqual's network guard (tests run "
            "offline): connection to 127.0.0.2:443" in run.output), run.output
    assert "1 failed in" in run.output  # once: no teardown error besides the failure
