"""The two confidence intervals the gates use, on numpy and torch alone.

A node's own image often has no scipy, and nothing can be installed there, so the harness
computes these itself; where scipy is installed, the self-tests check both against it
(selftests/test_intervals.py):

- `percentile_bootstrap`: scipy.stats.bootstrap(..., method="percentile") of a statistic
  over one sample, the same resampling (`rng.integers(0, n, (n_resamples, n))`) and the
  same percentiles, so the same seed gives the same interval;
- `clopper_pearson`: the exact binomial interval, scipy.stats.binomtest(k, n)
  .proportion_ci(method="exact"): the proportions whose binomial tail at k is alpha/2,
  found by bisection on the tail, which torch's Binomial computes exactly in log space.
"""

from __future__ import annotations

import numpy as np


def percentile_bootstrap(sample, statistic=np.median, confidence: float = 0.95,
                         n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """(low, high): the percentile-bootstrap interval of `statistic` over `sample`."""
    values = np.asarray(sample, dtype=float)
    rng = np.random.default_rng(seed)
    resampled = values[rng.integers(0, len(values), (n_resamples, len(values)))]
    estimates = statistic(resampled, axis=-1)
    alpha = (1 - confidence) / 2
    low, high = np.percentile(estimates, [alpha * 100, (1 - alpha) * 100])
    return float(low), float(high)


def _tail(k: int, n: int, p: float, upper: bool) -> float:
    """P(X >= k) (upper) or P(X <= k) for X ~ Binomial(n, p)."""
    import torch

    if p <= 0.0:
        return 0.0 if upper and k > 0 else 1.0
    if p >= 1.0:
        return 1.0 if upper or k >= n else 0.0
    counts = torch.arange(k, n + 1) if upper else torch.arange(0, k + 1)
    log_p = torch.distributions.Binomial(n, torch.tensor(p, dtype=torch.float64)).log_prob(
        counts.to(torch.float64))
    return float(torch.logsumexp(log_p, 0).exp())


def _solve(k: int, n: int, target: float, upper: bool) -> float:
    """The p at which the tail equals `target` (the tail is monotone in p)."""
    low, high = 0.0, 1.0
    for _ in range(60):  # 2**-60: far below any accuracy the suites report
        mid = (low + high) / 2
        rising = _tail(k, n, mid, upper)  # P(X >= k) rises with p; P(X <= k) falls
        if (rising < target) == upper:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """(low, high): the exact (Clopper-Pearson) interval of a proportion k/n."""
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"clopper_pearson: need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    alpha = (1 - confidence) / 2
    low = 0.0 if k == 0 else _solve(k, n, alpha, upper=True)
    high = 1.0 if k == n else _solve(k, n, alpha, upper=False)
    return low, high
