"""Fixtures of the self-tests (their helpers are in support.py)."""

from types import SimpleNamespace

import pytest
import torch
# pytester's in-process runs unload the modules first imported during them; torch modules
# that register operators (torch._inductor.test_operators, imported by dynamo's trace
# rules) cannot be imported twice. Import them once, up front.
import torch._dynamo.trace_rules  # noqa: F401

from selftests.support import SuiteRunner, fixed_calibration

# The example suite is a suite of its own (selftests/example_suites/README.md), run by
# test_example_suite.py with that folder as the suites folder; the self-tests' run does not
# collect it as self-tests.
collect_ignore = ["example_suites"]

# The scheduled self-tests measure a statistical rate of the timing layer on real runs (how
# often clean code is called regressed, alone and on a loaded machine, and by `ab` with one
# stack on both sides): each needs many repetitions of real timings and took 1-6 minutes of
# every CI run, while each gate's proof that it fires on its fault stays in every run
# (docs/selftests.md, "Per change and scheduled"). Without --scheduled they skip, saying so.
SCHEDULED = ("run them with `pytest selftests -m scheduled --scheduled` (nightly, and before "
             "merging a change to the timing layer: stackqual/timing.py, timed.py, "
             "intervals.py, perf.py, calibration.py, ab.py)")


def pytest_addoption(parser):
    parser.addoption("--scheduled", action="store_true",
                     help="also run the scheduled self-tests (statistical rates of the timing "
                          "layer on real runs; nightly), which a run per change skips")


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("scheduled")
        if marker is None:
            continue
        if not marker.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.scheduled needs its why "
                                    "(what the test measures and how long it takes)")
        if not config.getoption("scheduled"):
            item.add_marker(pytest.mark.skip(
                reason=f"scheduled self-test, not run per change ({marker.args[0]}): "
                       f"{SCHEDULED}"))


@pytest.fixture(autouse=True)
def stackqual_asked(monkeypatch):
    """The self-tests' own runs (pytester folders have no `stackqual = true` of their own)
    ask for the plugin as `stackqual qualify` does (stackqual.plugin)."""
    from stackqual import plugin

    monkeypatch.setenv(plugin.ENV, "1")


@pytest.fixture
def fake_gpu(monkeypatch):
    """Make torch.cuda report one GPU with the given name, capability and memory."""
    def install(name: str, major: int, minor: int, total_memory: int) -> None:
        props = SimpleNamespace(name=name, major=major, minor=minor, total_memory=total_memory)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=0: props)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    return install


@pytest.fixture
def steady_machine(monkeypatch):
    """For self-tests of the gates' logic in-process (pytester): this machine's calibration
    is fixed, so that the host's own speed phases (docs/timing.md) cannot make a check
    "not comparable". Returns a setter for the calibration the next runs measure."""
    from stackqual import calibration

    current = {"value": fixed_calibration()}
    monkeypatch.setattr(calibration, "measure", lambda device="cpu": current["value"])

    def set_calibration(value: dict) -> None:
        current["value"] = value
    return set_calibration


@pytest.fixture
def run_suite(tmp_path):
    """run_suite(*pytest_args, faults=(...), env={...}) and run_suite.fires(Fault row):
    the real suites in a fresh process (selftests.support.SuiteRunner); a run it started is
    ended with the test."""
    with SuiteRunner(tmp_path) as runner:
        yield runner
