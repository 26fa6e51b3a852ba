"""The network guard (stackqual.netguard) in real pytest runs: every way out it must catch
is caught once, named, even when swallowed; loopback stays allowed.

Loopback only: the "remote" host of these tests is 127.0.0.2, declared a stand-in for a host
beyond loopback (STACKQUAL_NETGUARD_STANDINS). A TCP listener and a UDP socket wait on it, so
a guard that let an attempt through is seen by the test, and nothing ever leaves the machine.
"""

import os
import socket
import sys
import textwrap

import pytest

from selftests.support import unguarded_environ
from stackqual import netguard

pytest_plugins = ["pytester"]
STANDIN = "127.0.0.2"


class Listener:
    """A TCP listener and a UDP socket on the stand-in address, counting what arrives."""

    def __init__(self):
        self.tcp = socket.create_server((STANDIN, 0))
        self.tcp.setblocking(False)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((STANDIN, 0))
        self.udp.setblocking(False)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]

    def arrived(self) -> int:
        count = 0
        for sock, receive in ((self.tcp, self.tcp.accept), (self.udp, lambda: self.udp.recv(64))):
            while True:
                try:
                    receive()
                    count += 1
                except BlockingIOError:
                    break
        return count

    def close(self):
        self.tcp.close()
        self.udp.close()


@pytest.fixture
def listener(monkeypatch):
    monkeypatch.setenv(netguard.STANDINS_ENV, STANDIN)
    lst = Listener()
    yield lst
    lst.close()


def attempt_module(body: str, lst: Listener) -> str:
    return (f"import socket, subprocess, sys, _socket\nTCP, UDP = {lst.tcp_port}, {lst.udp_port}\n"
            f"HOST = {STANDIN!r}\n\ndef test_attempt():\n" + textwrap.indent(body, "    "))


ATTEMPTS = {
    "create_connection": "socket.create_connection((HOST, TCP), timeout=2)",
    "getaddrinfo": "socket.getaddrinfo(HOST, TCP)",
    "gethostbyname": "socket.gethostbyname(HOST)",
    "udp-sendto": "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', (HOST, UDP))",
    "_socket-connect": "_socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect((HOST, TCP))",
    "swallowed": "try:\n    socket.create_connection((HOST, TCP), timeout=2)\nexcept OSError:\n"
                 "    pass",
    "python-child": "subprocess.run([sys.executable, '-c', 'import socket; "
                    "socket.create_connection((%r, %d), timeout=2)' % (HOST, TCP)])",
}


@pytest.mark.parametrize("body", ATTEMPTS.values(), ids=ATTEMPTS.keys())
def test_an_attempt_fails_its_test_once_naming_the_host(pytester, listener, body):
    pytester.makepyfile(test_attempt=attempt_module(body, listener))
    result = pytester.runpytest("--no-report", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)  # and no teardown error: counted once
    result.stdout.fnmatch_lines([f"*network access attempted*{STANDIN}*"])
    assert listener.arrived() == 0


def test_a_lookup_at_import_time_fails_the_collection(pytester, listener):
    pytester.makepyfile(test_attempt=f"import socket\nsocket.getaddrinfo({STANDIN!r}, 80)\n\n"
                                     "def test_never_runs():\n    pass\n")
    result = pytester.runpytest("--no-report", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*network access attempted*{STANDIN}:80*"])


ALLOWED = {
    "localhost": "socket.create_connection(('localhost', PORT), timeout=2).close()",
    "ipv4-mapped-loopback": "s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n"
                            "s.connect(('::ffff:127.0.0.1', PORT))\ns.close()",
}


@pytest.mark.parametrize("body", ALLOWED.values(), ids=ALLOWED.keys())
def test_loopback_is_allowed(pytester, body):
    if "AF_INET6" in body and not socket.has_ipv6:
        pytest.skip("this Python has no IPv6 support: IPv4-mapped addresses cannot be tried")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    pytester.makepyfile(test_local=f"import socket\nPORT = {port}\n\ndef test_local():\n"
                                   + textwrap.indent(body, "    "))
    try:
        result = pytester.runpytest("--no-report", "-p", "no:cacheprovider")
    finally:
        server.close()
    result.assert_outcomes(passed=1)


UNGUARDED_CHILDREN = {
    "non-python": ("subprocess.run(['true'])", "process 'true' (not a Python interpreter"),
    "guard-dropped": ("subprocess.run([sys.executable, '-c', 'pass'], env={})",
                      "an environment that drops the guard"),
    "shell": ("import os; os.system('true')", "shell command 'true'"),
}


@pytest.mark.parametrize("body,named", UNGUARDED_CHILDREN.values(), ids=UNGUARDED_CHILDREN.keys())
def test_strict_refuses_a_child_the_guard_cannot_follow(pytester, listener, body, named):
    pytester.makepyfile(test_child=attempt_module(
        "from stackqual import netguard\nwith netguard.strict():\n" + textwrap.indent(body, "    "),
        listener))
    result = pytester.runpytest("--no-report", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*network access attempted*{named}*"])


def test_outside_strict_a_python_child_carries_the_guard(pytester, listener):
    """The inductor compile workers' case: children run, guarded."""
    pytester.makepyfile(test_child=attempt_module(
        "out = subprocess.run([sys.executable, '-c', 'import os; print(os.environ[%r])' % "
        f"{netguard.ENV!r}], capture_output=True, text=True, check=True)\n"
        "assert out.stdout.strip()", listener))
    pytester.runpytest("--no-report", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_online_turns_the_guard_off(pytester, listener, monkeypatch):
    """In a run of its own: a child of a guarded run (as every pytester run of this one is)
    stays guarded whatever it is told, so the run is started without the inherited guard."""
    pytester.makepyfile(test_attempt=attempt_module(ATTEMPTS["create_connection"], listener))
    for key in (netguard.ENV, "PYTHONPATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PYTHONPATH", unguarded_environ().get("PYTHONPATH", ""))
    result = pytester.runpytest_subprocess("--no-report", "-p", "no:cacheprovider", "--online")
    result.assert_outcomes(passed=1)
    assert listener.arrived() == 1


def test_a_child_of_a_guarded_run_stays_guarded_under_online(pytester, listener):
    """...and its attempts are reported to this run too (taken here, so that this test can
    say what it saw rather than fail for it)."""
    pytester.makepyfile(test_attempt=attempt_module(ATTEMPTS["create_connection"], listener))
    result = pytester.runpytest_subprocess("--no-report", "-p", "no:cacheprovider", "--online")
    result.assert_outcomes(failed=1)
    assert listener.arrived() == 0
    assert netguard.take() == [f"connection to {STANDIN}:{listener.tcp_port} (in a child process)"]


@pytest.mark.parametrize("host,local", [
    ("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True), ("localhost", True),
    (None, True), ("", True), (b"127.0.0.5", True), ("fe80::1%eth0", False),
    ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("huggingface.co", False),
])
def test_what_counts_as_loopback(host, local):
    assert netguard.is_local(host) is local


def test_a_stand_in_must_be_named_to_count_as_remote(monkeypatch):
    assert netguard.is_local(STANDIN)
    monkeypatch.setenv(netguard.STANDINS_ENV, STANDIN)
    assert not netguard.is_local(STANDIN)
    assert netguard.is_local("")


def test_the_session_runs_guarded():
    """This very run: the plugin turned the guard on (no --online) and children inherit it."""
    assert netguard.active()
    assert sys.modules["stackqual.netguard"] is netguard
    assert os.environ.get(netguard.ENV) and str(netguard.CHILD_DIR) in os.environ["PYTHONPATH"]
