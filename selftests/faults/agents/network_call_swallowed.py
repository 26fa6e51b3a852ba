"""Fault: DSPy's DummyLM phones home before answering, and swallows the error, as
telemetry code does. The "home" is 127.0.0.2, declared a stand-in for a remote host
(stackqual.netguard): were the guard to fail, nothing would leave the machine."""

import os
import socket

from selftests.faults import wrap
from stackqual import netguard

HOME = ("127.0.0.2", 443)


def pytest_configure(config):
    from dspy.utils import DummyLM

    os.environ[netguard.STANDINS_ENV] = HOME[0]

    def phoning_home(original):
        def phoning(self, *args, **kwargs):
            try:
                socket.create_connection(HOME, timeout=1)
            except OSError:
                pass
            return original(self, *args, **kwargs)
        return phoning

    wrap(DummyLM, "__call__", phoning_home)
