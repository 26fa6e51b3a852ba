"""The agents suite runs each framework for real, offline, with scripted LMs.

Isolation (isolation.py), set before any framework is imported: telemetry off, every
framework's state in a temporary folder rather than the user's home, LiteLLM's cost map
from its package rather than the network; and a network guard that stays on under
--online and also refuses child processes it cannot follow (stackqual.netguard; the plugin
fails the test that tried). The temporary folder is removed when the run ends."""

from pathlib import Path

import pytest

from stackqual import incompatible, netguard, snapshots

from . import isolation, policy

SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__"


def pytest_unconfigure(config):
    isolation.remove()


@pytest.fixture(autouse=True)
def offline():
    """The network guard stays on here even under --online (no framework is meant to reach
    anything: the LMs are scripted), and a framework that starts a process the guard cannot
    follow (a non-Python program, a shell) fails the test, as a connection would."""
    with netguard.guard(), netguard.strict():
        yield


@pytest.fixture
def snapshots_of(request, gate) -> snapshots.Snapshots:
    """This test's snapshots, one reviewable JSON file per kind (policy.SNAPSHOT_KINDS), in
    the folder of the installed version of the test module's FRAMEWORK (cases.py)."""
    framework = request.module.FRAMEWORK
    return snapshots.Snapshots(request, SNAPSHOTS, framework.id, framework.distribution,
                               policy.SNAPSHOT_KINDS, gate, policy.SOURCE)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A call that no longer fits a framework's signature (a renamed or removed argument)
    is reported as "API incompatible", naming the framework's version."""
    report = yield
    framework = getattr(item.module, "FRAMEWORK", None)
    if report.failed and call.excinfo is not None and framework is not None:
        verdict = incompatible.signature_break(call.excinfo.value, framework.distribution)
        if verdict:
            report.longrepr = f"{verdict}\n\n{report.longreprtext}"
    return report
