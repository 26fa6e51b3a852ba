"""LangGraph: a ReAct agent with one tool on a scripted chat model (the message trace and
the prompts the model saw), the graph's mermaid drawing, a checkpointer's state history,
resuming after a failure, an interrupt and its resume, and the recursion limit."""

import warnings

import pytest

from .cases import BY_ID

FRAMEWORK = BY_ID["langgraph"]

with FRAMEWORK.api():
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.errors import GraphRecursionError
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.types import Command, interrupt



class ScriptedChatModel(GenericFakeChatModel):
    """Answers from a script and records every prompt. The stock fake models do not bind
    tools; binding returns the model itself (the script already holds the tool calls)."""

    seen: list = []

    def bind_tools(self, tools, **kwargs):
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append([message_data(m) for m in messages])
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def scripted(*replies) -> ScriptedChatModel:
    return ScriptedChatModel(messages=iter(replies), seen=[])


def message_data(m) -> dict:
    data = {"type": m.type, "content": m.content, "id": m.id}
    if getattr(m, "tool_calls", None):
        data["tool_calls"] = [{"name": c["name"], "args": c["args"], "id": c["id"]}
                              for c in m.tool_calls]
    if m.type == "tool":
        data["tool_call_id"] = m.tool_call_id
    return data


@tool
def population(city: str) -> int:
    """Population of a city, in thousands."""
    return {"paris": 2103, "berlin": 3878}[city.lower()]


def react_agent(model):
    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():  # deprecated for langchain.agents.create_agent
        warnings.simplefilter("ignore")
        return create_react_agent(model, [population], prompt="You answer with numbers.")


def test_react_agent_trace_and_prompts(snapshots_of):
    model = scripted(
        AIMessage(content="", id="ai-1", tool_calls=[
            {"name": "population", "args": {"city": "Berlin"}, "id": "call-1"}]),
        AIMessage(content="About 3.9 million.", id="ai-2"))
    result = react_agent(model).invoke(
        {"messages": [HumanMessage("How many people live in Berlin?", id="human-1")]})
    trace = [message_data(m) for m in result["messages"]]
    assert [m["type"] for m in trace] == ["human", "ai", "tool", "ai"]
    assert trace[2]["content"] == "3878"
    snapshots_of.check(messages=model.seen, outputs=trace)


def test_graph_drawing(snapshots_of):
    mermaid = react_agent(scripted(AIMessage("x"))).get_graph().draw_mermaid()
    assert "tools" in mermaid and "agent" in mermaid
    snapshots_of.check(drawing=mermaid.splitlines())


def counting_graph(fail_at: set, checkpointer):
    """draft -> review -> publish; a node named in `fail_at` raises once."""
    def step(name):
        def node(state: MessagesState):
            if name in fail_at:
                fail_at.discard(name)
                raise RuntimeError(f"{name} failed")
            return {"messages": [AIMessage(f"{name} done", id=f"{name}-msg")]}
        return node

    graph = StateGraph(MessagesState)
    for name in ("draft", "review", "publish"):
        graph.add_node(name, step(name))
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "review")
    graph.add_edge("review", "publish")
    graph.add_edge("publish", END)
    return graph.compile(checkpointer=checkpointer)


def history(app, config) -> list:
    """The checkpoints, oldest first: what ran, what comes next, and the parent links."""
    return [{"step": s.metadata.get("step"), "source": s.metadata.get("source"),
             "next": list(s.next), "messages": [m.content for m in s.values.get("messages", [])],
             "checkpoint": s.config["configurable"]["checkpoint_id"],
             "parent": s.parent_config and s.parent_config["configurable"]["checkpoint_id"]}
            for s in reversed(list(app.get_state_history(config)))]


def test_checkpointer_state_history(snapshots_of):
    app = counting_graph(set(), InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    app.invoke({"messages": [HumanMessage("go", id="human-1")]}, config)
    steps = history(app, config)
    assert [s["next"] for s in steps][-1] == []
    snapshots_of.check(events=steps)


def test_resume_after_failure_from_the_last_checkpoint(snapshots_of):
    fail_at = {"review"}
    app = counting_graph(fail_at, InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    with pytest.raises(RuntimeError, match="review failed"):
        app.invoke({"messages": [HumanMessage("go", id="human-1")]}, config)
    assert app.get_state(config).next == ("review",)
    result = app.invoke(None, config)  # resume: draft is not run again
    contents = [m.content for m in result["messages"]]
    assert contents == ["go", "draft done", "review done", "publish done"]
    snapshots_of.check(events=history(app, config))


def test_interrupt_and_resume(snapshots_of):
    def ask(state: MessagesState):
        answer = interrupt({"question": "Publish?"})
        return {"messages": [AIMessage(f"human said {answer}", id="ai-answer")]}

    graph = StateGraph(MessagesState)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    app = graph.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    first = app.invoke({"messages": [HumanMessage("draft ready", id="human-1")]}, config)
    interrupts = [i.value for i in first["__interrupt__"]]
    assert interrupts == [{"question": "Publish?"}]
    final = app.invoke(Command(resume="yes"), config)
    assert final["messages"][-1].content == "human said yes"
    after = [message_data(m) for m in final["messages"]]
    snapshots_of.check(outputs={"interrupts": interrupts, "after_resume": after})


def test_recursion_limit_stops_a_looping_agent(snapshots_of):
    """The prebuilt agent ends itself one step before the limit (its `remaining_steps`);
    a plain graph that loops raises GraphRecursionError."""
    model = scripted(*(AIMessage(content="", id=f"ai-{i}", tool_calls=[
        {"name": "population", "args": {"city": "Paris"}, "id": f"call-{i}"}])
        for i in range(50)))
    result = react_agent(model).invoke({"messages": [HumanMessage("loop", id="human-1")]},
                                       {"recursion_limit": 6})
    trace = [message_data(m) for m in result["messages"]]
    assert len(model.seen) < 6, "the agent kept calling the model"
    snapshots_of.check(outputs={"trace": trace, "model_calls": len(model.seen)})

    graph = StateGraph(MessagesState)
    graph.add_node("again", lambda state: {"messages": []})
    graph.add_edge(START, "again")
    graph.add_edge("again", "again")
    with pytest.raises(GraphRecursionError, match="Recursion limit of 6 reached"):
        graph.compile().invoke({"messages": []}, {"recursion_limit": 6})
