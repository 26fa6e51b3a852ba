"""Helpers of the self-tests: the repository root, spinning for a known time, processes
that load the machine, a child environment without this run's network guard, a made-up
steady calibration, and runs of the real suites in fresh processes with fault plugins
(selftests/faults/)."""

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# A candidate stack's environment with two faults in torch itself
# (selftests/faults/compile/in_the_stack/): 5% more compile work and a compiled wrapper 8%
# heavier per call, for the instructions counted in a child process under callgrind.
STACK_FAULTS = {"PYTHONPATH": str(REPO / "selftests" / "faults" / "compile" / "in_the_stack"),
                "STACKQUAL_STACK_FAULTS": "more_compile_work,heavier_wrapper"}


# The start of a test module for in-process runs (pytester) of the timing gates: a
# busy-wait of known length, with microsecond precision that time.sleep does not have.
SPIN = """
import os, time

def spin(seconds):
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass
"""


@contextmanager
def co_runners(count: int, limit_s: int = 600):
    """`count` processes spinning on the CPUs (a loaded machine); each also stops by itself
    after limit_s."""
    spin = f"import time\nend = time.time() + {limit_s}\nwhile time.time() < end: pass"
    procs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


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


def processes_naming(text: str) -> list[int]:
    """The pids whose command line contains `text` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().decode(
                    errors="replace").replace("\0", " "):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def fixed_calibration(scale: float = 1.0, others_busy: float = 0.0) -> dict:
    """A calibration as stackqual.calibration.measure returns it, of a made-up steady
    machine whose yardsticks take `scale` times as long as the nominal ones."""
    from stackqual import calibration

    yardsticks = {y.name: {"median_s": 1e-3 * scale, "noise": 0.01, "rate": round(1 / scale, 3),
                           "unit": y.unit} for y in calibration.YARDSTICKS}
    return {"device": "cpu", "threads": 1, "yardsticks": yardsticks,
            "others_busy": others_busy, "seconds": 0.0}


@dataclass
class Started:
    """A suite run under way (SuiteRunner.start)."""
    proc: subprocess.Popen
    report_dir: Path
    output_file: Path

    def result(self, timeout: float = 900) -> "SuiteRun":
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        output = self.output_file.read_text(errors="replace")
        reports = list(self.report_dir.glob("*.json"))
        assert len(reports) == 1, f"no run report in {self.report_dir}; output:\n{output}"
        return SuiteRun(self.proc.returncode, output, json.loads(reports[0].read_text()))


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
    run's). `start` starts one and returns at once: runs started together keep each other's
    CPUs busy (a loaded machine) and take the time of the longest, not of all."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.runs = 0
        self.started: list[Started] = []

    def __enter__(self) -> "SuiteRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """End the runs still under way (a test that failed, or was deselected, before it
        waited for them), so that none goes on loading the machine under a later test."""
        for started in self.started:
            if started.proc.poll() is None:
                started.proc.kill()
                started.proc.wait()

    def __call__(self, *args, faults=(), env=None) -> SuiteRun:
        return self.start(*args, faults=faults, env=env).result()

    def start(self, *args, faults=(), env=None) -> "Started":
        self.runs += 1
        report_dir = self.tmp_path / f"report-{self.runs}"
        cmd = [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider",
               "--report-dir", str(report_dir)]
        for fault in faults:
            cmd += ["-p", f"selftests.faults.{fault}"]
        output = self.tmp_path / f"output-{self.runs}.log"
        with open(output, "w") as out:  # a file, not a pipe: runs started together never block
            proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                    text=True, env={**unguarded_environ(), **(env or {})})
        self.started.append(Started(proc, report_dir, output))
        return self.started[-1]

    def fires(self, fault, *args, messages=()) -> SuiteRun:
        """Run a Fault row (selftests.faults.Fault): exactly its number of tests fail, and
        the output says each of its messages (and `messages`, figures read from a clean
        run)."""
        return self.fired(fault, self.start_fault(fault, *args), messages)

    def start_fault(self, fault, *args) -> Started:
        """A Fault row's run, started (judge it with `fired`)."""
        return self.start(*fault.selection, *args, faults=fault.plugins, env=fault.env)

    @staticmethod
    def fired(fault, started: Started, messages=()) -> SuiteRun:
        run = started.result()
        assert run.returncode == 1, run.output
        assert run.report["outcomes"] == {"failed": fault.failures}, run.output
        for message in (*fault.messages, *messages):
            assert message in run.output, f"{message!r} not in the output:\n{run.output}"
        return run
