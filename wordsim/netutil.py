"""Network helpers shared by the tests and the benchmark, kept here so both import the one
definition without importing anything heavy (this module needs only the standard library)."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now.

    The socket is closed before the port is used, so another process may take it in between:
    good enough for tests and benchmarks on one machine, not a reservation."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])
