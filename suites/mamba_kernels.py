"""Which implementation transformers' Mamba really calls, and its pure-torch path on demand.

transformers binds each kernel function of its MambaMixer once, when modeling_mamba is
imported (`integrations/hub_kernels.py`, `use_kernel_func_from_hub_with_fallback`): to the
implementation of mamba_ssm (selective scan, state update, fused inner function) or of
causal_conv1d (conv1d and its update) wherever that package imports and exposes it, on
every device and under torch.compile too; else to its own pure-torch reference, the
wrapper's `__wrapped__`. So `import mamba_ssm` succeeding says nothing about what runs:
a default `pip install mamba-ssm` can lack its compiled `selective_scan_cuda` and the first
forward raises; one package can be present without the other; on CPU the packages' CUDA
kernels cannot run at all. The path is read from transformers' own binding and confirmed
with one tiny forward on the device (`path`).

The kernels take fp32/fp16/bf16 only, so an fp64 reference runs the pure-torch path
(`pure_torch`), and their backward accumulates with atomic adds: two runs differ, so it is
judged by the numerics bound rather than bitwise (`nondeterministic_backward`).
"""

from __future__ import annotations

import contextlib
import functools

import pytest

# MambaMixer's kernel functions, module globals of transformers' modeling_mamba.
FUNCTIONS = ("mamba_inner_fn", "mamba_selective_scan", "mamba_selective_state_update",
             "causal_conv1d_fn", "causal_conv1d_update")
FALLBACK = "pure-torch fallback"
KERNELS = "CUDA kernels (mamba_ssm, causal_conv1d)"


def _modeling_mamba():
    pytest.importorskip("transformers", reason="transformers not installed: "
                                               "`pip install -e '.[models]'`")
    from transformers.models.mamba import modeling_mamba
    return modeling_mamba


def bindings(module=None) -> dict[str, str]:
    """Each kernel function -> the package transformers bound it to ("mamba_ssm",
    "causal_conv1d") or "torch" (its pure-torch reference)."""
    module = module or _modeling_mamba()
    bound = {}
    for name in FUNCTIONS:
        fn = getattr(module, name, None)
        closure = dict(zip(fn.__code__.co_freevars,
                           (c.cell_contents for c in fn.__closure__ or ()))) if fn else {}
        bound[name] = closure.get("package", "torch") if closure.get(
            "is_new_implementation") else "torch"
    return bound


def label(bound: dict[str, str]) -> str:
    """How a measurement names the path: every function on the packages' kernels, none, or
    which is which."""
    packages = {p for p in bound.values() if p != "torch"}
    if not packages:
        return FALLBACK
    if all(p != "torch" for p in bound.values()):
        return KERNELS
    return "mixed: " + ", ".join(f"{fn} {p}" for fn, p in bound.items())


@functools.cache
def probe(device: str) -> str | None:
    """One tiny MambaModel forward on `device` with transformers' bindings: None when it
    ran, else the first line of the error."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.MambaConfig(vocab_size=16, hidden_size=16, state_size=4,
                                      num_hidden_layers=1, expand=2, conv_kernel=4)
    model = transformers.MambaModel(config).to(device).eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 8, dtype=torch.long, device=device))
    except Exception as e:  # a missing compiled extension, or a CUDA kernel given CPU tensors
        text = str(e).strip().splitlines()
        return f"{type(e).__name__}: {text[0][:200] if text else ''}"
    return None


def path(device: str, bound: dict[str, str] | None = None) -> str:
    """The Mamba path that runs on `device`, named for measurements. Where transformers
    calls package kernels that cannot run there, the test skips with the reason."""
    bound = bindings() if bound is None else bound
    packages = sorted({p for p in bound.values() if p != "torch"})
    if packages:
        problem = probe(device)
        if problem:
            pytest.skip(f"transformers' Mamba calls the {' and '.join(packages)} kernels "
                        f"(bound at import, on every device) and they cannot run on {device}: "
                        f"{problem}; build them for this machine (docs/install-cuda.md) or, "
                        "to measure the pure-torch path, uninstall them")
    return label(bound)


@contextlib.contextmanager
def pure_torch():
    """transformers' Mamba on its pure-torch reference path meanwhile (an fp64 reference:
    the kernels take fp32/fp16/bf16 only)."""
    module = _modeling_mamba()
    saved = {name: getattr(module, name) for name in FUNCTIONS}
    try:
        for name, fn in saved.items():
            setattr(module, name, getattr(fn, "__wrapped__", fn))
        yield
    finally:
        for name, fn in saved.items():
            setattr(module, name, fn)


def nondeterministic_backward(bound: dict[str, str] | None = None) -> str:
    """Why two backward passes may differ bitwise, or "" when they must not: mamba_ssm's
    and causal_conv1d's backward kernels accumulate gradients with atomic adds."""
    bound = bindings() if bound is None else bound
    packages = sorted({p for p in bound.values() if p != "torch"})
    if not packages:
        return ""
    return (f"the {' and '.join(packages)} backward kernels accumulate with atomic adds, so "
            "two eager runs differ; the gradients are judged by the fp64 bound instead")
