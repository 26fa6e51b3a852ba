"""Fault: the compile suite's "inductor" backend makes every call of the compiled graph
take STACKQUAL_FAULT_SLOWDOWN (default 0.2, i.e. 20%) longer, by busy-waiting for that
fraction of the call's own duration after it (a sleep with microsecond precision, which
time.sleep does not have)."""

import os
import time

SLOWDOWN = float(os.environ.get("STACKQUAL_FAULT_SLOWDOWN", "0.2"))


def slow_inductor(gm, example_inputs):
    from torch._inductor.compile_fx import compile_fx

    compiled = compile_fx(gm, example_inputs)

    def run(*args):
        start = time.perf_counter()
        outs = compiled(*args)
        until = time.perf_counter() + SLOWDOWN * (time.perf_counter() - start)
        while time.perf_counter() < until:
            pass
        return outs
    return run


def pytest_configure(config):
    from suites.compile import running

    running.BACKENDS["inductor"] = slow_inductor
