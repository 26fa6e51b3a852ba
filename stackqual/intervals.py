"""The confidence intervals the gates use, on numpy and torch alone.

A node's own image often has no scipy, and nothing can be installed there, so the harness
computes these itself; where scipy is installed, the self-tests check both against it
(selftests/test_intervals.py):

- `percentile_bootstrap`: scipy.stats.bootstrap(..., method="percentile") of a statistic
  over one sample, the same resampling (`rng.integers(0, n, (n_resamples, n))`) and the
  same percentiles, so the same seed gives the same interval;
- `clopper_pearson`: the exact binomial interval, scipy.stats.binomtest(k, n)
  .proportion_ci(method="exact"): the proportions whose binomial tail at k is alpha/2,
  found by bisection on the tail, which torch's Binomial computes exactly in log space;
- `t_interval`: Student's t interval of a mean, scipy.stats.t.interval(confidence, n - 1,
  mean, sem), at 95% only: for the few pairs of processes `stackqual ab` has, where a
  bootstrap of 2 or 3 values is their range and covers the median with probability 50%
  or 75%, not 95%.
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


# t(0.975, df) for df = 1..30: NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.2
# "Critical values of the Student's t distribution" (checked against scipy,
# selftests/test_intervals.py). Beyond 30, the Cornish-Fisher expansion in 1/df.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
         2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
         2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
Z_975 = 1.959964


def t_975(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom (df >= 1)."""
    if df <= len(T_975):
        return T_975[df - 1]
    z = Z_975
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def t_interval(sample) -> tuple[float, float, float]:
    """(mean, low, high): the mean of `sample` (at least 2 values) and its two-sided 95%
    Student's t interval."""
    values = np.asarray(sample, dtype=float)
    mean = float(values.mean())
    half = t_975(len(values) - 1) * float(values.std(ddof=1)) / np.sqrt(len(values))
    return mean, mean - half, mean + half
