"""Instructions counted by callgrind (stackqual.callgrind) in a child process, on one
thread, for what a clock on a shared 2-vCPU host cannot see under 10%:

- `compile`: a model's cold inductor compile on the Python side (dynamo's tracing,
  AOTAutograd, inductor's lowering and code generation), the first call of the compiled
  model with every cache off, in a process that compiled the same model once before
  (uncounted), as pytorch's pr_time_benchmarks count theirs: a process's first compile
  also pays imports and probes whose cost depends on the machine's state (a missing .pyc
  added 9%), not on the compiler's work. The C++ compiler runs in a child process of its
  own, which callgrind does not follow (no --trace-children), so its work is not counted.
- `eager`, `compiled`: instructions per call of the eager and the compiled forward on a
  tiny input (batch 1): everything around the kernels (Python, dispatch, dynamo's guards,
  the compiled wrapper) with little compute.

The child: `python -m suites.compile.instructions MODEL` (run under callgrind by
`measure`, one child per model, alone as in a run of its own: importing torch under
valgrind takes 19 s). It compiles and calls the model once uninstrumented, resets dynamo,
counts the compile of a new instance in a fresh cache, runs each path WARMUP times, and
counts CALLS calls of each. Fixed, so that the counts vary as little as they do
(docs/timing.md, "Instructions"; they are not exact): one thread, one compile thread, a
fixed hash seed, the AVX2 code paths, inductor's caches off and fresh cache folders, the
garbage collector run before and off during each count, the child's environment
(stackqual.callgrind.INHERITED), the main thread's instructions only."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from stackqual import callgrind

from . import running
from .models import MODELS

CALLS, WARMUP = 50, 5
PATHS = ("eager", "compiled")  # per call
COMPILE = "compile"  # the cold compile, counted once
REPO = Path(__file__).resolve().parents[2]
# Python's string hashes order sets and dicts that the compiler iterates: fixed, so that a
# count is the same in every process. Valgrind cannot run AVX-512 instructions: on an
# AVX-512 host, inductor's kernels (vectorized for the ISA /proc/cpuinfo names, compiled
# with -march=native) stopped callgrind at their first ("vex amd64->IR: unhandled
# instruction bytes: 0x62 ..."). So ATen's kernels and inductor's vector code take the AVX2
# paths (ATEN_CPU_CAPABILITY, read by both: torch/_inductor/cpu_vec_isa.py, pick_vec_isa)
# and the C++ compiler targets x86-64-v3 (AVX2, FMA: TORCHINDUCTOR_CPP_MARCH,
# torch/_inductor/cpp_builder.py, _get_cpu_arch_cflags): the same code, and the same
# counts, on every x86-64 machine with AVX2, whatever its profile (docs/timing.md).
SETTINGS = {"PYTHONHASHSEED": "0", "ATEN_CPU_CAPABILITY": "avx2",
            "TORCHINDUCTOR_CPP_MARCH": "x86-64-v3"}


def measure(models: list[str], folder: Path) -> dict[str, dict[str, float]]:
    """model -> `compile` (instructions) and each of PATHS (instructions per call), each
    model from a child of its own under callgrind (as many at once as there are CPUs), so
    that a model's counts do not depend on what else a run selected (a first compile in a
    child that had compiled the mlp counted the cnn 5,307 M against 5,769 M alone)."""
    def one(model: str) -> dict[str, float]:
        place = folder / model
        with tempfile.TemporaryDirectory(prefix="inductor-", dir=folder) as cache:
            counts = callgrind.count(["-m", "suites.compile.instructions", model], place,
                                     cwd=REPO,
                                     env={**SETTINGS, "TORCHINDUCTOR_CACHE_DIR": cache})
        return {COMPILE: counts[f"{model} {COMPILE}"],
                **{path: counts[f"{model} {path}"] / CALLS for path in PATHS}}

    with ThreadPoolExecutor(max_workers=max(1, min(len(models), os.cpu_count() or 1))) as pool:
        return dict(zip(models, pool.map(one, models)))


def main(model: str) -> None:
    from torch._inductor.utils import fresh_cache  # a new cache folder, in-memory caches cleared

    torch.set_num_threads(1)
    torch._inductor.config.compile_threads = 1  # no worker pool: the same work on any CPU count
    spec = MODELS[model]
    inputs = spec.inputs(1)
    cache = os.environ.get("TORCHINDUCTOR_CACHE_DIR")  # fresh caches are folders in it
    with torch._inductor.config.patch(force_disable_caches=True), spec.context(), \
            torch.no_grad():
        # Uncounted: a whole compile of the same model first, which pays what only a
        # process's first compile pays (imports, toolchain probes, lazy tables).
        with fresh_cache(dir=cache):
            running.compile_model(spec.build().eval(), "inductor", None)(*inputs)
        torch._dynamo.reset()
        module = spec.build().eval()
        forwards = {"eager": module, "compiled": running.compile_model(module, "inductor", None)}
        with fresh_cache(dir=cache), counted(f"{spec.name} {COMPILE}"):
            forwards["compiled"](*inputs)  # the first call compiles
        for path in PATHS:
            for _ in range(WARMUP):
                forwards[path](*inputs)
            with counted(f"{spec.name} {path}"):
                for _ in range(CALLS):
                    forwards[path](*inputs)


@contextlib.contextmanager
def counted(label: str):
    """callgrind.counted with the garbage collector run before and off during the count,
    as pytorch's pr_time_benchmarks do (benchmarks/dynamo/pr_time_benchmarks: `_prepare`)."""
    gc.collect()
    gc.disable()
    try:
        with callgrind.counted(label):
            yield
    finally:
        gc.enable()


if __name__ == "__main__":
    main(sys.argv[1])
