"""Prometheus metrics: every metric of the service is declared here, ``GET /metrics``
renders them in the text format.

With several Sanic workers each worker is its own process, so each keeps its own
counts: prometheus-client's multiprocess mode has every process write its values to
memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR``, and a scrape, answered by any one
worker, sums the files of all of them (:func:`render`). The directory must be chosen
before a worker imports prometheus-client, and must not hold the files of an earlier
run: :func:`prepare_multiprocess_dir` is called by the main process before the workers
start. With one worker (and no ``PROMETHEUS_MULTIPROC_DIR``) the values live in memory.

Route labels are the route's name, never the raw path, so that a client probing
random paths cannot create one time series per path.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from sanic import Request, response

log = logging.getLogger("wordsim.server")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_CHILDREN = 1024
UNMATCHED = "unmatched"
"""Route label of a request no route matched (404, 405 and the like)."""
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"})
"""RFC 9110's methods (and PATCH): the only values of the ``method`` label besides ``other``."""
OTHER_METHOD = "other"

if os.environ.get(MULTIPROC_ENV):
    # Unlabelled metrics open their file as they are declared, just below.
    Path(os.environ[MULTIPROC_ENV]).mkdir(parents=True, exist_ok=True)

# The *_created series (a timestamp per counter) only double the output; multiprocess
# mode has none, so neither has the single-process one.
disable_created_metrics()

