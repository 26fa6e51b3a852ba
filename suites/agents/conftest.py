"""The agents suite runs each framework for real, offline, with scripted LMs.

Isolation, set before any framework is imported: telemetry off, every framework's state
(CrewAI's kickoff database, Haystack's config, DSPy's cache) in a temporary folder rather
than the user's home, LiteLLM's cost map from its package rather than the network; and a
network guard around every test."""

import os
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
    "XDG_DATA_HOME": str(STATE_DIR / "data"),
    "XDG_CONFIG_HOME": str(STATE_DIR / "config"),
    "XDG_CACHE_HOME": str(STATE_DIR / "cache"),
    "CREWAI_STORAGE_DIR": str(STATE_DIR / "crewai"),
})

SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__"


@pytest.fixture(autouse=True)
def no_network():
    """Any connection beyond loopback fails the test and names the host, even where the
    framework caught the refusal."""
    with netguard.guard() as attempts:
        yield attempts
    if attempts:
        pytest.fail(f"network access attempted (tests run offline): {', '.join(attempts)}",
                    pytrace=False)


def not_installed(distribution: str) -> str:
    return (f"{distribution} not installed: the agents suite runs it for real; "
            "`pip install -e '.[agents]'` (the other frameworks still run)")


def framework_snapshot(request, framework: str, distribution: str):
    """syrupy's `snapshot`, as reviewable JSON in this framework version's folder."""
    extension = snapshots.extension_for(SNAPSHOTS, framework, distribution,
                                        request.config.option.update_snapshots)
    return request.getfixturevalue("snapshot").use_extension(extension)
