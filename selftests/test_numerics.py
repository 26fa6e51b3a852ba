"""The comparator's maths on hand-made tensors: passes at the bound, fails just past it.

Tensors are built from dyadic constants so that float32/bfloat16 hold them exactly and the
RMSE of a constant offset is the offset itself."""

import math

import pytest
import torch

from stackqual import numerics, policy

N = 4096  # >= policy.SMALL_TENSOR_NUMEL, so the dtype's own multiplier applies


def offset(value, dtype, n=N):
    return torch.full((n,), value, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_bound_is_multiplier_times_trusted_error_plus_tenth_of_tol(dtype):
    reference = torch.zeros(N, dtype=torch.float64)
    trusted = offset(2.0 ** -8, dtype)
    bound = policy.RMSE_MULTIPLIER[dtype] * 2.0 ** -8 + policy.tolerance(dtype) / 10
    at = numerics.judge("out", offset(bound, torch.float64).to(dtype), trusted, reference)
    assert at.bound == pytest.approx(bound)
    # Rounding `bound` to dtype may land just above or below it: judge what was produced.
    assert at.passed == (at.candidate_error <= bound)
    below = numerics.judge("out", trusted * 0 + 2.0 ** -8, trusted, reference)
    assert below.passed and below.bound_used < 1
    past = numerics.judge("out", offset(bound * 1.02, torch.float64).to(dtype), trusted, reference)
    assert not past.passed and past.bound_used > 1


def test_fp32_passes_at_the_bound_and_fails_just_past_it():
    reference = torch.zeros(N, dtype=torch.float64)
    trusted = offset(2.0 ** -10, torch.float32)
    bound = 2.0 * 2.0 ** -10 + 1e-4 / 10
    assert numerics.judge("out", offset(bound * 0.999, torch.float32), trusted, reference).passed
    judgement = numerics.judge("out", offset(bound * 1.001, torch.float32), trusted, reference)
    assert not judgement.passed
    text = judgement.describe()
    assert "out:" in text and "2 x rmse(trusted, fp64)" in text and "1.00x of bound" in text


def test_bf16_gets_multiplier_three():
    reference = torch.zeros(N, dtype=torch.float64)
    trusted = offset(2.0 ** -6, torch.bfloat16)
    assert numerics.judge("o", offset(3 * 2.0 ** -6, torch.bfloat16), trusted, reference).passed
    assert not numerics.judge("o", offset(3 * 2.0 ** -6 + 2.0 ** -10, torch.bfloat16), trusted,
                              reference).passed


def test_small_tensors_get_multiplier_three_even_in_fp32():
    reference = torch.zeros(100, dtype=torch.float64)
    trusted = offset(2.0 ** -8, torch.float32, n=100)
    judgement = numerics.judge("o", offset(2.5 * 2.0 ** -8, torch.float32, n=100), trusted,
                               reference)
    assert judgement.multiplier == 3.0 and judgement.passed


def test_exact_trusted_path_leaves_the_tol_floor():
    reference = torch.zeros(N, dtype=torch.float64)
    trusted = offset(0.0, torch.float32)
    # fp32 floor: tol / 10 = 1e-5
    assert numerics.judge("o", offset(2.0 ** -17, torch.float32), trusted, reference).passed
    assert not numerics.judge("o", offset(2.0 ** -16, torch.float32), trusted, reference).passed


def test_nan_in_candidate_fails():
    reference = torch.zeros(N, dtype=torch.float64)
    candidate = offset(0.0, torch.float32)
    candidate[7] = math.nan
    assert not numerics.judge("o", candidate, offset(0.0, torch.float32), reference).passed


def test_shape_and_dtype_problems_fail_with_the_problem_named():
    ref = torch.zeros(4, 4, dtype=torch.float64)
    j = numerics.judge("o", torch.zeros(16), torch.zeros(4, 4), ref)
    assert not j.passed and "shape (16,) differs from trusted (4, 4)" in j.describe()
    j = numerics.judge("o", torch.zeros(4, 4, dtype=torch.bfloat16), torch.zeros(4, 4), ref)
    assert not j.passed and "dtype" in j.describe()


def test_missing_tensor_is_a_failed_judgement():
    t = {"output": torch.zeros(3), "grad[w]": torch.zeros(3)}
    ref = {k: v.double() for k, v in t.items()}
    judgements = numerics.judge_all({"output": torch.zeros(3)}, t, ref)
    missing = [j for j in judgements if not j.passed]
    assert [j.name for j in missing] == ["grad[w]"]
    assert "missing from the candidate result" in missing[0].describe()


def test_cosine_fallback_without_fp64_reference():
    trusted = torch.linspace(-1, 1, N)
    assert numerics.judge("o", trusted * 1.001, trusted, None).passed
    orthogonal = torch.cos(torch.linspace(0, 40 * math.pi, N))
    j = numerics.judge("o", orthogonal, torch.sin(torch.linspace(0, 40 * math.pi, N)), None)
    assert not j.passed and j.method == "cosine-vs-trusted" and "no fp64 reference" in j.describe()


def test_first_difference_detects_a_non_deterministic_run():
    a = {"output": torch.ones(8), "grad[w]": torch.ones(3)}
    assert numerics.first_difference(a, {k: v.clone() for k, v in a.items()}) is None
    b = {k: v.clone() for k, v in a.items()}
    b["grad[w]"][1] += 1e-7
    assert "grad[w] differs between two eager runs" in numerics.first_difference(a, b)
