"""Fault: LangGraph's prebuilt ReAct agent prepends a different system prompt from the one
it was given."""


def pytest_configure(config):
    import langgraph.prebuilt as prebuilt
    from langgraph.prebuilt import chat_agent_executor

    original = chat_agent_executor.create_react_agent

    def changed(model, tools, *args, prompt=None, **kwargs):
        return original(model, tools, *args, prompt=f"{prompt} Think step by step.", **kwargs)
    chat_agent_executor.create_react_agent = changed
    prebuilt.create_react_agent = changed
