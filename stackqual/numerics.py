"""Judge a candidate result against a float64 reference, never with one global atol.

The bound scales with how far the trusted path (eager, in the same dtype, same weights) is
from the fp64 reference, as PyTorch's own accuracy check does (torch._dynamo.utils.same):

    rmse(candidate, fp64) <= m * rmse(trusted, fp64) + tol / 10

(attention backends use flash-attention's max-error form of the same idea,
`judge_max_error`), so a compiled bf16 result that is as close to fp64 as eager bf16
passes even when allclose(eager, compiled) at a fixed atol would not. m and tol come
from stackqual.policy. same() first accepts anything allclose(trusted, candidate,
atol=tol, rtol=tol); stackqual does not, so its rule is never looser than same()'s RMSE
test. Without an fp64 reference, cosine similarity to the trusted result is the fallback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import policy


@dataclass(frozen=True)
class Judgement:
    name: str  # which tensor: "output[0]", "grad[encoder.layer.0.weight]", ...
    passed: bool
    method: str  # "rmse-vs-fp64", "max-error-vs-fp64" or "cosine-vs-trusted"
    candidate_error: float  # rmse(candidate, fp64), or cosine similarity to trusted
    trusted_error: float  # rmse(trusted, fp64); nan for the cosine method
    bound: float
    multiplier: float
    tol: float  # same()'s tol (rmse method) or the rounding floor (max-error method)
    numel: int
    problem: str = ""  # shape/dtype/structure problem that made the comparison impossible

    @property
    def bound_used(self) -> float:
        """candidate_error / bound: 1.0 is exactly at the bound (fp64 methods only)."""
        if self.method == "cosine-vs-trusted":
            return math.nan
        return self.candidate_error / self.bound if self.bound > 0 else math.inf

    def describe(self) -> str:
        if self.problem:
            return f"{self.name}: {self.problem}"
        if self.method == "cosine-vs-trusted":
            return (f"{self.name}: cosine(candidate, trusted) = {self.candidate_error:.6f}, "
                    f"bound >= {self.bound} (no fp64 reference; {policy.RULE_SOURCE})")
        if self.method == "max-error-vs-fp64":
            return (f"{self.name}: max|candidate - fp64| = {self.candidate_error:.3e}, "
                    f"bound = {self.multiplier:g} x max|trusted - fp64| "
                    f"{self.trusted_error:.3e} + rounding {self.tol:.1e} = {self.bound:.3e} "
                    f"({self.bound_used:.2f}x of bound, {self.numel} elements)")
        return (
            f"{self.name}: rmse(candidate, fp64) = {self.candidate_error:.3e}, "
            f"bound = {self.multiplier:g} x rmse(trusted, fp64) {self.trusted_error:.3e} "
            f"+ tol/10 {self.tol / 10:.1e} = {self.bound:.3e} "
            f"({self.bound_used:.2f}x of bound, {self.numel} elements)"
        )


def rmse(a: torch.Tensor, b: torch.Tensor) -> float:
    diff = a.detach().to(torch.float64) - b.detach().to(torch.float64)
    return torch.sqrt(torch.mean(diff * diff)).item()


def _problem(name, candidate, trusted, reference) -> str:
    for label, t in (("trusted", trusted), ("fp64 reference", reference)):
        if t is not None and t.shape != candidate.shape:
            return f"shape {tuple(candidate.shape)} differs from {label} {tuple(t.shape)}"
    if candidate.dtype != trusted.dtype:
        return f"dtype {candidate.dtype} differs from trusted {trusted.dtype}"
    if reference is not None and reference.dtype != torch.float64:
        return f"reference must be float64, got {reference.dtype}"
    return ""


def judge(name: str, candidate: torch.Tensor, trusted: torch.Tensor,
          reference: torch.Tensor | None) -> Judgement:
    """Judge one tensor. `trusted` is the path whose own error sets the scale (eager)."""
    tol = policy.tolerance(trusted.dtype)
    numel = candidate.numel()
    problem = _problem(name, candidate, trusted, reference)
    if problem:
        return Judgement(name, False, "rmse-vs-fp64", math.nan, math.nan, math.nan,
                         math.nan, tol, numel, problem)
    if reference is None:
        a = candidate.detach().flatten().to(torch.float32)
        b = trusted.detach().flatten().to(torch.float32)
        if torch.allclose(a, b, atol=tol, rtol=tol, equal_nan=True):
            cosine = 1.0  # same()'s early exit: cosine of two zero vectors is 0, not 1
        else:
            cosine = torch.nn.functional.cosine_similarity(a, b, dim=0, eps=1e-6).item()
        return Judgement(name, cosine >= policy.COSINE_MIN, "cosine-vs-trusted", cosine,
                         math.nan, policy.COSINE_MIN, math.nan, tol, numel)
    multiplier = policy.rmse_multiplier(trusted.dtype, numel)
    trusted_error = rmse(trusted, reference)
    candidate_error = rmse(candidate, reference)
    bound = multiplier * trusted_error + tol / 10
    # NaN anywhere makes the comparison False: a NaN the reference does not have fails.
    passed = candidate_error <= bound
    return Judgement(name, passed, "rmse-vs-fp64", candidate_error, trusted_error, bound,
                     multiplier, tol, numel)


def max_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach().to(torch.float64) - b.detach().to(torch.float64)).abs().max().item()


def rounding_floor(reference: torch.Tensor, dtype: torch.dtype) -> float:
    """2 x the error of one addition at the reference's magnitude in `dtype`:
    flash-attention's `2 * (ref + 0.3 - 0.3 - ref).abs().max()`, the bound's floor where the
    trusted path is almost exact."""
    ref = reference.detach().to(dtype)
    return 2 * (ref + 0.3 - 0.3 - ref).abs().max().item()


def judge_max_error(name: str, candidate: torch.Tensor, trusted: torch.Tensor,
                    reference: torch.Tensor, multiplier: float) -> Judgement:
    """flash-attention's rule: max|candidate - fp64| <= k * max|trusted - fp64| + the
    rounding floor, with `trusted` the plain PyTorch (math) path in the candidate's dtype."""
    numel = candidate.numel()
    problem = _problem(name, candidate, trusted, reference)
    if problem:
        return Judgement(name, False, "max-error-vs-fp64", math.nan, math.nan, math.nan,
                         multiplier, math.nan, numel, problem)
    floor = rounding_floor(reference, trusted.dtype)
    trusted_error = max_error(trusted, reference)
    candidate_error = max_error(candidate, reference)
    bound = multiplier * trusted_error + floor
    return Judgement(name, candidate_error <= bound, "max-error-vs-fp64", candidate_error,
                     trusted_error, bound, multiplier, floor, numel)


