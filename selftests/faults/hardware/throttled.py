"""Fault: the machine is slowed on purpose: every hardware kernel (GEMM, copy, triad,
attention) does its work twice per call while counting it once, as a throttled part would
reach half its rate."""

from selftests.faults import wrap


def pytest_configure(config):
    from suites.hardware import peaks

    def throttling(build):
        def throttled(case):
            kernel = build(case)
            run = kernel.run

            def twice():
                run()
                return run()
            kernel.run = twice
            return kernel
        return throttled

    wrap(peaks, "build", throttling)
