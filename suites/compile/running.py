"""How one path (eager, compiled, fp64 reference) is run and what it produces: named
output tensors and, for training, every parameter's gradient."""

from __future__ import annotations

import zlib

import torch
from torch import nn

# Name in the case table -> what torch.compile gets. aot_eager runs dynamo + AOTAutograd
# with eager kernels, so when inductor fails and aot_eager passes the fault is in inductor.
BACKENDS = {"aot_eager": "aot_eager", "inductor": "inductor"}


def compile_model(module: nn.Module, backend: str, mode: str | None):
    return torch.compile(module, backend=BACKENDS[backend], mode=mode)


_WARMED: set[str] = set()


def warm_inductor(device: str) -> None:
    """Pay once per process and device what the first inductor compile there pays besides
    the model's own work, on something tiny: imports and C++ toolchain probes (about 6 s
    on the 2-core CPU); on CUDA also Triton's start-up and its first kernel build. A cold
    compile time measured after it is the model's."""
    if device in _WARMED:
        return
    with torch._inductor.config.patch(force_disable_caches=True):
        torch.compile(lambda x: (x * 2).relu())(torch.ones(8, device=device))
    if device == "cuda":
        torch.cuda.synchronize()
    torch.compiler.reset()
    _WARMED.add(device)


def to_case(inputs: tuple, dtype: torch.dtype, device: str) -> tuple:
    """Floating inputs take the case's dtype; integer inputs (token ids, masks) stay."""
    return tuple(t.to(device, dtype) if t.is_floating_point() else t.to(device) for t in inputs)


def named_outputs(out) -> dict[str, torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return {"output": out}
    if isinstance(out, dict):  # transformers ModelOutput is an OrderedDict
        return {f"output.{k}": v for k, v in out.items() if isinstance(v, torch.Tensor)}
    if isinstance(out, (tuple, list)):
        return {f"output[{i}]": v for i, v in enumerate(out) if isinstance(v, torch.Tensor)}
    raise TypeError(f"cannot name the outputs of type {type(out).__name__}")


def cotangent(name: str, like: torch.Tensor, case_dtype: torch.dtype) -> torch.Tensor:
    """A fixed random upstream gradient for output `name`, rounded to the case's dtype first so
    that the fp64 reference back-propagates exactly the numbers the low-precision paths do."""
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    return torch.randn(like.shape, generator=g).to(case_dtype).to(like.device, like.dtype)


def run(module: nn.Module, forward, inputs: tuple, *, training: bool,
        case_dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Run `forward` (the module itself, or its compiled wrapper) once. Training: forward in
    train mode, then backward from fixed cotangents; parameter gradients are returned as
    `grad[<parameter name>]` next to the outputs."""
    module.train(training)
    if not training:
        with torch.no_grad():
            return {k: v.clone() for k, v in named_outputs(forward(*inputs)).items()}
    module.zero_grad(set_to_none=True)
    outputs = {k: v for k, v in named_outputs(forward(*inputs)).items() if v.is_floating_point()}
    torch.autograd.backward(list(outputs.values()),
                            [cotangent(k, v, case_dtype) for k, v in outputs.items()])
    result = {k: v.detach().clone() for k, v in outputs.items()}
    for name, p in module.named_parameters():
        if p.grad is not None:
            result[f"grad[{name}]"] = p.grad.detach().clone()
    return result
