"""Haystack: BM25 ranking, prompt rendering, a retrieval pipeline on its MockChatGenerator
and the pipeline's YAML round trip, and an Agent with one tool (messages, tool calls,
exit)."""

import yaml

from .cases import BY_ID

FRAMEWORK = BY_ID["haystack"]

with FRAMEWORK.api():
    from haystack import Document, Pipeline
    from haystack.components.builders import ChatPromptBuilder, PromptBuilder
    from haystack.components.generators.chat import MockChatGenerator
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
    from haystack.dataclasses import ChatMessage, ToolCall
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack.document_stores.types import DuplicatePolicy

DOCUMENTS = [
    ("paris", "Paris is the capital of France."),
    ("berlin", "Berlin is the capital of Germany and its largest city."),
    ("wine", "France exports wine, cheese and aircraft."),
    ("rhine", "The Rhine flows through Germany and the Netherlands."),
]



def store() -> InMemoryDocumentStore:
    # An explicit index: the default is a random uuid, different in every run. Stores of one
    # index share their documents process-wide, hence OVERWRITE.
    documents = InMemoryDocumentStore(index="stackqual")
    documents.write_documents([Document(id=i, content=c) for i, c in DOCUMENTS],
                              policy=DuplicatePolicy.OVERWRITE)
    return documents


def chat(message: ChatMessage) -> dict:
    return {"role": str(message.role.value), "text": message.text,
            "tool_calls": [{"tool": c.tool_name, "arguments": c.arguments, "id": c.id}
                           for c in message.tool_calls],
            "tool_results": [{"result": r.result, "error": r.error,
                              "origin": r.origin.tool_name} for r in message.tool_call_results]}


def test_bm25_ranks_documents(snapshots_of):
    # top_k is the whole corpus: which documents come back at all is part of the ranking.
    # "rhine" matches no query term; Haystack 3.2 returned it at rank 4, 3.4 drops it, a
    # retrieval change a top_k of 3 hid.
    retriever = InMemoryBM25Retriever(document_store=store(), top_k=len(DOCUMENTS))
    ranked = retriever.run(query="capital of France")["documents"]
    assert ranked[0].id == "paris"
    snapshots_of.check(ranking=[d.id for d in ranked], scores=[d.score for d in ranked])


def test_prompt_builder_renders_documents(snapshots_of):
    builder = PromptBuilder(template="Context:\n{% for d in documents %}- {{ d.content }}\n"
                                     "{% endfor %}Question: {{ question }}\nAnswer:",
                            required_variables=["question"])
    documents = [Document(id=i, content=c) for i, c in DOCUMENTS[:2]]
    prompt = builder.run(documents=documents, question="Which city is larger?")["prompt"]
    snapshots_of.check(messages=prompt)


def rag_pipeline() -> Pipeline:
    template = [ChatMessage.from_system("Answer from the context only."),
                ChatMessage.from_user("Context:\n{% for d in documents %}[{{ d.id }}] "
                                      "{{ d.content }}\n{% endfor %}Question: {{ question }}")]
    pipeline = Pipeline()
    pipeline.add_component("retriever", InMemoryBM25Retriever(document_store=store(), top_k=2))
    pipeline.add_component("prompt", ChatPromptBuilder(template=template,
                                                       required_variables=["question"]))
    pipeline.add_component("llm", MockChatGenerator(responses="Paris [paris]."))
    pipeline.connect("retriever.documents", "prompt.documents")
    pipeline.connect("prompt.prompt", "llm.messages")
    return pipeline


def test_pipeline_with_mock_generator(snapshots_of):
    question = "What is the capital of France?"
    inputs = {"retriever": {"query": question}, "prompt": {"question": question}}
    result = rag_pipeline().run(inputs, include_outputs_from={"prompt"})
    assert result["llm"]["replies"][0].text == "Paris [paris]."
    snapshots_of.check(messages=[chat(m) for m in result["prompt"]["prompt"]],
                       outputs=[chat(m) for m in result["llm"]["replies"]])


def canonical(pipeline_yaml: str) -> dict:
    """The YAML as data, connections sorted: loads() then dumps() reorders them."""
    data = yaml.safe_load(pipeline_yaml)
    data["connections"] = sorted(data["connections"], key=lambda c: (c["sender"], c["receiver"]))
    return data


def test_pipeline_yaml_round_trip(snapshots_of):
    text = rag_pipeline().dumps()
    again = Pipeline.loads(text).dumps()
    assert canonical(again) == canonical(text)
    snapshots_of.check(config=canonical(text))


def test_agent_calls_its_tool_and_exits_on_text(snapshots_of):
    from haystack.components.agents import Agent
    from haystack.tools import create_tool_from_function

    def population(city: str) -> int:
        """Population of a city, in thousands."""
        return {"paris": 2103, "berlin": 3878}[city.lower()]

    generator = MockChatGenerator(responses=[
        ChatMessage.from_assistant(tool_calls=[
            ToolCall(tool_name="population", arguments={"city": "Berlin"}, id="call-1")]),
        "Berlin has about 3.9 million people.",
    ])
    agent = Agent(chat_generator=generator, tools=[create_tool_from_function(population)],
                  system_prompt="You answer with numbers.", exit_conditions=["text"])
    agent.warm_up()
    result = agent.run(messages=[ChatMessage.from_user("How many people live in Berlin?")])
    messages = [chat(m) for m in result["messages"]]
    assert messages[-1]["text"] == "Berlin has about 3.9 million people."
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert result.get("exit_reason") == "text", sorted(result)
    snapshots_of.check(
        messages=[m for m in messages if m["role"] != "tool"],
        tool_calls=[{"calls": m["tool_calls"], "results": m["tool_results"]} for m in messages
                    if m["tool_calls"] or m["tool_results"]],
        outputs={"exit_reason": result["exit_reason"], "keys": sorted(result)})
