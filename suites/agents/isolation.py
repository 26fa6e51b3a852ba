"""Isolation of the agents suite, set up when it is first imported (by conftest.py, before
any framework): telemetry off, every framework's state (CrewAI's kickoff database and
storage, DSPy's cache) in a temporary folder rather than the user's home, LiteLLM's cost
map from its package rather than the network."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

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
# The environment as it is before any framework is imported: what a framework sets when
# imported in this process (CrewAI sets TOKENIZERS_PARALLELISM) would otherwise be in the
# environment of test_host_effects' fresh process already, and the import there would
# seem to set nothing (it did in every full run, where the framework tests come first).
ENVIRON = dict(os.environ)


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


def remove() -> None:
    """Remove the temporary folder (when the run ends)."""
    shutil.rmtree(STATE_DIR, ignore_errors=True)
