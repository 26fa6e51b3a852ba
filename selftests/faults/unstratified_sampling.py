"""Fault: the models suite samples the first N rows of the test split (the reference lab's
`select(range(1000))`), which on the label-sorted split is one class."""


def pytest_configure(config):
    from suites.models import data

    data.stratified_sample = lambda labels, n, seed=0: list(range(n))
