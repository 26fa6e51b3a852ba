"""The network guard: tests run offline, and any attempt to reach beyond loopback is refused
and named.

It is a Python audit hook (`sys.addaudithook`, PEP 578), so it sees what the interpreter
itself does, below any library: `socket.connect` (TCP and UDP, `_socket` included),
`socket.sendto`/`sendmsg`, `socket.getaddrinfo`, `socket.gethostbyname(_ex)`,
`socket.gethostbyaddr` and `socket.getnameinfo`
(https://docs.python.org/3/library/audit_events.html). A refused attempt raises
NetworkAttempt (a ConnectionRefusedError, so that callers' usual error handling runs) and is
recorded, so that the test fails naming the host even when the framework swallowed the
error (telemetry in a background thread, a retried HTTP call).

Loopback is allowed: `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped loopback
(::ffff:127.0.0.1), and Unix sockets. For its self-tests, STACKQUAL_NETGUARD_STANDINS names
loopback addresses (e.g. 127.0.0.2) the guard treats as beyond loopback: the tests aim at
those, so that a guard that failed would still send nothing off the machine.

Child processes: while the guard is on, the environment carries it (STACKQUAL_NETGUARD,
the path of the attempts log, and `netguard_child/` first on PYTHONPATH, whose
`sitecustomize.py` installs the same hook), so a Python child is guarded too and its
attempts are reported to the parent. A child that cannot carry the guard (not a Python
interpreter, an environment without it, a shell command) is refused inside `strict()`,
which the agents suite puts around its tests; elsewhere (the C++ compiler inductor runs, for
one) it is allowed.

The plugin (stackqual.plugin) turns the guard on for the whole session, from before the
first conftest is imported (so lookups at import and collection time are caught too), unless
the run says --online; it fails the test phase (or the collection, or the run) in which an
attempt was made, once.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ENV = "STACKQUAL_NETGUARD"  # the attempts log; set: this process and its children are guarded
STANDINS_ENV = "STACKQUAL_NETGUARD_STANDINS"  # comma-separated stand-ins for remote hosts
CHILD_DIR = Path(__file__).resolve().with_name("netguard_child")
BOOT_MODULE = "_stackqual_netguard"  # this file, as the child's sitecustomize loads it
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}
SPAWN_EVENTS = frozenset({"subprocess.Popen", "os.exec", "os.posix_spawn", "os.system"})
SOCKET_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg",
                           "socket.getaddrinfo", "socket.gethostbyname",
                           "socket.gethostbyaddr", "socket.getnameinfo"})
_WATCHED = SPAWN_EVENTS | SOCKET_EVENTS
PYTHON = re.compile(r"python[0-9.]*$")


class NetworkAttempt(ConnectionRefusedError):
    """Raised in place of a connection or lookup beyond loopback."""


@dataclass
class _State:
    depth: int = 0  # guard() nesting; on when > 0
    strict: int = 0  # strict() nesting
    hooked: bool = False
    attempts: list = field(default_factory=list)  # this process's, not yet taken
    log: str | None = None  # the attempts log this process and its children append to
    owns_log: bool = False  # this process created it (and reads its children's lines)
    log_read: int = 0
    saved_env: dict = field(default_factory=dict)


_state = _State()
# The child's sitecustomize loads this file as BOOT_MODULE before stackqual is importable;
# when the child then imports stackqual.netguard too, both share one state and one hook.
if __name__ != BOOT_MODULE and BOOT_MODULE in sys.modules:
    _state = sys.modules[BOOT_MODULE]._state


def is_local(host) -> bool:
    if host is None:
        return True
    host = _text(host)
    if host and host in os.environ.get(STANDINS_ENV, "").split(","):
        return False
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _target(event: str, args: tuple) -> str | None:
    """`host:port` of a socket event that would reach beyond loopback, else None."""
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        address = args[1]
        if isinstance(address, tuple) and address and not is_local(address[0]):
            port = address[1] if len(address) > 1 else "?"
            return f"{address[0]}:{port}"
    elif event == "socket.getaddrinfo":
        if not is_local(args[0]):
            return f"{_text(args[0])}:{args[1]}"
    elif event in ("socket.gethostbyname", "socket.gethostbyaddr"):
        if not is_local(args[0]):
            return f"{_text(args[0])} (name lookup)"
    elif event == "socket.getnameinfo":
        sockaddr = args[0]
        if isinstance(sockaddr, tuple) and sockaddr and not is_local(sockaddr[0]):
            return f"{sockaddr[0]} (name lookup)"
    return None


def _text(host) -> str:
    return host.decode() if isinstance(host, bytes) else str(host)


def _unguarded_child(event: str, args: tuple) -> str | None:
    """What a spawned process would run without the guard, else None."""
    if event == "os.system":
        return f"shell command {_text(args[0])[:80]!r}"
    if event == "subprocess.Popen":
        executable, argv, env = args[0], args[1], args[3]
    else:  # os.exec, os.posix_spawn: (path, argv, env)
        executable, argv, env = args[0], args[1], args[2]
    if isinstance(argv, (str, bytes)):
        argv = [argv]
    program = _text(executable or (argv[0] if argv else "?"))
    if not PYTHON.search(os.path.basename(program)):
        return f"process {program!r} (not a Python interpreter: the guard cannot follow it)"
    if env is not None and ENV not in env and os.fsencode(ENV) not in env:
        return f"process {program!r} with an environment that drops the guard ({ENV})"
    return None


def _refuse(what: str):
    _state.attempts.append(what)
    if _state.log and not _state.owns_log:  # a child: tell the guarded parent
        with contextlib.suppress(OSError), open(_state.log, "a") as log:
            log.write(what + "\n")
    raise NetworkAttempt(f"stackqual network guard: {what} refused (tests run offline)")


def _hook(event: str, args: tuple) -> None:
    # Called for every audited event of the process (dynamo's compiled-call wrapper raises
    # four per call): one set lookup decides, so that an unrelated event costs a call only.
    if event not in _WATCHED or not _state.depth:
        return
    if event in SPAWN_EVENTS:
        child = _unguarded_child(event, args) if _state.strict else None
        if child:
            _refuse(child)
        return
    where = _target(event, args)
    if where:
        _refuse(f"connection to {where}")


def _install_hook() -> None:
    if not _state.hooked:  # an audit hook cannot be removed; it is idle while the guard is off
        sys.addaudithook(_hook)
        _state.hooked = True


def activate() -> None:
    """Turn the guard on (nested calls count); children inherit it."""
    _install_hook()
    _state.depth += 1
    if _state.depth > 1:
        return
    if os.environ.get(ENV):  # a guarded parent: report into its log
        _state.log, _state.owns_log = os.environ[ENV], False
        return
    fd, _state.log = tempfile.mkstemp(prefix="stackqual-netguard-", suffix=".log")
    os.close(fd)
    atexit.register(Path(_state.log).unlink, missing_ok=True)  # a run that ends early
    _state.owns_log, _state.log_read = True, 0
    _state.saved_env = {k: os.environ.get(k) for k in (ENV, "PYTHONPATH")}
    os.environ[ENV] = _state.log
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(CHILD_DIR), os.environ.get("PYTHONPATH")) if p)


def deactivate() -> None:
    _state.depth = max(0, _state.depth - 1)
    if _state.depth or not _state.owns_log:
        return
    for key, value in _state.saved_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    Path(_state.log).unlink(missing_ok=True)
    _state.log, _state.owns_log = None, False


def active() -> bool:
    return _state.depth > 0


def take() -> list[str]:
    """The attempts made since the last call: this process's, and its children's."""
    taken, _state.attempts[:] = list(_state.attempts), []
    if _state.owns_log and _state.log:
        with contextlib.suppress(OSError), open(_state.log) as log:
            log.seek(_state.log_read)
            lines = log.read()
            _state.log_read = log.tell()
        taken += [f"{line} (in a child process)" for line in lines.splitlines() if line]
    return taken


@contextlib.contextmanager
def guard():
    """The guard on within; yields nothing (the attempts are what take() returns)."""
    activate()
    try:
        yield
    finally:
        deactivate()


@contextlib.contextmanager
def strict():
    """Within: a child process that cannot carry the guard is refused too."""
    _state.strict += 1
    try:
        yield
    finally:
        _state.strict -= 1


def activate_child(log: str) -> None:
    """In a child process (netguard_child/sitecustomize.py): the guard, reporting to `log`."""
    _install_hook()
    _state.depth += 1
    _state.log, _state.owns_log = log, False
