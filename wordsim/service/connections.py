"""Connections no client can hoard: a cap below the open-file limit, idle ones closed first,
and a deadline for the whole request.

- Cap. Every connection holds a file descriptor; past the process's limit the server can
  accept nothing, not even a health check. So each worker holds at most
  ``WORDSIM_MAX_CONNECTIONS`` (by default a share of the open-file limit, leaving room for
  Milvus' and the model's files); a connection that would pass it first closes the
  connections idle the longest (no request in progress), a tenth of the cap at a time, so
  a flood of silent connections makes room for real requests instead of shutting them out.
  Only when every connection is busy is the new one refused. Either is logged (rate-limited).
- Idle. A connection with no request in progress is closed after
  ``WORDSIM_KEEP_ALIVE_TIMEOUT_S``, whether it never sent a byte or finished a request.
- Deadline. Sanic restarts a request's timeout on every byte received, so a client
  trickling a byte a second is never answered 408. Here the clock of a request starts with
  its first byte and runs until its answer is sent: the head must arrive within
  ``WORDSIM_REQUEST_TIMEOUT_S``, the answer must be sent within the response timeout.
"""

from __future__ import annotations

import logging
import resource

from sanic.http.constants import Stage

from wordsim.service import metrics
from wordsim.service.oversize import LingeringHttpProtocol

log = logging.getLogger("wordsim.server")

FILES_IN_RESERVE = 512
"""File descriptors kept free of connections: Milvus' gRPC channels, the model, logs."""
EVICT_SHARE = 10
"""At the cap, the idle connections closed at once: one in this many of the cap (one scan
of the connections per burst, not per new connection)."""


def raise_file_limit() -> int:
    """The soft open-file limit raised to the hard one (a process may), returned."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # a container may refuse: keep the soft limit
            pass
    return soft


def connection_cap(configured: int) -> int:
    """Connections one worker holds: ``configured``, or (0) what the file limit leaves."""
    limit = raise_file_limit()
    room = max(64, limit - FILES_IN_RESERVE)
    return min(configured, room) if configured else room


class GuardedHttpProtocol(LingeringHttpProtocol):
    """Sanic's protocol with a connection cap and a whole-request deadline."""

    __slots__ = ("_evicted",)
    max_connections = 0
    """Set once per worker (``configure``); 0: no cap (a protocol made outside the server)."""
    evicting = 0
    """Connections closed to make room whose close has not completed yet (they still count
    in Sanic's set of connections until then)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._evicted = False

    @classmethod
    def configure(cls, max_connections: int) -> None:
        cls.max_connections = max_connections

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        cls = GuardedHttpProtocol
        if self.max_connections and len(self.connections) - cls.evicting > self.max_connections:
            self._make_room()

    def _make_room(self) -> None:
        idle = sorted(
            (p for p in self.connections if p is not self and _idle(p)),
            key=lambda p: p._time,
        )
        closing = idle[: max(1, self.max_connections // EVICT_SHARE)]
        if not closing:
            metrics.REFUSED.labels(reason="connection_refused").inc()
            log.warning("connection refused: all %d connections are busy", self.max_connections)
            self.close()
            return
        metrics.REFUSED.labels(reason="connection_evicted").inc(len(closing))
        log.warning(
            "at %d connections: closing the %d idle the longest to admit new ones",
            self.max_connections,
            len(closing),
        )
        for protocol in closing:
            protocol._evicted = True
            GuardedHttpProtocol.evicting += 1
            protocol.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._evicted:
            self._evicted = False
            GuardedHttpProtocol.evicting -= 1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        http = getattr(self, "_http", None)  # a slot, unset until the connection's task starts
        busy = http is not None and http.stage is not Stage.IDLE
        started = self._time
        super().data_received(data)
        if busy:
            self._time = started  # a request's clock runs from its first byte, not its latest


def _idle(protocol) -> bool:
    """No request in progress and nothing of one received yet."""
    http = getattr(protocol, "_http", None)
    transport = protocol.transport
    return (
        http is not None
        and http.stage is Stage.IDLE
        and not protocol.recv_buffer
        and not getattr(protocol, "_evicted", False)
        and transport is not None
        and not transport.is_closing()
    )
