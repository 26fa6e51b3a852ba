"""Fault: the compile suite's "inductor" backend makes every call of the compiled graph
take STACKQUAL_FAULT_SLOWDOWN (default 0.2, i.e. 20%) longer, by busy-waiting for that
fraction of the call's own duration after it (a sleep with microsecond precision, which
time.sleep does not have)."""

from selftests.faults.compile.slow_both_paths import slowed


def slow_inductor(gm, example_inputs):
    from torch._inductor.compile_fx import compile_fx

    return slowed(compile_fx(gm, example_inputs))


def pytest_configure(config):
    from suites.compile import running

    running.BACKENDS["inductor"] = slow_inductor
