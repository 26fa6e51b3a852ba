"""One way to run a suite's pytest in a process of its own, for the commands that judge what
it did (`stackqual qualify`, `stackqual ab`, `stackqual accept`): the command line, the stream
it writes, and whether the process broke.

- The command: `<python> -m pytest <targets>`, without the cache provider and the plugins
  no suite uses (NOT_LOADED), writing its run report,
  its stream (one JSON line per event, as the run goes: --report-stream) and its JUnit XML
  into one folder, each test under pytest-timeout (policy.TEST_TIMEOUT_S; the thread
  method interrupts a call blocked in CUDA), then the caller's pytest arguments.
- Broke: the process did not finish its run. Killed by a signal (a crash), a test past its
  timeout (pytest-timeout's stack dump in the log: it ends the process at once, so the
  stream has no end), pytest's own error (exit 2, 3 or 4), or a process that exited
  without the "end" event its plugin streams when it unconfigures. A run that ends, with
  failures or not, has not broken.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

from . import policy

# pytest plugins that packages of the stack install and no suite uses, not loaded in a suite
# process (pyproject.toml's addopts says the same for runs in this project): langsmith's
# (installed with langgraph and langchain-core; importing it and rewriting the asserts of its
# 227 modules cost 1.5 s of every process) and anyio's (no suite's test is async).
NOT_LOADED = ("langsmith_plugin", "anyio")
TIMEOUT_BANNER = re.compile(r"\+{5,} Timeout \+{5,}")  # pytest-timeout's dump header
STREAM, LOG, JUNIT = "stream.jsonl", "pytest.log", "junit.xml"


def plugins_off() -> list[str]:
    """The pytest arguments that leave out the cache provider and NOT_LOADED."""
    return [arg for name in ("cacheprovider", *NOT_LOADED) for arg in ("-p", f"no:{name}")]


def command(python: str, targets: list[str], folder: Path, pytest_args: list[str]) -> list[str]:
    """The pytest command of one suite process writing into `folder`."""
    return [python, "-m", "pytest", *targets, *plugins_off(),
            "--report-dir", str(folder), "--report-stream", str(folder / STREAM),
            "--junitxml", str(folder / JUNIT),
            f"--timeout={policy.TEST_TIMEOUT_S['default'][0]}", "--timeout-method=thread",
            *pytest_args]


def run_shown(cmd: list[str], cwd: Path, folder: Path, env: dict) -> int:
    """Run a suite process whose output is shown here as it comes and kept in folder/LOG
    (for `broke`); its exit status. Ctrl-C reaches the process too (one process group): this
    waits for it to end its run, as pytest does on an interrupt."""
    with open(folder / LOG, "w") as log, subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace") as proc:
        while True:
            try:
                for line in proc.stdout:
                    sys.stdout.write(line)
                    log.write(line)
                return proc.wait()
            except KeyboardInterrupt:
                continue  # the child got the same SIGINT; read on until it ends


def declarations_of(suites_dir: Path) -> list[str]:
    """The pytest arguments that make a suite process read its suites' declarations from
    `suites_dir` (the ini option stackqual_suites, stackqual.declared)."""
    return ["-o", f"stackqual_suites={suites_dir}"]


def read_events(path: Path) -> list:
    """The events of a suite's stream (--report-stream), up to a cut last line (bytes
    that are not UTF-8 are replaced, not fatal)."""
    return read_stream(path)[0]


def read_stream(path: Path) -> tuple[list, int]:
    """(the events of a stream up to its first line that is not JSON, how many non-empty
    lines it has): fewer events than lines less one means a line before the last is
    damaged (only a killed process's last line may be cut)."""
    events, lines = [], []
    if path.is_file():
        lines = [ln for ln in path.read_bytes().decode("utf-8", errors="replace").splitlines()
                 if ln.strip()]
        for line in lines:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return events, len(lines)


def broke_in(folder: Path, returncode: int | None) -> str:
    """Why the suite process that wrote `folder` (its stream and log) did not finish its
    run, or ""."""
    log = folder / LOG
    return broke(returncode, read_events(folder / STREAM),
                 log.read_text(errors="replace") if log.is_file() else "", folder)


def broke(returncode: int | None, events: list, log: str, folder: Path) -> str:
    """Why a suite's process did not finish its run, or ""."""
    finished = {e["nodeid"] for e in events if e.get("event") == "test"}
    unfinished = [e["nodeid"] for e in events
                  if e.get("event") == "start" and e["nodeid"] not in finished]
    during = f" during {unfinished[-1]}" if unfinished else ""
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        return f"the suite's process was killed by {name}{during} (a crash; see {folder})"
    if TIMEOUT_BANNER.search(log):
        return (f"a test ran past its timeout{during} (pytest-timeout; every thread's stack is "
                f"in {folder / LOG})")
    if returncode in (2, 3, 4):
        tail = [line for line in log.strip().splitlines() if line.strip()][-1:]
        meaning = {2: "interrupted", 3: "an internal error", 4: "a usage error"}[returncode]
        return f"pytest exited {returncode} ({meaning}): {' '.join(tail)[:300]}"
    if not any(e.get("event") == "end" for e in events):
        return f"the suite's process exited {returncode} before its run ended{during}"
    return ""
