"""Fault: LangGraph's prebuilt ReAct agent prepends a different system prompt from the one
it was given."""

from selftests.faults import wrap


def pytest_configure(config):
    import langgraph.prebuilt as prebuilt
    from langgraph.prebuilt import chat_agent_executor

    def changing(original):
        def changed(model, tools, *args, prompt=None, **kwargs):
            return original(model, tools, *args, prompt=f"{prompt} Think step by step.",
                            **kwargs)
        return changed

    wrap(chat_agent_executor, "create_react_agent", changing)
    prebuilt.create_react_agent = chat_agent_executor.create_react_agent
