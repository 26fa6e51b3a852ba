"""The plugin's entry point loads into every pytest run of an environment where stackqual
is installed; it must act only where asked (stackqual.plugin): another project's run is
left untouched, and `-p stackqual` turns it on there."""

import subprocess
import sys

from selftests.support import unguarded_environ
from stackqual import plugin

OTHER_PROJECT = """
import os
import sys

def test_untouched(request):
    assert "torch" not in sys.modules, "a plugin imported torch"
    assert "HF_HUB_OFFLINE" not in os.environ
    assert "TORCHINDUCTOR_CACHE_DIR" not in os.environ
    assert not request.config.pluginmanager.has_plugin("stackqual-active")
"""


def run(folder, *args):
    env = {k: v for k, v in unguarded_environ().items()
           if k not in (plugin.ENV, "HF_HUB_OFFLINE", "TORCHINDUCTOR_CACHE_DIR",
                        "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_another_projects_run_is_left_untouched(tmp_path):
    (tmp_path / "test_other.py").write_text(OTHER_PROJECT)
    done = run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stackqual profile" not in done.stdout
    assert not (tmp_path / "reports").exists() and not (tmp_path / ".stackqual-cache").exists()


def test_dash_p_stackqual_turns_it_on(tmp_path):
    (tmp_path / "test_other.py").write_text("def test_gate(gate):\n    gate.info('x', 1)\n")
    done = run(tmp_path, "-p", "stackqual", "--profile", "cpu-test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stackqual profile: cpu-test" in done.stdout
    assert list((tmp_path / "reports").glob("stackqual-cpu-test-*.json"))
