"""Fault: DSPy's ChatAdapter writes its field headers as `[[ ## name ## ]]`; make it
`[[ # name # ]]` (a changed prompt template)."""


def pytest_configure(config):
    from dspy.adapters import chat_adapter

    original = chat_adapter.ChatAdapter.format_field_structure

    def changed(self, signature):
        return original(self, signature).replace("[[ ## ", "[[ # ").replace(" ## ]]", " # ]]")
    chat_adapter.ChatAdapter.format_field_structure = changed
