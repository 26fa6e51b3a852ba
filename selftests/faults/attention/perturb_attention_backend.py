"""Fault: every attention backend except math (the reference and the trusted path) adds
STACKQUAL_FAULT_OFFSET to its output, as a kernel with a small numerical defect would."""

import os

from selftests.faults import wrap

OFFSET = float(os.environ["STACKQUAL_FAULT_OFFSET"])


def pytest_configure(config):
    from suites.attention import backends

    def perturbing(run):
        def perturbed(backend, inputs):
            out = run(backend, inputs)
            return out if backend == "math" else out + OFFSET
        return perturbed

    wrap(backends, "run", perturbing)
