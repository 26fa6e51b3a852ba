"""Fault: Haystack's PromptBuilder renders with one extra line at the end of every prompt
(a changed template)."""


def pytest_configure(config):
    from haystack.components.builders import PromptBuilder

    original = PromptBuilder.run

    def changed(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        return {**result, "prompt": result["prompt"] + "\nBe concise."}
    PromptBuilder.run = changed
