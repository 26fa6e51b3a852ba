"""A network guard: any connection attempt (or name lookup) beyond loopback is refused and
recorded, so that a test can fail naming the host even when the framework swallowed the
error (telemetry in a background thread, a retried HTTP call)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket

LOCAL_NAMES = {"localhost", "localhost.localdomain", ""}


def _is_local(host) -> bool:
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkAttempt(ConnectionRefusedError):
    """Raised in place of a connection beyond loopback (a ConnectionError, so that callers'
    usual error handling runs)."""


@contextlib.contextmanager
def guard():
    """Within: connections and lookups beyond loopback raise NetworkAttempt; yields the list
    of attempted `host:port` strings."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(where: str):
        attempts.append(where)
        raise NetworkAttempt(f"stackqual network guard: connection to {where} refused "
                             "(tests run offline)")

    def check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            refuse(f"{address[0]}:{address[1]}")

    def connect(sock, address):
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, port, *args, **kwargs):
        if not _is_local(host):
            refuse(f"{host}:{port}")
        return real_getaddrinfo(host, port, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.getaddrinfo = getaddrinfo
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex
        socket.getaddrinfo = real_getaddrinfo
