"""CrewAI: a researcher-then-writer crew in sequential process on a scripted BaseLLM (every
prompt each agent got, task outputs, final output, the event sequence), a tool call, the
hierarchical process with a manager, and max_iter stopping a looping agent."""

import copy

import pytest

from .cases import BY_ID
from .isolation import home_in_state_dir

FRAMEWORK = BY_ID["crewai"]

# CrewAI warns about its own internals (function_calling_llm and the like), not our use.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

with home_in_state_dir(), FRAMEWORK.api():
    from crewai import Agent, Crew, Process, Task
    from crewai.events import crewai_event_bus
    from crewai.events.base_events import BaseEvent
    from crewai.llms.base_llm import BaseLLM
    from crewai.tools import tool



class ScriptedLLM(BaseLLM):
    """Replies from a script (the last one repeats) and records each call's messages. Every
    agent, the manager included, gets one, so nothing reaches a provider or needs a key."""

    def __init__(self, replies: list[str], name: str = "scripted"):
        super().__init__(model=name)
        self.replies, self.prompts = list(replies), []

    def call(self, messages, tools=None, callbacks=None, available_functions=None, **kwargs):
        # CrewAI mutates the list after the call: keep a copy of what was sent.
        self.prompts.append(copy.deepcopy(messages))
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def supports_function_calling(self) -> bool:
        return False  # the ReAct text protocol: what CrewAI itself prompts for

    def get_context_window_size(self) -> int:
        return 8192


def all_event_types(cls=BaseEvent):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_event_types(sub)


def run_recording_events(crew) -> tuple:
    events = []
    with crewai_event_bus.scoped_handlers():
        for event_type in set(all_event_types()):
            crewai_event_bus.on(event_type)(lambda source, event: events.append(event))
        output = crew.kickoff()
        crewai_event_bus.flush()
    # Handlers run on the bus's threads, so arrival order varies: order by emission.
    types = [e.type for e in sorted(events, key=lambda e: e.emission_sequence or 0)]
    # From the kickoff on: events before it (e.g. "default_env") come once per process.
    return output, types[types.index("crew_kickoff_started"):]


def prompts(llm) -> list:
    return [[{"role": m["role"], "content": m["content"]} for m in call] for call in llm.prompts]


def researcher_and_writer(llm_r, llm_w, tools=()):
    researcher = Agent(role="Researcher", goal="Find facts about a city",
                       backstory="You check every fact.", llm=llm_r, tools=list(tools))
    writer = Agent(role="Writer", goal="Write one clear sentence",
                   backstory="You write for a newspaper.", llm=llm_w)
    research = Task(description="Find the capital of France and its population.",
                    expected_output="Two facts.", agent=researcher)
    article = Task(description="Write one sentence from the research.",
                   expected_output="One sentence.", agent=writer, context=[research])
    return researcher, writer, research, article


def test_sequential_crew(snapshots_of):
    llm_r = ScriptedLLM(["Thought: I know this.\nFinal Answer: Paris; about 2.1 million people."])
    llm_w = ScriptedLLM(["Thought: I can write it.\nFinal Answer: Paris, home to 2.1 million "
                         "people, is the capital of France."])
    researcher, writer, research, article = researcher_and_writer(llm_r, llm_w)
    crew = Crew(agents=[researcher, writer], tasks=[research, article],
                process=Process.sequential)
    output, events = run_recording_events(crew)
    assert output.raw.startswith("Paris, home to 2.1 million people")
    snapshots_of.check(
        messages={"researcher": prompts(llm_r), "writer": prompts(llm_w)},
        outputs={"tasks": [t.raw for t in output.tasks_output], "final": output.raw},
        events=events)


@tool("population")
def population(city: str) -> str:
    """Population of a city, in thousands."""
    return str({"paris": 2103, "berlin": 3878}[city.lower()])


def test_tool_call(snapshots_of):
    llm_r = ScriptedLLM([
        'Thought: I need the population.\nAction: population\nAction Input: {"city": "Paris"}',
        "Thought: I have it.\nFinal Answer: Paris; 2103 thousand people."])
    llm_w = ScriptedLLM(["Thought: done\nFinal Answer: Paris has 2.1 million people."])
    researcher, writer, research, article = researcher_and_writer(llm_r, llm_w, [population])
    crew = Crew(agents=[researcher, writer], tasks=[research, article],
                process=Process.sequential)
    output, events = run_recording_events(crew)
    second_prompt = prompts(llm_r)[1]
    assert any("2103" in m["content"] for m in second_prompt), "the tool result was not sent"
    snapshots_of.check(messages=prompts(llm_r),
                       outputs=[t.raw for t in output.tasks_output], events=events)


def test_hierarchical_process_with_a_manager(snapshots_of):
    manager = ScriptedLLM(["Thought: I can answer from what I know.\nFinal Answer: "
                           "Paris is the capital of France."])
    worker = ScriptedLLM(["Thought: x\nFinal Answer: unused"])
    researcher, writer, research, article = researcher_and_writer(worker, worker)
    crew = Crew(agents=[researcher, writer], tasks=[research], process=Process.hierarchical,
                manager_llm=manager)
    output, events = run_recording_events(crew)
    assert output.raw == "Paris is the capital of France."
    snapshots_of.check(messages=prompts(manager), outputs=output.raw, events=events)


def test_max_iter_stops_a_looping_agent(snapshots_of):
    looping = ScriptedLLM(['Thought: once more.\nAction: population\n'
                           'Action Input: {"city": "Paris"}'])
    agent = Agent(role="Researcher", goal="Find facts", backstory="You never stop.",
                  llm=looping, tools=[population], max_iter=3)
    task = Task(description="Find the population of Paris.", expected_output="A number.",
                agent=agent)
    output, events = run_recording_events(Crew(agents=[agent], tasks=[task]))
    assert len(looping.prompts) <= 5, f"{len(looping.prompts)} LLM calls despite max_iter=3"
    snapshots_of.check(outputs={"llm_calls": len(looping.prompts), "final": output.raw},
                       events=events)
