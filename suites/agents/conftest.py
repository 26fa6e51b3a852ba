"""The agents suite runs each framework for real, offline, with scripted LMs.

Isolation (isolation.py), set before any framework is imported: telemetry off, every
framework's state in a temporary folder rather than the user's home, LiteLLM's cost map
from its package rather than the network; and a network guard that stays on under
--online and also refuses child processes it cannot follow (stackqual.netguard; the plugin
fails the test that tried). The temporary folder is removed when the run ends."""

from pathlib import Path

import pytest

from stackqual import netguard, snapshots

from . import isolation

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
def snapshot_json(request):
    """syrupy's `snapshot`, as reviewable JSON in the folder of this framework's version
    (the test module's FRAMEWORK row, cases.py)."""
    framework = request.module.FRAMEWORK
    extension = snapshots.extension_for(SNAPSHOTS, framework.id, framework.distribution,
                                        request.config.option.update_snapshots)
    return request.getfixturevalue("snapshot").use_extension(extension)
