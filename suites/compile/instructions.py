"""Instructions counted by callgrind (stackqual.callgrind) in a child process, on one
thread, for what a clock on a shared 2-vCPU host cannot see under 10%:

- `compile`: a model's cold inductor compile on the Python side (dynamo's tracing,
  AOTAutograd, inductor's lowering and code generation), the first call of the compiled
  model with every cache off. The C++ compiler runs in a child process of its own, which
  callgrind does not follow (no --trace-children), so its work is not counted.
- `eager`, `compiled`: instructions per call of the eager and the compiled forward on a
  tiny input (batch 1): everything around the kernels (Python, dispatch, dynamo's guards,
  the compiled wrapper) with little compute.

The child: `python -m suites.compile.instructions MODEL` (run under callgrind by
`measure`, one child per model, alone as in a run of its own: importing torch under
valgrind takes 19 s). It pays inductor's one-off start-up costs on something tiny first,
uninstrumented; then it counts the compile, runs each path WARMUP times, and counts CALLS
calls of each. Fixed, so that the counts vary as little as they do (docs/timing.md,
"Instructions"; they are not exact): one thread, one compile thread, a fixed hash seed,
the AVX2 code paths, inductor's caches off and a fresh cache folder, the garbage collector
run before each count."""

from __future__ import annotations

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
    model from a child of its own under callgrind (as many at once as there are CPUs): a
    compile's count includes the first-use costs of what it is the first to use (in one
    child, the cnn compiled first counted 5,769 M and after the mlp 5,307 M, and the mlp
    after the others 609 M against 1,053 M alone), so a model's count must not depend on
    what a run selected before it."""
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
    torch.set_num_threads(1)
    torch._inductor.config.compile_threads = 1  # no worker pool: the same work on any CPU count
    spec = MODELS[model]
    with torch._inductor.config.patch(force_disable_caches=True):
        running.warm_inductor("cpu")  # imports and toolchain probes, not any model's compile
        module = spec.build().eval()
        inputs = spec.inputs(1)
        with spec.context(), torch.no_grad():
            forwards = {"eager": module,
                        "compiled": running.compile_model(module, "inductor", None)}
            gc.collect()
            with callgrind.counted(f"{spec.name} {COMPILE}"):
                forwards["compiled"](*inputs)  # the first call compiles
            for path in PATHS:
                for _ in range(WARMUP):
                    forwards[path](*inputs)
                gc.collect()
                with callgrind.counted(f"{spec.name} {path}"):
                    for _ in range(CALLS):
                        forwards[path](*inputs)


if __name__ == "__main__":
    main(sys.argv[1])
