"""stackqual.intervals gives what scipy.stats gives, without scipy (a node's own image has
none): the same percentile-bootstrap interval for the same seed, and the exact binomial
interval."""

import numpy as np
import pytest

from stackqual import intervals

stats = pytest.importorskip("scipy.stats", reason="scipy not installed: the reference these "
                                                  "intervals are checked against; "
                                                  "`pip install -e '.[test]'`")


@pytest.mark.parametrize("n,seed", [(5, 0), (20, 1), (37, 2), (200, 3)])
def test_the_bootstrap_is_scipys_percentile_bootstrap(n, seed):
    logs = np.log(np.random.default_rng(seed).uniform(0.7, 1.3, n))
    ours = intervals.percentile_bootstrap(logs, np.median, 0.95, seed=0)
    theirs = stats.bootstrap((logs,), np.median, confidence_level=0.95, n_resamples=2000,
                             method="percentile", rng=np.random.default_rng(0))
    assert ours == pytest.approx((theirs.confidence_interval.low,
                                  theirs.confidence_interval.high), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("k,n", [(0, 10), (10, 10), (7, 10), (1, 2), (880, 1000),
                                 (22000, 25000)])
def test_the_binomial_interval_is_clopper_pearson(k, n):
    ours = intervals.clopper_pearson(k, n, 0.95)
    theirs = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    assert ours == pytest.approx((theirs.low, theirs.high), abs=1e-9)


def test_a_count_outside_its_trials_is_refused():
    with pytest.raises(ValueError, match="0 <= k <= n"):
        intervals.clopper_pearson(11, 10)


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 29, 30, 31, 40, 100, 1000])
def test_the_t_quantile_is_scipys(df):
    assert intervals.t_975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1.5e-3)


@pytest.mark.parametrize("sample", [[0.18, 0.19], [0.11, 0.46, 0.3], [1.0, 1.2, 0.9, 1.1]])
def test_the_t_interval_is_scipys(sample):
    mean, low, high = intervals.t_interval(sample)
    expected = stats.t.interval(0.95, len(sample) - 1, loc=np.mean(sample),
                                scale=stats.sem(sample))
    assert (low, high) == pytest.approx(expected, abs=2e-3 * (high - low))
