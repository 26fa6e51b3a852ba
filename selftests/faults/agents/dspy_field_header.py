"""Fault: DSPy's ChatAdapter writes its field headers as `[[ ## name ## ]]`; make it
`[[ # name # ]]` (a changed prompt template)."""

from selftests.faults import wrap


def pytest_configure(config):
    from dspy.adapters import chat_adapter

    def changing(original):
        def changed(self, signature):
            return (original(self, signature).replace("[[ ## ", "[[ # ")
                    .replace(" ## ]]", " # ]]"))
        return changed

    wrap(chat_adapter.ChatAdapter, "format_field_structure", changing)
