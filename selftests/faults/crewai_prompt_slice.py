"""Fault: CrewAI's "role_playing" prompt slice (the start of every agent's system prompt)
gains a sentence."""


def pytest_configure(config):
    from crewai.utilities.i18n import I18N

    original = I18N.slice

    def changed(self, slice: str) -> str:
        text = original(self, slice)
        return text + " Always be polite." if slice == "role_playing" else text
    I18N.slice = changed
