"""Helpers for the self-tests: run the real suites in a subprocess, with fault plugins."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
# pytester's in-process runs unload the modules first imported during them; torch modules
# that register operators (torch._inductor.test_operators, imported by dynamo's trace
# rules) cannot be imported twice. Import them once, up front.
import torch._dynamo.trace_rules  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_gpu(monkeypatch):
    """Make torch.cuda report one GPU with the given name, capability and memory."""
    def install(name: str, major: int, minor: int, total_memory: int) -> None:
        props = SimpleNamespace(name=name, major=major, minor=minor, total_memory=total_memory)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=0: props)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    return install


# The start of a test module for in-process runs (pytester) of the timing gates: a
# busy-wait of known length, with microsecond precision that time.sleep does not have.
SPIN = """
import os, time

def spin(seconds):
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass
"""


def unguarded_environ() -> dict:
    """This process's environment without the network guard its children inherit
    (stackqual.netguard): for a run that must start as a top-level run would."""
    from stackqual import netguard

    env = {k: v for k, v in os.environ.items() if k != netguard.ENV}
    path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
            if p and p != str(netguard.CHILD_DIR)]
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    else:
        env.pop("PYTHONPATH", None)
    return env


def fixed_calibration(scale: float = 1.0, others_busy: float = 0.0) -> dict:
    """A calibration as stackqual.calibration.measure returns it, of a made-up steady
    machine whose yardsticks take `scale` times as long as the nominal ones."""
    from stackqual import calibration

    yardsticks = {y.name: {"median_s": 1e-3 * scale, "noise": 0.01, "rate": round(1 / scale, 3),
                           "unit": y.unit} for y in calibration.YARDSTICKS}
    return {"device": "cpu", "threads": 1, "yardsticks": yardsticks,
            "others_busy": others_busy, "seconds": 0.0}


@pytest.fixture
def steady_machine(monkeypatch):
    """For self-tests of the gates' logic in-process (pytester): this machine's calibration
    is fixed, so that the host's own speed phases (docs/timing.md) cannot make a check
    "not comparable". Returns a setter for the calibration the next runs measure."""
    from stackqual import calibration

    current = {"value": fixed_calibration()}
    monkeypatch.setattr(calibration, "measure", lambda device="cpu": current["value"])

    def set_calibration(value: dict) -> None:
        current["value"] = value
    return set_calibration


@dataclass
class SuiteRun:
    returncode: int
    output: str
    report: dict

    def check(self, metric: str) -> dict:
        [record] = [c for c in self.report["checks"] if c["metric"] == metric]
        return record


class SuiteRunner:
    """Runs pytest on the repository's suites in a fresh process (fresh dynamo state), with
    the committed baselines (read only) and the given fault plugins ("<suite>.<fault>",
    selftests/faults/); started as a top-level run (its own network guard, not this
    run's)."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.runs = 0

    def __call__(self, *args, faults=(), env=None) -> SuiteRun:
        self.runs += 1
        report_dir = self.tmp_path / f"report-{self.runs}"
        cmd = [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider",
               "--report-dir", str(report_dir)]
        for fault in faults:
            cmd += ["-p", f"selftests.faults.{fault}"]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
                              env={**unguarded_environ(), **(env or {})})
        reports = list(report_dir.glob("*.json"))
        output = proc.stdout + proc.stderr
        assert len(reports) == 1, f"no run report in {report_dir}; output:\n{output}"
        return SuiteRun(proc.returncode, output, json.loads(reports[0].read_text()))

    def fires(self, fault, *args, messages=()) -> SuiteRun:
        """Run a Fault row (selftests.faults.Fault): exactly its number of tests fail, and
        the output says each of its messages (and `messages`, figures read from a clean
        run)."""
        run = self(*fault.selection, *args, faults=fault.plugins, env=fault.env)
        assert run.returncode == 1, run.output
        assert run.report["outcomes"] == {"failed": fault.failures}, run.output
        for message in (*fault.messages, *messages):
            assert message in run.output, f"{message!r} not in the output:\n{run.output}"
        return run


@pytest.fixture
def run_suite(tmp_path) -> SuiteRunner:
    return SuiteRunner(tmp_path)
