"""FlashAttention-3/4 behind SDPA: `torch.nn.attention.activate_flash_attention_impl`
swaps the flash backend's implementation. Where torch offers it (list_flash_attention_impls)
and the hardware takes it, it must run, agree with fp64 as closely as the math backend in
the same dtype allows, report itself as active, and restoring must bring back the default
implementation bit for bit."""

import pytest
import torch
from torch.nn import attention

from stackqual import numerics

from . import backends
from . import policy as suite_policy
from stackqual.cases import dtype_name

from .cases import BY_NAME, make_inputs

# impl -> (package it needs, what it needs of the hardware)
IMPLS = {"FA3": ("flash_attn_interface", "Hopper (sm90)"),
         "FA4": ("flash_attn.cute", "Hopper or Blackwell (sm90/sm100)")}


@pytest.mark.gpu
@pytest.mark.min_sm(9, 0)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=dtype_name)
@pytest.mark.parametrize("impl", list(IMPLS))
def test_flash_impl_runs_agrees_and_restores(impl, dtype, gate):
    offered = getattr(attention, "list_flash_attention_impls", lambda: [])()
    if impl not in offered:
        pytest.skip(f"torch {torch.__version__} does not offer {impl} "
                    f"(list_flash_attention_impls() = {offered})")
    package, hardware = IMPLS[impl]
    pytest.importorskip(package, reason=f"{impl} needs the {package} package and {hardware}; "
                                        "not installed here")
    inputs = make_inputs(BY_NAME["causal"], dtype, "cuda")
    with torch.no_grad():
        default = backends.run("flash", inputs)
        reference = backends.run("math", inputs.to(torch.float64))
        trusted = backends.run("math", inputs)
        try:
            attention.activate_flash_attention_impl(impl)
        except (RuntimeError, ImportError, ValueError) as e:
            pytest.skip(f"activate_flash_attention_impl({impl!r}) refused this machine "
                        f"({torch.cuda.get_device_name()}): {e}")
        try:
            active = attention.current_flash_attention_impl()
            swapped = backends.run("flash", inputs)
        finally:
            attention.restore_flash_attention_impl()
        restored = backends.run("flash", inputs)
    gate.require("reports_active", active == impl, measured=active, expected=impl,
                 source="torch.nn.attention.current_flash_attention_impl",
                 message=f"after activate_flash_attention_impl({impl!r}) the current impl "
                         f"is {active!r}")
    j = numerics.judge_max_error("output", swapped, trusted, reference,
                                 suite_policy.ATTENTION_ERROR_MULTIPLIER["output"])
    gate.require_close("error_vs_fp64", [j], source=suite_policy.ATTENTION_RULE_SOURCE,
                       candidate=f"{impl} ({dtype_name(dtype)}, causal)",
                       trusted=f"the math backend in {dtype_name(dtype)}")
    now = attention.current_flash_attention_impl()
    gate.require("restores", now is None and torch.equal(restored, default),
                 measured={"current": now, "bitwise_equal": torch.equal(restored, default)},
                 expected="None, bitwise equal", source="restore_flash_attention_impl",
                 message=f"after restore_flash_attention_impl() the current impl is {now!r} "
                         f"and the default flash output is "
                         f"{'unchanged' if torch.equal(restored, default) else 'different'}")