def judge_all(candidate: dict, trusted: dict, reference: dict | None) -> list[Judgement]:
    """Judge every named tensor; a tensor missing on either side is a failed judgement."""
    judgements = []
    for name in list(trusted) + [n for n in candidate if n not in trusted]:
        if name not in candidate or name not in trusted:
            side = "candidate" if name not in candidate else "trusted"
            judgements.append(Judgement(name, False, "rmse-vs-fp64", math.nan, math.nan,
                                        math.nan, math.nan, math.nan, 0,
                                        f"missing from the {side} result"))
            continue
        ref = None if reference is None else reference[name]
        judgements.append(judge(name, candidate[name], trusted[name], ref))
    return judgements


def summary(judgements: list[Judgement]) -> dict:
    """Per tensor: the errors, the bound and the verdict (for the report's details)."""
    return {j.name: {"error": j.candidate_error, "trusted_error": j.trusted_error,
                     "bound": j.bound, "passed": j.passed} for j in judgements}


def failures(judgements: list[Judgement], limit: int = 8) -> str:
    """The failed judgements, one indented line each, at most `limit` of them."""
    failed = [j for j in judgements if not j.passed]
    text = "\n  ".join(j.describe() for j in failed[:limit])
    more = f"\n  ... and {len(failed) - limit} more" if len(failed) > limit else ""
    return f"\n  {text}{more}"


def further_than_trusted(judgements: list[Judgement], *, candidate: str, trusted: str,
                         source: str, reference: str = "the fp64 reference",
                         where: str = "") -> str:
    """The message of a failed parity gate: which path, than which trusted path, for how
    many tensors (or `where`), each failed tensor's figures, and the rule's source."""
    failed = [j for j in judgements if not j.passed]
    where = where or f"for {len(failed)} of {len(judgements)} tensors"
    return (f"{candidate} is further from {reference} than {trusted} allows {where}:"
            f"{failures(judgements)}\n  ({source})")


def first_difference(a: dict, b: dict) -> str | None:
    """Where two runs of the same path differ bitwise (a non-deterministic model), else None.
    Two eager runs must agree exactly before a compiled result can be judged against them."""
    if set(a) != set(b):
        return f"different tensors: {sorted(set(a) ^ set(b))}"
    for name in a:
        if not torch.equal(a[name], b[name]):
            diff = (a[name].to(torch.float64) - b[name].to(torch.float64)).abs().max().item()
            return f"{name} differs between two eager runs (max |diff| = {diff:.3e})"
    return None
