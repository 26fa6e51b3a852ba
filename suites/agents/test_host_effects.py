"""What importing each framework changes in the host process (host_effects.py: signal
handlers, environment variables, loggers, threads, atexit hooks, warnings filters), read
in a fresh process and snapshot-tested per framework version like its prompts. A handler
of SIGTERM or SIGINT installed at import blocks; the rest is reviewed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stackqual import incompatible, snapshots

from . import isolation, policy
from .cases import FRAMEWORKS
from .conftest import SNAPSHOTS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=lambda f: f.id)
def test_importing_changes_the_host_process(request, gate, framework):
    if incompatible.installed(framework.distribution) is None:
        pytest.skip(framework.not_installed)
    if incompatible.installed("syrupy") is None:
        pytest.skip("syrupy not installed: `pip install -e '.[agents]'`")
    # The suite's isolation (telemetry off, state in a temporary folder), as it was before
    # any framework was imported here; HOME too, for a framework that writes under it when
    # imported (CrewAI's settings).
    env = {**isolation.ENVIRON, "HOME": str(isolation.STATE_DIR / "home")}
    done = subprocess.run([sys.executable, "-m", "suites.agents.host_effects",
                           *(framework.imports or (framework.module,))],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert done.returncode == 0, f"importing {framework.module} failed:\n{done.stderr}"
    found = json.loads(done.stdout.strip().splitlines()[-1])
    signals = found.pop("signals", {})
    snapshots.Snapshots(request, SNAPSHOTS, framework.id, framework.distribution,
                        policy.SNAPSHOT_KINDS, gate, policy.SOURCE).check(
        signals=signals, host=found)
