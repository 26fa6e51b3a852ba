"""The attention suite's policy (thresholds that are not measured baselines), with where
each comes from: how far a backend may be from the fp64 reference."""

# flash-attention's own test rule (tests/test_flash_attn.py, hopper/test_flash_attn.py):
#   max|out - ref| <= k * max|out_torch_lowprec - ref| + 2 * (ref + 0.3 - 0.3 - ref).max()
# where out_torch_lowprec is the plain PyTorch attention in the same dtype (here: SDPA's
# math backend) and ref the upcast reference (here: math in float64). k = 2 for the
# output and 3 for the gradients dq, dk, dv (those tests; PyTorch's SDPA tests use a
# similar 5x "fudge factor" on |fp64 golden - low-precision math|).
ATTENTION_ERROR_MULTIPLIER = {"output": 2.0, "grad": 3.0}
ATTENTION_RULE_SOURCE = ("flash-attention's test rule: k x max|math in the same dtype - fp64| "
                         "+ rounding floor; k in suites/attention/policy.py "
                         "ATTENTION_ERROR_MULTIPLIER")
