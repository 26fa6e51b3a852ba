"""Instructions per call of a model's eager and compiled forward on a tiny input (batch 1),
counted by callgrind (stackqual.callgrind) in a child process, on one thread: the
per-call cost of everything around the kernels (Python, dispatch, dynamo's guards, the
compiled wrapper) with little compute, which a clock on a shared 2-vCPU host cannot see
under 10%.

The child: `python -m suites.compile.instructions MODEL...` (run under callgrind by
`measure`, one child for every model a run selects: importing torch under valgrind takes
19 s): per model it compiles with inductor uninstrumented, runs each path WARMUP times,
then counts CALLS calls of each."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from stackqual import callgrind

from . import running
from .models import MODELS

CALLS, WARMUP = 50, 5
PATHS = ("eager", "compiled")
REPO = Path(__file__).resolve().parents[2]


def measure(models: list[str], folder: Path) -> dict[str, dict[str, float]]:
    """model -> path -> instructions per call, from one child under callgrind."""
    counts = callgrind.count(["-m", "suites.compile.instructions", *models], folder, cwd=REPO)
    return {model: {path: counts[f"{model} {path}"] / CALLS for path in PATHS}
            for model in models}


def main(models: list[str]) -> None:
    torch.set_num_threads(1)
    for name in models:
        # Alone, as in a run of its own: another model's compiled entries on a shared code
        # object (nn.Sequential.forward) would add their guards to every call.
        torch.compiler.reset()
        spec = MODELS[name]
        model = spec.build().eval()
        inputs = spec.inputs(1)
        with spec.context(), torch.no_grad():
            forwards = {"eager": model,
                        "compiled": running.compile_model(model, "inductor", None)}
            for path in PATHS:
                for _ in range(WARMUP):  # the compiled side compiles here
                    forwards[path](*inputs)
                with callgrind.counted(f"{name} {path}"):
                    for _ in range(CALLS):
                        forwards[path](*inputs)


if __name__ == "__main__":
    main(sys.argv[1:])