REQUESTS = Counter(
    "wordsim_requests", "HTTP requests answered, by route, method and status", ["route", "method", "status"]
)
LATENCY = Histogram(
    "wordsim_request_duration_seconds",
    "Time from the request's arrival to its response, by route",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
# Per collection: its label takes the served collections' names only (CollectionMetrics is
# made once per served collection at start), so the series are bounded by the settings.
BATCH_SIZE = Histogram(
    "wordsim_batch_size",
    "Queries encoded by one encoder call (micro-batch size), by collection",
    ["collection"],
    buckets=BATCH_BUCKETS,
)
SEARCH_BATCH_SIZE = Histogram(
    "wordsim_search_batch_size",
    "Queries answered by one round of Milvus searches (nq; one search per kind of filter), by collection",
    ["collection"],
    buckets=BATCH_BUCKETS,
)
ENCODER_SECONDS = Histogram(
    "wordsim_encoder_seconds",
    "Time of one encoder call (a micro-batch or added words), by collection",
    ["collection"],
    buckets=LATENCY_BUCKETS,
)
SEARCH_SECONDS = Histogram(
    "wordsim_milvus_search_seconds",
    "Time of one Milvus search (every query encoded while the previous one ran), by collection",
    ["collection"],
    buckets=LATENCY_BUCKETS,
)
CACHE_HITS = Counter(
    "wordsim_answer_cache_hits",
    "Answers served from the per-worker answer cache, by collection",
    ["collection"],
)
CACHE_MISSES = Counter(
    "wordsim_answer_cache_misses", "Answers not in the answer cache (computed), by collection", ["collection"]
)
MILVUS_ERRORS = Counter(
    "wordsim_milvus_errors",
    "Milvus calls that failed, by collection and operation (search, words)",
    ["collection", "operation"],
)


REFUSED = Counter(
    "wordsim_refused",
    "Requests and connections refused or closed to protect the others, by reason",
    ["reason"],
)
REFUSAL_REASONS = ("client_limit", "heavy_queue", "connection_evicted", "connection_refused")
for _reason in REFUSAL_REASONS:  # present at 0 from the start, so rate() works
    REFUSED.labels(reason=_reason)


@dataclass(frozen=True)
class CollectionMetrics:
    """The metrics of one served collection, their children found once (``labels``
    validates and locks): the batcher, the answer cache and word management use these."""

    batch_size: Histogram
    search_batch_size: Histogram
    encoder_seconds: Histogram
    search_seconds: Histogram
    cache_hits: Counter
    cache_misses: Counter
    search_errors: Counter
    words_errors: Counter


def for_collection(name: str) -> CollectionMetrics:
    """The metrics of collection ``name``, present at 0 from the start (so rate() works)."""
    return CollectionMetrics(
        BATCH_SIZE.labels(collection=name),
        SEARCH_BATCH_SIZE.labels(collection=name),
        ENCODER_SECONDS.labels(collection=name),
        SEARCH_SECONDS.labels(collection=name),
        CACHE_HITS.labels(collection=name),
        CACHE_MISSES.labels(collection=name),
        MILVUS_ERRORS.labels(collection=name, operation="search"),
        MILVUS_ERRORS.labels(collection=name, operation="words"),
    )


_children: dict[tuple[str | None, str, int], tuple] = {}
"""(route's full name, method, status) -> its request counter and latency histogram: found
once, not per request (``labels`` validates and locks). Bounded: routes, methods and
statuses are few (any other method is ``other``)."""


def observe_request(request: Request, status: int, started: float | None) -> None:
    """Count one answered request and its latency (called by the response middleware)."""
    full = request.route.name if request.route else None
    # Label values come from bounded sets only: whatever a client sends as a method (made-up
    # names, lower case, thousands of letters) is "other", and unrouted paths are "unmatched".
    method = request.method if request.method in KNOWN_METHODS else OTHER_METHOD
    key = (full, method, status)
    children = _children.get(key)
    if children is None:
        route = full.rsplit(".", 1)[-1] if full else UNMATCHED
        children = (
            REQUESTS.labels(route=route, method=method, status=str(status)),
            LATENCY.labels(route=route),
        )
        if len(_children) < MAX_CHILDREN:
            _children[key] = children
    children[0].inc()
    if started is not None:
        children[1].observe(time.perf_counter() - started)


def timed(histogram: Histogram, fn: Callable, *args):
    """``fn(*args)``, its duration observed in ``histogram`` (also when it raises)."""
    with histogram.time():
        return fn(*args)


def render() -> bytes:
    """The text exposition of every metric, summed over the workers in multiprocess mode.

    A registry is built per scrape in multiprocess mode, as prometheus-client requires:
    the collector reads the files present now, including those of workers started later.
    """
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def metrics_endpoint(request: Request) -> response.HTTPResponse:
    """Prometheus text format; open like ``/health`` (see README, "Metrics")."""
    return response.raw(render(), content_type=CONTENT_TYPE_LATEST)


_OWN_FILE = re.compile(r"_(\d+)\.db$")


def prepare_multiprocess_dir(workers: int) -> Path | None:
    """Set up the multiprocess directory in the main process, before workers start.

    ``PROMETHEUS_MULTIPROC_DIR`` given: emptied of the files of earlier runs (those of
    this process kept: it may have imported prometheus-client with the variable set).
    Not given and several workers: a fresh temporary directory, removed at exit. One
    worker and none given: nothing to do (values in memory).
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            match = _OWN_FILE.search(old.name)
            if not match or int(match.group(1)) != os.getpid():
                old.unlink(missing_ok=True)
        return path
    if workers <= 1:
        return None
    sweep_left_folders(Path(tempfile.gettempdir()))
    path = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-"))
    os.environ[MULTIPROC_ENV] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    log.info("metrics of %d workers shared through %s", workers, path)
    return path


_TEMP_PREFIX = "wordsim-metrics-"
_TEMP_FOLDER = re.compile(rf"^{_TEMP_PREFIX}(\d+)-")


def sweep_left_folders(parent: Path) -> list[Path]:
    """Remove the temporary folders of servers that are gone.

    The folder is removed at exit, but a main process that is killed (SIGKILL, OOM)
    never runs its exit handlers: the folder names its process, so the next start
    removes the folders whose process no longer exists.
    """
    removed = []
    for folder in parent.glob(f"{_TEMP_PREFIX}*"):
        match = _TEMP_FOLDER.match(folder.name)
        if match and folder.is_dir() and not _process_exists(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        log.info("removed %d metrics folder(s) left by servers that were killed", len(removed))
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
