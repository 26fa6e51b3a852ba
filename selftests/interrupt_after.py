"""A pytest plugin for the self-tests: the run sends itself a real SIGINT (what Ctrl-C
sends) once STACKQUAL_INTERRUPT_AFTER tests (default 1) have finished, so that an
interruption lands at a known point of a real run."""

import os
import signal

DONE = []


def pytest_runtest_logfinish(nodeid, location):
    DONE.append(nodeid)
    if len(DONE) == int(os.environ.get("STACKQUAL_INTERRUPT_AFTER", "1")):
        # A process can inherit SIGINT ignored (a background job of a non-interactive
        # shell); a terminal's Ctrl-C never is, so neither is this one.
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        os.kill(os.getpid(), signal.SIGINT)
