"""The compile suite's tables: models x compile configs x dtypes x devices x {inference,
training} for parity, model x device for the dynamo counters, and the speed tier. Each row
is a frozen dataclass with an `id` (stackqual.cases)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stackqual.cases import dtype_name, param, timing_threads

from .models import MODELS

# Modes are inductor options, so aot_eager appears once (mode default). On CPU,
# reduce-overhead compiles like default (CUDA graphs are skipped off-GPU); it stays in the
# CPU table in fp32 (both phases) so that an upgrade that breaks the mode's code path there
# is still seen; its bf16 rows would repeat default's bf16 rows (about 70 s of CI).
CONFIGS = (
    ("aot_eager", "default"),
    ("inductor", "default"),
    ("inductor", "reduce-overhead"),
    ("inductor", "max-autotune-no-cudagraphs"),
)
# On CPU the Mamba (transformers' pure-torch path: a selective scan of many small ops) is
# compiled with mode default only: max-autotune's CPU GEMM templates find no GEMM worth
# tuning in it and reduce-overhead compiles like default, while its rows took about 85 s of
# each CI run. The other five models keep every mode; on CUDA the Mamba keeps them all.
DTYPES = {
    "cpu": (torch.float32, torch.bfloat16),
    "cuda": (torch.float32, torch.bfloat16, torch.float16),
}
PHASES = ("inference", "training")


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
        return (f"{self.model}-{self.backend}-{self.mode}-{dtype_name(self.dtype)}-"
                f"{self.device}-{self.phase}")


# The GPU qualification tier (`pytest -m gpu`, six minutes on one H100, docs/gpu.md) keeps
# the CUDA rows that prove what a new machine or stack must do: BERT and Mamba compiled in
# bf16 match eager against fp64, and the MLP with reduce-overhead (CUDA graphs) matches and
# beats eager. Every other CUDA row is `gpu_full` (nightly): training, the other modes and
# dtypes, compile times, graph breaks and recompiles, which the CPU tier covers too.
def qualifies(case) -> bool:
    bf16_inference = (case.dtype == torch.bfloat16 and case.backend == "inductor"
                      and case.phase == "inference")
    return bf16_inference and (
        (case.model in ("bert", "mamba") and case.mode == "default" and
         not isinstance(case, SpeedCase))
        or (case.model == "mlp" and case.mode == "reduce-overhead"))


def parity_cases() -> list:
    return [param(case, full=not qualifies(case)) for case in (
            ParityCase(model=spec.name, backend=backend, mode=mode, dtype=dtype,
                       device=device, phase=phase)
            for device, dtypes in DTYPES.items()
            for spec in MODELS.values()
            for backend, mode in CONFIGS
            for dtype in dtypes
            for phase in PHASES
            if not (phase == "training" and spec.inference_only)  # reason: model table
            and not (device == "cpu" and mode == "reduce-overhead"
                     and dtype != torch.float32)  # reason: CONFIGS above
            and not (device == "cpu" and spec.name == "mamba"
                     and mode != "default"))]  # reason: the note above DTYPES


@dataclass(frozen=True)
class ModelDevice:
    """model x device, for the dynamo checks (graph breaks, recompiles), which do not
    depend on dtype or compile backend."""

    model: str
    device: str

    @property
    def id(self) -> str:
        return f"{self.model}-{self.device}"


# The per-call instruction counts (test_instructions.py): the launch-bound MLP, whose call
# is mostly overhead, the CNN and the encoder layer; on CPU only (callgrind). bert and mamba
# are left out for time: each model's child compiles under valgrind (about 15-20 s).
INSTRUCTION_MODELS = ("mlp", "cnn", "encoder-layer")


def instruction_cases() -> list:
    return [param(ModelDevice(model=name, device="cpu")) for name in INSTRUCTION_MODELS]


def model_device_cases() -> list:
    """On CUDA all `gpu_full`: graph breaks and recompiles are the CPU tier's to catch."""
    return [param(ModelDevice(model=name, device=device), full=True)
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


@dataclass(frozen=True)
class SpeedCase(ParityCase):
    threads: int | None = None  # stackqual.cases.timing_threads

    @property
    def id(self) -> str:
        return super().id + (f"-{self.threads}thread" if self.threads else "")


def speed_cases(compile_time: bool = False) -> list:
    """The speed table; for the cold compile times (`compile_time`) every CUDA row is
    `gpu_full`."""
    return [param(case, full=compile_time or not qualifies(case)) for case in (
            SpeedCase(model=spec.name, backend=backend, mode=mode, dtype=dtype,
                      device=device, phase="inference", threads=timing_threads(device))
            for device, (configs, dtypes) in SPEED_CONFIGS.items()
            for spec in MODELS.values()
            for backend, mode in configs
            for dtype in dtypes)]
