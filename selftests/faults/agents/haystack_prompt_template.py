"""Fault: Haystack's PromptBuilder renders with one extra line at the end of every prompt
(a changed template)."""

from selftests.faults import wrap


def pytest_configure(config):
    from haystack.components.builders import PromptBuilder

    def changing(original):
        def changed(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            return {**result, "prompt": result["prompt"] + "\nBe concise."}
        return changed

    wrap(PromptBuilder, "run", changing)
