"""Fault: an upgrade that makes everything slower: in the compile suite both the eager and
the compiled path of a model take STACKQUAL_FAULT_SLOWDOWN (default 0.2, i.e. 20%) longer
per call, by busy-waiting for that fraction of the call's own duration after it (as
slow_compiled does for the compiled path alone). Every in-process ratio (eager/compiled)
stays as it was: only timing the stack against another one (`stackqual ab`) can see it.

The compiled path compiles an untouched copy of the module (the same weights), so that
dynamo never traces the busy-wait; the module itself, the eager path, gets the slowed
forward."""

import copy
import os
import time

SLOWDOWN = float(os.environ.get("STACKQUAL_FAULT_SLOWDOWN", "0.2"))


def slowed(call):
    def run(*args, **kwargs):
        start = time.perf_counter()
        out = call(*args, **kwargs)
        until = time.perf_counter() + SLOWDOWN * (time.perf_counter() - start)
        while time.perf_counter() < until:
            pass
        return out
    return run


def pytest_configure(config):
    from selftests.faults import wrap
    from suites.compile import running

    def slowing(compile_model):
        def compile_both_slowed(module, backend, mode):
            untouched = copy.deepcopy(module)
            untouched.__dict__.pop("forward", None)  # a copy of an already slowed module
            compiled = compile_model(untouched, backend, mode)
            if "forward" not in module.__dict__:
                module.forward = slowed(module.forward)
            return slowed(compiled)
        return compile_both_slowed

    wrap(running, "compile_model", slowing)
