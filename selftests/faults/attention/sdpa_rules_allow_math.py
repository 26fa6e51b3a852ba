"""Fault helper: the documented rules accept any backend, so that only the recorded
dispatch table stands between a fused kernel going to math and a passing run."""

from selftests.faults import wrap


def pytest_configure(config):
    from suites.attention import backends

    wrap(backends, "documented", lambda original: lambda case: backends.Rule(
        frozenset(backends.OPS.values()), "any backend (self-test)"))
