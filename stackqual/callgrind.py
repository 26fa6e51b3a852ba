"""Instruction counts under valgrind's callgrind: a cost that no other process, no CPU
frequency and no neighbour on a shared host changes, so a gate on it judges on any runner.

A child process runs under `valgrind --tool=callgrind --instr-atstart=no`: uninstrumented
until asked (about 4x slower than native; importing torch took 19 s on the 2-vCPU CI
machine), and a small helper built from valgrind's own header (`valgrind/callgrind.h`
client requests) switches instrumentation on around exactly the code measured, zeroes the
counters and dumps them under a label (`counted`). torch's own wrapper,
`torch.utils.benchmark.Timer.collect_callgrind`, instruments its child from the start
(importing torch alone took 60 s) and toggles collection only
(`torch._C._valgrind_toggle`), so it is not used here.

Parent: `count(argv, folder)` runs `python argv` so and returns {label: instructions}.
Child: `with counted(label): ...` around the code measured. `Unavailable` says why a
machine cannot count (no valgrind, no header, no C compiler), for a skip that says how to
fix it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HELPER = r"""#include <valgrind/callgrind.h>
void stackqual_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void stackqual_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void stackqual_zero(void) { CALLGRIND_ZERO_STATS; }
void stackqual_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
int stackqual_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
"""
ENV = "STACKQUAL_CALLGRIND_HELPER"  # the helper library's path, for the child
# What the child inherits of this process's environment: what finds its tools, and what
# carries this run's guard and faults (PYTHONPATH, STACKQUAL_*). No more, so that a count
# does not depend on what else the environment holds (100 more variables added 1.3 M
# instructions, 0.13%, to a compile's count: subprocesses copy the environment).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "LD_LIBRARY_PATH", "CC", "CXX",
             "PYTHONPATH")
TRIGGER = "desc: Trigger: Client Request: "


class Unavailable(Exception):
    """This machine cannot count instructions; the message says why and how to fix it."""


def helper(folder: Path) -> Path:
    """The client-request helper, built in `folder` with the system's C compiler."""
    if shutil.which("valgrind") is None:
        raise Unavailable("valgrind not installed: instruction counts need callgrind "
                          "(`apt install valgrind`)")
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise Unavailable("no C compiler (cc) to build the callgrind helper with")
    library = folder / f"stackqual-callgrind-{hashlib.sha1(HELPER.encode()).hexdigest()[:8]}.so"
    if not library.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        source = library.with_suffix(".c")
        source.write_text(HELPER)
        built = subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(library),
                                str(source)], capture_output=True, text=True)
        if built.returncode != 0:
            raise Unavailable(f"the callgrind helper did not build (valgrind's header "
                              f"valgrind/callgrind.h is in valgrind's dev package): "
                              f"{built.stderr.strip().splitlines()[-1:]}")
    return library


def count(argv: list[str], folder: Path, *, cwd: Path | None = None, env: dict | None = None,
          timeout: float = 900) -> dict[str, int]:
    """Run `python argv` under callgrind, in this environment's INHERITED variables and
    `env`; the instructions of each block the child wrapped in `counted(label)`, by label."""
    library = helper(folder)
    for old in folder.glob("callgrind.out.*"):
        old.unlink()
    # One file per thread (`-01` the main one, which runs the blocks counted): another
    # thread's work during a block (a library's monitor thread waking) is not counted.
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
           f"--callgrind-out-file={folder / 'callgrind.out'}.%p", sys.executable, *argv]
    inherited = {k: v for k, v in os.environ.items()
                 if k in INHERITED or k.startswith("STACKQUAL_")}
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**inherited, **(env or {}), ENV: str(library)})
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if not line.startswith("==")]
        raise RuntimeError(f"`{' '.join(argv)}` under callgrind exited {done.returncode}: "
                           + " | ".join(tail[-5:]))
    counts = {}
    for dump in sorted(folder.glob("callgrind.out.*-01")):  # the main thread's dumps
        text = dump.read_text(errors="replace")
        label = next((line[len(TRIGGER):] for line in text.splitlines()
                      if line.startswith(TRIGGER)), None)
        total = re.search(r"^summary: (\d+)$", text, re.MULTILINE)
        if label is not None and total:
            counts[label] = int(total.group(1))
    return counts


@contextlib.contextmanager
def counted(label: str):
    """In the child: count the instructions of the block, dumped under `label`."""
    library = ctypes.CDLL(os.environ[ENV])
    if not library.stackqual_on_valgrind():
        raise RuntimeError("not running under valgrind: start this through "
                           "stackqual.callgrind.count")
    library.stackqual_start()
    library.stackqual_zero()
    try:
        yield
    finally:
        library.stackqual_dump(label.encode())
        library.stackqual_stop()
