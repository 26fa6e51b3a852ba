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
