"""Fault: a framework whose import installs a SIGTERM handler (as CrewAI's telemetry did):
the host-effects child (suites/agents/host_effects.py) imports, after the framework,
selftests/faults/agents/installs_sigterm.py, which does exactly that."""

import subprocess

from selftests.faults import wrap

MODULE = "selftests.faults.agents.installs_sigterm"


def pytest_configure(config):
    def importing_more(original):
        def run(cmd, *args, **kwargs):
            if isinstance(cmd, list) and "suites.agents.host_effects" in cmd:
                cmd = [*cmd, MODULE]
            return original(cmd, *args, **kwargs)
        return run

    wrap(subprocess, "run", importing_more)
