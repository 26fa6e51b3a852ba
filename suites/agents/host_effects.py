"""What importing a framework changes in the host process: run as
`python -m suites.agents.host_effects MODULE...` in a fresh process, it imports what every
run of this project has already imported (torch, numpy), reads the process's state,
imports the MODULEs, reads it again and prints the differences as JSON.

An application imports an agent framework into its own process, and a qualification run
imports it into pytest's: a framework that installs signal handlers at import decides what
a scheduler's SIGTERM does to the whole run (CrewAI's telemetry did: a self-test run
ignored SIGTERM). Read here, before and after the import:
- the handlers of the signals a scheduler or a terminal sends (SIGTERM, SIGINT, SIGHUP,
  SIGQUIT, SIGUSR1, SIGUSR2, SIGTSTP, SIGCONT), named by the function installed;
- environment variables set or changed (names only: values may hold paths);
- logging: the root logger's level and handlers, and each logger given a handler, a level
  or propagate=False;
- threads started and still running, atexit callbacks registered, sys.excepthook and
  threading.excepthook replaced, warnings filters added, the recursion limit and the
  default socket timeout.
Numbers in thread names are replaced by N (their counters depend on what ran before).
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import warnings

SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTSTP",
           "SIGCONT")
ALREADY = ("torch", "numpy")  # the harness's own imports: their effects are not the framework's


def _handler(value) -> str:
    if value is signal.SIG_DFL:
        return "default"
    if value is signal.SIG_IGN:
        return "ignored"
    if value is None:
        return "not set from Python"
    if value is signal.default_int_handler:
        return "python's KeyboardInterrupt"
    return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"


def _loggers() -> dict:
    found = {}
    for name, logger in sorted(logging.Logger.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        said = {}
        if logger.handlers:
            said["handlers"] = sorted(type(h).__name__ for h in logger.handlers)
        if logger.level != logging.NOTSET:
            said["level"] = logging.getLevelName(logger.level)
        if not logger.propagate:
            said["propagate"] = False
        if said:
            found[name] = said
    return found


def _filter(action, message, category, module, lineno) -> str:
    return f"{action} {category.__name__} {getattr(module, 'pattern', module) or ''}"


def state() -> dict:
    root = logging.getLogger()
    return {
        "signals": {name: _handler(signal.getsignal(getattr(signal, name)))
                    for name in SIGNALS if hasattr(signal, name)},
        "environ": dict(os.environ),
        "root_logger": {"level": logging.getLevelName(root.level),
                        "handlers": sorted(type(h).__name__ for h in root.handlers)},
        "loggers": _loggers(),
        "threads": sorted(re.sub(r"\d+", "N", t.name) for t in threading.enumerate()),
        "atexit": atexit._ncallbacks(),
        "excepthook": _handler(sys.excepthook),
        "threading_excepthook": _handler(threading.excepthook),
        "warnings_filters": [_filter(*f) for f in warnings.filters],
        "recursion_limit": sys.getrecursionlimit(),
        "socket_timeout": socket.getdefaulttimeout(),
    }


def changes(before: dict, after: dict) -> dict:
    """What the import changed, each kind of state only where it changed."""
    found = {}
    moved = {k: f"{before['signals'][k]} -> {v}" for k, v in after["signals"].items()
             if before["signals"][k] != v}
    if moved:
        found["signals"] = moved
    env = sorted(k for k, v in after["environ"].items() if before["environ"].get(k) != v)
    gone = sorted(set(before["environ"]) - set(after["environ"]))
    if env or gone:
        found["environ"] = {"set": env, "removed": gone}
    for key in ("root_logger", "excepthook", "threading_excepthook", "recursion_limit",
                "socket_timeout"):
        if before[key] != after[key]:
            found[key] = f"{before[key]} -> {after[key]}"
    loggers = {name: said for name, said in after["loggers"].items()
               if before["loggers"].get(name) != said}
    if loggers:
        found["loggers"] = loggers
    threads = list(after["threads"])
    for name in before["threads"]:
        if name in threads:
            threads.remove(name)
    if threads:
        found["threads"] = threads
    if after["atexit"] != before["atexit"]:
        found["atexit_callbacks_added"] = after["atexit"] - before["atexit"]
    added = [f for f in after["warnings_filters"] if f not in before["warnings_filters"]]
    if added:
        found["warnings_filters_added"] = sorted(set(added))
    return found


def main(modules: list[str]) -> None:
    for module in ALREADY:
        importlib.import_module(module)
    before = state()
    for module in modules:
        importlib.import_module(module)
    print(json.dumps(changes(before, state()), sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
