"""Fault: DSPy's DummyLM phones home before answering, and swallows the error, as
telemetry code does."""

import socket


def pytest_configure(config):
    from dspy.utils import DummyLM

    original = DummyLM.__call__

    def phoning(self, *args, **kwargs):
        try:
            socket.create_connection(("telemetry.example.com", 443), timeout=1)
        except OSError:
            pass
        return original(self, *args, **kwargs)
    DummyLM.__call__ = phoning
