"""SDPA takes the fused path where the documented rules allow it, falls back where they do
not, and does what this profile's recorded dispatch table says it did before.

For every input condition x dtype x device: the backend that ran (from the profiler's op
names) must be one the documented rules allow, must agree with the dispatcher's own
`torch._fused_sdp_choice`, and is compared with baselines/<profile>/attention.json (recorded
per profile under the torch version in its fingerprint). A change between fused kernels
(flash -> cuDNN on Hopper) is reported as "changed"; a fused path going to math fails.
Forcing flash with `sdpa_kernel` runs on eligible inputs and, on the others, raises with a
warning that names the cause.
"""

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from . import backends
from .backends import CAUSES, FUSED
from stackqual.cases import dtype_name

from .cases import dispatch_cases, make_inputs

RULES_SOURCE = ("documented SDPA rules: sdp_utils_cpp.h / cuda/sdp_utils.cpp; "
                "suites/attention/backends.py documented()")


def describe(case) -> str:
    c = case.condition
    return (f"{dtype_name(case.dtype)} {c.name} (mask {c.mask}, is_causal {c.causal}, dropout "
            f"{c.dropout}, head_dim {c.head_dim}, q/kv length 128/{c.kv_len}, layout "
            f"{c.layout}) on {case.device}")


def fused_to_math(old: str, new: str) -> bool:
    return old in FUSED and new not in FUSED


@pytest.mark.parametrize("case", dispatch_cases())
def test_backend_follows_the_rules_and_the_profile_table(case, gate):
    inputs = make_inputs(case.condition, case.dtype, case.device)
    with torch.no_grad():
        seen = backends.observe(inputs, case.device)
    ran = seen.backend
    details = {"backends": seen.backends, "kernels": seen.kernels,
               "fused_sdp_choice": seen.fused_choice}
    gate.require("one_backend", len(seen.backends) == 1, measured=seen.backends,
                 expected="one backend op", source="profiler", details=details,
                 message=f"{describe(case)}: the profiler saw {seen.backends} instead of "
                         "exactly one SDPA backend op")
    if seen.fused_choice is not None:
        gate.require("fused_sdp_choice_agrees", seen.fused_choice == ran, measured=ran,
                     expected=seen.fused_choice, source="torch._fused_sdp_choice",
                     details=details,
                     message=f"{describe(case)}: torch._fused_sdp_choice says "
                             f"{seen.fused_choice!r} but {ran!r} ran")
    rule = backends.documented(case)
    gate.require("documented_rule", ran in rule.allowed, measured=ran,
                 expected=sorted(rule.allowed), source=RULES_SOURCE, details=details,
                 message=f"SDPA ran {ran!r} for {describe(case)}, where the documented rules "
                         f"allow {sorted(rule.allowed)}: {rule.why} ({RULES_SOURCE})")
    gate.same_as_baseline("backend", ran, fails=fused_to_math,
                          explain="A fused kernel going to math fails; a change between "
                                  "fused kernels is reported.")


@pytest.mark.parametrize("case", dispatch_cases())
def test_forced_flash_runs_where_eligible_and_names_the_cause_where_not(case, gate):
    flash = "flash_cpu" if case.device == "cpu" else "flash"
    inputs = make_inputs(case.condition, case.dtype, case.device)
    cause = backends.flash_refusal_cause(case)
    with torch.no_grad():
        error, warned = backends.refusal(flash, inputs)
        if cause is None:
            gate.require("forced_flash_runs", error is None, measured=repr(error),
                         expected="runs", source=RULES_SOURCE,
                         message=f"sdpa_kernel([FLASH_ATTENTION]) raised {error!r} for "
                                 f"{describe(case)}, which the rules call eligible; "
                                 f"warnings: {warned}")
            with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                ran = backends.observe(inputs, case.device).backend
            gate.require("forced_flash_is_flash", ran == flash, measured=ran, expected=flash,
                         source="profiler",
                         message=f"sdpa_kernel([FLASH_ATTENTION]) ran {ran!r} for "
                                 f"{describe(case)}")
            return
    gate.require("forced_flash_refuses", error is not None, measured="ran",
                 expected="RuntimeError", source=RULES_SOURCE,
                 message=f"sdpa_kernel([FLASH_ATTENTION]) ran for {describe(case)}, which "
                         f"the rules say flash refuses ({CAUSES[cause]})")
    headline = any("Flash attention kernel not used because" in w for w in warned)
    named = any(CAUSES[cause] in w for w in warned)
    gate.require("refusal_names_the_cause", headline and named, measured=warned,
                 expected=CAUSES[cause], source=RULES_SOURCE,
                 message=f"forcing flash for {describe(case)} raised {str(error)!r} but the "
                         f"warnings {warned} do not say 'Flash attention kernel not used "
                         f"because' with the cause {CAUSES[cause]!r}")
