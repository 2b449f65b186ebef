"""The log rate limit (wordsim/logs.py), with a fake clock: fast."""

from __future__ import annotations

import io
import logging

import pytest

from fakes import FakeClock
from wordsim.logs import FORMAT, RateLimit, limit_milvus_client_logs


@pytest.fixture
def logged():
    """A logger writing through a RateLimit(10 s, fake clock) into a string."""
    clock, out = FakeClock(1000.0), io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    limit = RateLimit(10.0, clock=clock)
    handler.addFilter(limit)
    logger = logging.getLogger("wordsim.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, clock, lambda: out.getvalue().splitlines(), limit
    logger.removeHandler(handler)


def test_one_line_per_kind_per_window_then_the_count(logged) -> None:
    log, clock, lines, _ = logged
    for i in range(313):
        log.warning("Milvus search failed: %s", f"attempt {i}")
        clock.now += 0.01  # 313 failures in 3.13 s
    assert lines() == ["wordsim.test_logs WARNING Milvus search failed: attempt 0"]
    clock.now = 1010.0
    log.warning("Milvus search failed: %s", "again")
    summary = "Milvus search failed: again [312 more like this in the last 10 s]"
    assert lines()[1:] == [f"wordsim.test_logs WARNING {summary}"]
    clock.now = 1020.0
    log.warning("Milvus search failed: %s", "once more")
    assert lines()[2] == "wordsim.test_logs WARNING Milvus search failed: once more"  # nothing was held back


def test_kinds_are_counted_apart(logged) -> None:
    log, _, lines, _ = logged
    for _ in range(5):
        log.warning("Milvus search failed: %s", "x")
        log.warning("health check: Milvus unavailable: %s", "y")
        log.error("Milvus search failed: %s", "x")  # another level: another kind
        logging.getLogger("wordsim.test_logs.other").warning("Milvus search failed: %s", "x")
    assert len(lines()) == 4  # one per kind: logger, level, template
    # a template formatted before logging differs only in its digits: the same kind
    for port in (1, 22, 333):
        log.warning(f"reconnect to 127.0.0.1:{port} failed")
    assert len(lines()) == 5


def test_info_and_debug_are_never_limited(logged) -> None:
    log, _, lines, _ = logged
    for _ in range(50):
        log.info("POST /vector_similarity %s %.1fms", 503, 1.0)
        log.debug("try %d", 1)
    assert len(lines()) == 100


def test_traceback_kept_by_default(logged) -> None:
    log, _, lines, _ = logged
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("unhandled error on %s", "/x")
    assert "Traceback" in "\n".join(lines())


def test_one_line_drops_the_traceback_and_keeps_the_exception() -> None:
    clock, out = FakeClock(1000.0), io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RateLimit(10.0, one_line=True, clock=clock))
    record_logger = logging.getLogger("pymilvus.test_logs")
    record_logger.addHandler(handler)
    record_logger.propagate = False
    try:
        for _ in range(3):
            try:
                raise ConnectionError("Fail connecting to server on 127.0.0.1:19530\nmore detail")
            except ConnectionError:
                record_logger.warning("Connection recovery failed", exc_info=True)
    finally:
        record_logger.removeHandler(handler)
    text = out.getvalue()
    assert "Traceback" not in text and text.count("\n") == 1
    assert text.rstrip().endswith(
        "Connection recovery failed (ConnectionError: Fail connecting to server on 127.0.0.1:19530)"
    )


def test_milvus_client_handlers_get_the_limit_once() -> None:
    import pymilvus  # noqa: F401  (its import installs its handlers)

    limit_milvus_client_logs()
    limit_milvus_client_logs()
    handlers = logging.getLogger("pymilvus").handlers
    assert handlers
    for handler in handlers:
        limits = [f for f in handler.filters if isinstance(f, RateLimit)]
        assert len(limits) == 1 and limits[0].one_line
