"""Imported by the host-effects child under the signal_handler_at_import fault: replaces the
SIGTERM handler at import, as a framework's telemetry might."""

import signal


def flush_then_exit(signum, frame):
    raise SystemExit(0)


signal.signal(signal.SIGTERM, flush_then_exit)
