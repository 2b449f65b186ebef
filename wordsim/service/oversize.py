"""Oversized requests: the right status, and an answer the client actually receives.

Sanic answers a too-large body with 413 and a too-large head with 413 too, then closes the
connection while the client may still be sending. Closing a socket with unread data makes
the kernel reset the connection, and the client sees "connection reset by peer" instead of
our answer. So, as nginx does ("lingering close"), the connection is half-closed after the
answer and what the client still sends is read and thrown away, up to a bound, before the
socket is closed. A too-long URL answers 414 and too-large headers 431 (RFC 9110, 6585).
"""

from __future__ import annotations

import asyncio

from sanic.exceptions import PayloadTooLarge, SanicException
from sanic.http.http1 import Http
from sanic.server.protocols.http_protocol import HttpProtocol

LINGER_MAX_BYTES = 8 << 20
"""Most bytes read and thrown away after an error answer: a body of a few MB still gets it."""
LINGER_MAX_S = 10.0
"""Longest time a connection lingers."""
HEAD_TOO_LARGE = "Request header exceeds the size limit"  # Sanic's message for a head over its cap


class UriTooLong(SanicException):
    status_code = 414
    quiet = True


class HeadersTooLarge(SanicException):
    status_code = 431
    quiet = True


class LingeringHttpProtocol(HttpProtocol):
    """Sanic's HTTP protocol with a lingering close after an answer to an oversized request."""

    __slots__ = ("_discarded", "_linger_timer", "linger_requested")  # Sanic's protocols use slots

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.linger_requested = False
        self._linger_timer: asyncio.TimerHandle | None = None
        self._discarded = 0

    def close(self, timeout: float | None = None):
        if not self.linger_requested or self.transport is None or self.transport.is_closing():
            return super().close(timeout)
        self.linger_requested = False
        if self._callback_check_timeouts:
            self._callback_check_timeouts.cancel()
        self.recv_buffer.clear()
        try:
            self.transport.write_eof()  # our answer goes out first, then FIN
            self.transport.resume_reading()
        except (OSError, RuntimeError, NotImplementedError):
            return super().close(timeout)
        self._linger_timer = asyncio.get_running_loop().call_later(LINGER_MAX_S, self._stop_lingering)
        return None

    @property
    def lingering(self) -> bool:
        return self._linger_timer is not None

    def data_received(self, data: bytes) -> None:
        if not self.lingering:
            return super().data_received(data)
        self._discarded += len(data)
        if self._discarded > LINGER_MAX_BYTES:
            self._stop_lingering()
        return None

    def eof_received(self):
        if self.lingering:
            self._stop_lingering()  # the client is done sending: nothing left to reset
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        super().connection_lost(exc)

    def _stop_lingering(self) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        super().close()


def classify(request, exc: Exception) -> Exception:
    """Sanic's "head too large" as 414 when the request line alone is over the cap, else 431;
    any other exception as it is."""
    if not (isinstance(exc, PayloadTooLarge) and str(exc) == HEAD_TOO_LARGE):
        return exc
    protocol = _protocol_of(request)
    head = bytes(protocol.recv_buffer[: Http.HEADER_MAX_SIZE]) if protocol is not None else b""
    if b"\r\n" not in head:
        return UriTooLong("URL too long")
    return HeadersTooLarge("request headers too large")


def linger_after_answer(request) -> None:
    """Ask for a lingering close once this request's answer is sent."""
    protocol = _protocol_of(request)
    if isinstance(protocol, LingeringHttpProtocol):
        protocol.linger_requested = True


def _protocol_of(request):
    transport = getattr(request, "transport", None)
    return transport.get_protocol() if transport is not None else None
