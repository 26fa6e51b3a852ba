"""The agents suite runs each framework for real, offline, with scripted LMs.

Isolation, set before any framework is imported: telemetry off, every framework's state
(CrewAI's kickoff database and storage, DSPy's cache) in a temporary folder rather
than the user's home, LiteLLM's cost map from its package rather than the network; and a
network guard that stays on under --online and also refuses child processes it cannot
follow (stackqual.netguard; the plugin fails the test that tried). The temporary
folder is removed when the run ends."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from stackqual import netguard, snapshots

STATE_DIR = Path(tempfile.mkdtemp(prefix="stackqual-agents-"))
os.environ.update({
    "HAYSTACK_TELEMETRY_ENABLED": "False",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "OTEL_SDK_DISABLED": "true",
    "ANONYMIZED_TELEMETRY": "False",
    "LITELLM_LOCAL_MODEL_COST_MAP": "true",
    "LANGCHAIN_TRACING_V2": "false",
    "DSPY_CACHEDIR": str(STATE_DIR / "dspy"),
    # CrewAI keeps its kickoff database under the XDG data folder and creates a folder
    # under the config one. The cache folder is left alone: other suites find Hugging Face
    # models there.
    "XDG_DATA_HOME": str(STATE_DIR / "data"),
    "XDG_CONFIG_HOME": str(STATE_DIR / "config"),
    "CREWAI_STORAGE_DIR": str(STATE_DIR / "crewai"),
})

SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__"


@contextlib.contextmanager
def home_in_state_dir():
    """For importing a framework that fixes paths under Path.home() at import time (CrewAI's
    settings file): HOME points into the temporary folder meanwhile."""
    before = os.environ.get("HOME")
    os.environ["HOME"] = str(STATE_DIR / "home")
    try:
        yield
    finally:
        if before is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = before


def pytest_unconfigure(config):
    shutil.rmtree(STATE_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def offline():
    """The network guard stays on here even under --online (no framework is meant to reach
    anything: the LMs are scripted), and a framework that starts a process the guard cannot
    follow (a non-Python program, a shell) fails the test, as a connection would."""
    with netguard.guard(), netguard.strict():
        yield


def not_installed(distribution: str) -> str:
    return (f"{distribution} not installed: the agents suite runs it for real; "
            "`pip install -e '.[agents]'` (the other frameworks still run)")


def framework_snapshot(request, framework: str, distribution: str):
    """syrupy's `snapshot`, as reviewable JSON in this framework version's folder."""
    extension = snapshots.extension_for(SNAPSHOTS, framework, distribution,
                                        request.config.option.update_snapshots)
    return request.getfixturevalue("snapshot").use_extension(extension)
