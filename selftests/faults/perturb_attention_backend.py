"""Fault: every attention backend except math (the reference and the trusted path) adds
STACKQUAL_FAULT_OFFSET to its output, as a kernel with a small numerical defect would."""

import os

OFFSET = float(os.environ["STACKQUAL_FAULT_OFFSET"])


def pytest_configure(config):
    from suites.attention import backends

    run = backends.run

    def perturbed(backend, inputs):
        out = run(backend, inputs)
        return out if backend == "math" else out + OFFSET

    backends.run = perturbed
