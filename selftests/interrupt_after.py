"""A pytest plugin for the self-tests: the run sends itself a real SIGINT (what Ctrl-C
sends) once STACKQUAL_INTERRUPT_AFTER tests (default 1) have finished, so that an
interruption lands at a known point of a real run."""

import os
import signal

DONE = []


def pytest_runtest_logfinish(nodeid, location):
    DONE.append(nodeid)
    if len(DONE) == int(os.environ.get("STACKQUAL_INTERRUPT_AFTER", "1")):
        os.kill(os.getpid(), signal.SIGINT)
