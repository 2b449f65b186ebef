"""The client's HTTP: one JSON POST, retried on 503 and 429, and the exceptions that say
what went wrong. Standard library only (``wordsim.client`` is the API over it)."""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

RETRIED = (429, 503)
"""Statuses worth another try: the service is busy (429) or Milvus is unavailable for a while (503)."""
USER_AGENT = "wordsim-client/0.1"
HINTS = {
    401: "give the service's key (WORDSIM_API_KEY, or api_key=)",
    403: "the service refuses this without a key of its own set (WORDSIM_API_KEY on the server)",
    404: "is the URL the service's?",
}


class WordsimError(Exception):
    """Anything that kept the service from answering; the message says what and what to do."""


class ServiceUnreachable(WordsimError):
    """No answer at all: connection refused, an unknown host, a timeout, a dropped connection."""

    def __init__(self, url: str, reason: str, timed_out: bool = False) -> None:
        self.url, self.reason, self.timed_out = url, reason, timed_out
        if timed_out:
            text = f"the service at {url} did not answer within {reason}; it may be busy or stuck"
            super().__init__(text + " (try a longer timeout)")
        else:
            text = f"cannot reach the service at {url}: {reason}"
            super().__init__(text + "; is it running (make run), and is the address right?")


class ClientError(WordsimError):
    """The service refused the request (4xx): ``status`` and the service's ``message``."""

    def __init__(self, status: int, message: str, url: str = "", subject: str = "the request") -> None:
        self.status, self.message, self.url, self.subject = status, message, url, subject
        hint = HINTS.get(status)
        where = f" at {url}" if url else ""
        super().__init__(
            f"the service{where} refused {subject} ({status}): {message}" + (f"; {hint}" if hint else "")
        )


class ServerError(WordsimError):
    """The service failed (5xx), after the retries when the status is retried."""

    def __init__(self, status: int, message: str, url: str, attempts: int = 1) -> None:
        self.status, self.message, self.url, self.attempts = status, message, url, attempts
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        advice = "try again later" if status == 503 else "its log has the details"
        super().__init__(f"the service at {url} failed ({status}): {message}{tries}; {advice}")


class UnexpectedAnswer(WordsimError):
    """An answer that is not the service's: another server at that address, or a proxy's page."""

    def __init__(self, where: str, detail: str) -> None:
        self.where, self.detail = where, detail
        super().__init__(f"the answer of {where} is not the service's ({detail}); is the URL right?")


class Transport:
    """POSTs JSON to ``url`` + a path and decodes the JSON answer."""

    def __init__(
        self,
        url: str,
        api_key: str | None,
        timeout: float,
        *,
        retries: int,
        delays: tuple[float, float, float],
        sleep: Callable[[float], None],
        opener: Any,
    ) -> None:
        self.url, self.timeout, self.retries = url, timeout, retries
        self.backoff, self.max_backoff, self.max_retry_after = delays
        self.sleep, self.opener = sleep, opener
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self.headers["User-Agent"] = USER_AGENT
        if api_key:
            self.headers["X-API-Key"] = api_key

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        attempt = 1
        while True:
            request = urllib.request.Request(self.url + path, data=data, headers=self.headers, method="POST")
            try:
                with self.opener.open(request, timeout=self.timeout) as answer:
                    raw = answer.read()
                break
            except urllib.error.HTTPError as exc:
                status, message, retry_after = exc.code, _message(exc), exc.headers.get("Retry-After")
                exc.close()
            except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
                raise self._unreachable(exc) from None
            if status in RETRIED and attempt <= self.retries:
                self.sleep(self.delay(attempt, retry_after))
                attempt += 1
                continue
            if status >= 500:
                raise ServerError(status, message, self.url, attempt)
            if status in RETRIED and attempt > 1:
                message += f" ({attempt} attempts)"
            raise ClientError(status, message, self.url)
        try:
            return json.loads(raw)
        except ValueError:
            raise UnexpectedAnswer(self.url + path, "not JSON") from None

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds before try ``attempt + 1``: the answer's ``Retry-After`` (seconds or an
        HTTP date) up to ``max_retry_after``, else exponential backoff up to ``max_backoff``."""
        wait = _retry_after_seconds(retry_after)
        if wait is not None:
            return min(wait, self.max_retry_after)
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)

    def _unreachable(self, exc: BaseException) -> ServiceUnreachable:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError):
            return ServiceUnreachable(self.url, f"{self.timeout:g} s", timed_out=True)
        if isinstance(reason, ConnectionRefusedError):
            return ServiceUnreachable(self.url, "connection refused")
        if isinstance(reason, socket.gaierror):
            return ServiceUnreachable(self.url, f"the host name {urlsplit(self.url).hostname!r} is not known")
        if isinstance(reason, ConnectionError | http.client.HTTPException):
            return ServiceUnreachable(self.url, "the connection closed before an answer")
        return ServiceUnreachable(self.url, str(reason) or type(reason).__name__)


def _message(exc: urllib.error.HTTPError) -> str:
    """The service's ``error`` of an error answer, else the status line's reason."""
    try:
        body = json.loads(exc.read())
    except (OSError, ValueError, http.client.HTTPException):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return str(exc.reason or "error")


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now (never negative), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(seconds, 0.0) if seconds == seconds else None  # NaN: unreadable
