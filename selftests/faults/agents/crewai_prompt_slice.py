"""Fault: CrewAI's "role_playing" prompt slice (the start of every agent's system prompt)
gains a sentence."""

from selftests.faults import wrap


def pytest_configure(config):
    from crewai.utilities.i18n import I18N

    def changing(original):
        def changed(self, slice: str) -> str:
            text = original(self, slice)
            return text + " Always be polite." if slice == "role_playing" else text
        return changed

    wrap(I18N, "slice", changing)
