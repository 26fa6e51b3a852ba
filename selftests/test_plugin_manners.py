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


# A framework that, like CrewAI's telemetry, installs its own stop-signal handlers when it is
# imported: SIGTERM then exits 0, and SIGINT is swallowed.
GRABS_SIGNALS = """
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
signal.signal(signal.SIGINT, lambda *a: None)

def test_first(gate):
    gate.info("x", 1)

def test_waits():
    time.sleep(60)

def test_after():  # a run that took SIGTERM for a failed test would go on here
    time.sleep(60)
"""


def test_a_terminated_run_ends_promptly_and_non_zero_whatever_a_framework_installed(tmp_path):
    """Defect: importing CrewAI replaced the process's SIGTERM, SIGINT and SIGHUP handlers;
    a run of the self-tests ignored SIGTERM and went on launching processes."""
    import signal
    import time

    (tmp_path / "test_grabs.py").write_text(GRABS_SIGNALS)
    stream = tmp_path / "stream.jsonl"
    env = {k: v for k, v in unguarded_environ().items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p",
                             "stackqual", "--profile", "cpu-test", "--report-stream",
                             str(stream), "-p", "no:faulthandler"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "test_waits" not in (
            stream.read_text() if stream.exists() else ""):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    took = time.monotonic()
    try:
        output = proc.communicate(timeout=30)[0]
    finally:
        proc.kill()
    assert time.monotonic() - took < 10, output
    assert proc.returncode != 0, output
