"""The case table: models x compile configs x dtypes x devices x {inference, training}."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from .models import MODELS

# Modes are inductor options, so aot_eager appears once (mode default). On CPU,
# reduce-overhead compiles like default (CUDA graphs are skipped off-GPU); it stays in the
# CPU table so that an upgrade that breaks the mode's code path there is still seen.
CONFIGS = (
    ("aot_eager", "default"),
    ("inductor", "default"),
    ("inductor", "reduce-overhead"),
    ("inductor", "max-autotune-no-cudagraphs"),
)
DTYPES = {
    "cpu": (torch.float32, torch.bfloat16),
    "cuda": (torch.float32, torch.bfloat16, torch.float16),
}
SHORT = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
PHASES = ("inference", "training")


def device_marks(device: str) -> tuple:
    return (pytest.mark.gpu,) if device == "cuda" else ()


@dataclass(frozen=True)
class ParityCase:
    model: str
    backend: str
    mode: str
    dtype: torch.dtype
    device: str
    phase: str

    @property
    def training(self) -> bool:
        return self.phase == "training"

    @property
    def mode_arg(self) -> str | None:
        return None if self.mode == "default" else self.mode

    @property
    def id(self) -> str:
        return (f"{self.model}-{self.backend}-{self.mode}-{SHORT[self.dtype]}-{self.device}-"
                f"{self.phase}")


def parity_cases() -> list:
    cases = []
    for device, dtypes in DTYPES.items():
        for spec in MODELS.values():
            for backend, mode in CONFIGS:
                for dtype in dtypes:
                    for phase in PHASES:
                        if phase == "training" and spec.inference_only:
                            continue  # the reason is in the model table
                        case = ParityCase(spec.name, backend, mode, dtype, device, phase)
                        cases.append(pytest.param(case, id=case.id, marks=device_marks(device)))
    return cases


def model_device_cases() -> list:
    """model x device, for the dynamo checks (graph breaks, recompiles), which do not
    depend on dtype or compile backend."""
    return [pytest.param(name, device, id=f"{name}-{device}", marks=device_marks(device))
            for device in DTYPES for name in MODELS]


# The speed table: inference only (a training step's timing is dominated by the optimizer
# and backward scheduling this suite does not model), inductor only (aot_eager is a
# debugging backend). CPU: one mode and fp32, a short tier that runs in CI; reduce-overhead
# is left out there because it compiles exactly like default off-GPU (CUDA graphs skipped).
SPEED_CONFIGS = {
    "cpu": ((("inductor", "default"),), (torch.float32,)),
    "cuda": ((("inductor", "default"), ("inductor", "reduce-overhead")),
             (torch.float32, torch.bfloat16)),
}
# CPU speed cases compile and run on one thread. Measured on the shared 2-vCPU machine: with
# 2 threads the speedup of one case moved by up to 20% between processes (a busy neighbour
# slows inductor's OpenMP-parallel kernels more than eager's small, mostly single-threaded
# ops; /proc/stat showed no load), with 1 thread by at most 3% (6 processes).
SPEED_THREADS = {"cpu": 1, "cuda": None}  # None: the run's --threads


@dataclass(frozen=True)
class SpeedCase(ParityCase):
    threads: int | None = None

    @property
    def id(self) -> str:
        return super().id + (f"-{self.threads}thread" if self.threads else "")


def speed_cases() -> list:
    cases = []
    for device, (configs, dtypes) in SPEED_CONFIGS.items():
        for spec in MODELS.values():
            for backend, mode in configs:
                for dtype in dtypes:
                    case = SpeedCase(spec.name, backend, mode, dtype, device, "inference",
                                     SPEED_THREADS[device])
                    cases.append(pytest.param(case, id=case.id, marks=device_marks(device)))
    return cases
