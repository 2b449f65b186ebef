"""The project's log set-up, and the limit that keeps an outage from flooding the log.

While Milvus is down every request fails the same way, and the Milvus client logs a
traceback each time it tries to reconnect: thousands of lines a minute. :class:`RateLimit`
lets one warning (or worse) of each kind through per window (10 s) and counts the
rest; the next one let through says how many there were. A kind is the logger and the
message template, digits ignored (a template formatted before logging still matches
itself). Lines below WARNING, such as the access log, are never limited.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 10.0
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MILVUS_CLIENT_LOGGER = "pymilvus"
"""The Milvus client's loggers (``pymilvus.*``), whose reconnect loop logs tracebacks."""
_MAX_KINDS = 1000  # past this many kinds, those idle for a window are forgotten


@dataclass
class _Window:
    start: float
    suppressed: int = 0


class RateLimit(logging.Filter):
    """At most one WARNING+ record per kind per ``window_s``; the rest are counted, and
    the next record let through ends with ``[N more like this in the last S s]``.

    ``one_line`` also drops the traceback (kept as ``(ExceptionType: message)`` on the
    line): for a third-party logger whose tracebacks say nothing we can act on.
    """

    def __init__(
        self,
        window_s: float = WINDOW_S,
        *,
        one_line: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self.one_line = one_line
        self.clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, re.sub(r"\d+", "#", str(record.msg)))
        now = self.clock()
        with self._lock:
            window = self._windows.get(key)
            if window is not None and now - window.start < self.window_s:
                window.suppressed += 1
                return False
            if len(self._windows) >= _MAX_KINDS:
                self._windows = {k: w for k, w in self._windows.items() if now - w.start < self.window_s}
            self._windows[key] = _Window(now)
        notes = []
        if self.one_line and record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            notes.append(f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
            record.exc_info = record.exc_text = None
        if window is not None and window.suppressed:
            notes.append(f"[{window.suppressed} more like this in the last {now - window.start:.0f} s]")
        if notes:
            record.msg = " ".join([record.getMessage(), *notes])
            record.args = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """One line per event on stderr for the project's loggers (``wordsim.*``), each kind
    of warning at most once per 10 s (:class:`RateLimit`). Idempotent.

    The root logger is left alone: Sanic configures its own, and a root handler would
    print each of its lines twice.
    """
    logger = logging.getLogger("wordsim")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RateLimit())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def limit_milvus_client_logs() -> None:
    """Rate-limit the Milvus client's log, one line per record, no tracebacks. Call after
    importing ``pymilvus`` (its import installs its handlers). Idempotent."""
    handlers = {
        handler
        for name, logger in list(logging.root.manager.loggerDict.items())
        if (name == MILVUS_CLIENT_LOGGER or name.startswith(MILVUS_CLIENT_LOGGER + "."))
        and isinstance(logger, logging.Logger)
        for handler in logger.handlers
    }
    for handler in handlers:
        if not any(isinstance(f, RateLimit) for f in handler.filters):
            handler.addFilter(RateLimit(one_line=True))
