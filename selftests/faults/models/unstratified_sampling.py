"""Fault: the models suite samples the first N rows of the test split (a plain
`select(range(1000))`), which on the label-sorted split is one class."""

from selftests.faults import wrap


def pytest_configure(config):
    from suites.models import data

    wrap(data, "stratified_sample", lambda original: lambda labels, n, seed=0: list(range(n)))
