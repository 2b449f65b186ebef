"""A Python client of the service, in the manner of ``synonyms``: ``nearby(word)`` gives
``(words, scores)``, ``compare(a, b)`` a float.

    from wordsim.client import Client
    client = Client("http://127.0.0.1:8848")
    words, scores = client.nearby("教师", size=5)
    client.compare("医生", "护士")

Standard library only (urllib and json): a client machine needs no torch, no pymilvus and
no HTTP package, and importing this module imports nothing of the service. Requests are
JSON bodies to ``POST /vector_similarity`` and ``POST /compare`` (README, "Command line and
Python client"); lists longer than the service takes at once are sent in several requests.
503 and 429 are retried with exponential backoff, honouring ``Retry-After``; every other
failure raises a :class:`WordsimError` subclass whose message says what went wrong.
"""

from __future__ import annotations

import math
import time
import unicodedata
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from wordsim.client_http import (
    ClientError,
    ServerError,
    ServiceUnreachable,
    Transport,
    UnexpectedAnswer,
    WordsimError,
)

__all__ = ["Client", "ClientError", "ServerError", "ServiceUnreachable", "UnexpectedAnswer", "WordsimError"]
"""The API; the exceptions are defined with the transport that raises them."""

DEFAULT_URL = "http://127.0.0.1:8848"
"""The service's own default address (WORDSIM_HOST 127.0.0.1, WORDSIM_PORT 8848 in
wordsim/settings.py), written out here so that this module imports nothing of the service."""
RESULT_KEY = "相似度计算的结果为："
"""The service answer's one top-level key."""
MAX_ITEMS = 64
"""Most words or pairs per request: the service's default WORDSIM_MAX_INPUTS."""
FILTERS = ("min_score", "pos", "min_freq", "exclude_self", "exclude_overlap")
"""The service's filters of /vector_similarity (README, "Shaping the answer")."""

Neighbours = tuple[list[str], list[float]]


class Client:
    """One service at ``url``. ``api_key`` goes in the ``X-API-Key`` header; ``timeout``
    (seconds) bounds each request. ``retries``: how many times a 503 or 429 is retried,
    waiting ``backoff`` s, then twice as long each time (at most ``max_backoff``), or what
    the answer's ``Retry-After`` says (at most ``max_retry_after``). ``max_items``: words or
    pairs per request (the service's ``WORDSIM_MAX_INPUTS``). ``sleep`` and ``opener`` (an
    object with urllib's ``open(request, timeout=)``) may be replaced, e.g. in tests."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        timeout: float = 30.0,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 30.0,
        max_items: int = MAX_ITEMS,
        sleep: Callable[[float], None] = time.sleep,
        opener: Any = None,
    ) -> None:
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the service URL must look like http://host:port, not {url!r}")
        if not (0 < timeout < math.inf) or retries < 0 or max_items < 1:
            raise ValueError("timeout must be positive, retries at least 0, max_items at least 1")
        self.url = url.rstrip("/")
        self.max_items = max_items
        self._http = Transport(
            self.url,
            api_key,
            timeout,
            retries=retries,
            delays=(backoff, max_backoff, max_retry_after),
            sleep=sleep,
            opener=opener or urllib.request.build_opener(),
        )

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # --- nearby ------------------------------------------------------------------------

    def nearby(
        self,
        word: str,
        size: int = 10,
        collection: str | None = None,
        *,
        calibrated: bool = False,
        **filters: Any,
    ) -> Neighbours:
        """The ``size`` words nearest to ``word`` and their scores, best first.

        As ``synonyms.nearby``, ``size`` counts the word itself: the service is asked for
        ``top_k=size`` and, when the word is among the hits (a word of the collection is,
        at distance ~1.0), it comes first, the others keeping the service's order; it is not
        added when it is not among them (a text the collection does not hold, which still
        has a vector and so its ``size`` nearest words; ``exclude_self``; or a word tied at
        1.0 with more than ``size`` others). Scores are the service's ``distance`` (inner
        product of unit vectors), or its calibrated ``score`` with ``calibrated=True``.
        ``filters`` are the service's: ``min_score``, ``pos`` (a string or a list of tags),
        ``min_freq``, ``exclude_self``, ``exclude_overlap``."""
        _check_text(word, "word")
        body = self._similarity_body(word, size, collection, calibrated, filters)
        return _neighbours(self.url, word, self._answer("/vector_similarity", body), calibrated)

    def nearby_many(
        self,
        words: Iterable[str],
        size: int = 10,
        collection: str | None = None,
        *,
        calibrated: bool = False,
        return_errors: bool = False,
        **filters: Any,
    ) -> list[Neighbours | ClientError]:
        """:meth:`nearby` of each word, in order, in requests of at most ``max_items`` words.
        A word the service refuses raises its :class:`ClientError`, or, with
        ``return_errors=True``, leaves that error in its place."""
        words = list(words)
        for i, word in enumerate(words):
            _check_text(word, f"words[{i}]")
        out: list[Neighbours | ClientError] = []
        for start in range(0, len(words), self.max_items):
            chunk = words[start : start + self.max_items]
            body = self._similarity_body(chunk, size, collection, calibrated, filters)
            answers = self._answer("/vector_similarity", body, start, len(words))
            if not isinstance(answers, list) or len(answers) != len(chunk):
                raise UnexpectedAnswer(self.url + "/vector_similarity", "not one answer per word")
            for offset, (word, answer) in enumerate(zip(chunk, answers, strict=True)):
                if isinstance(answer, dict) and answer.get("ok") is False:
                    subject = f"words[{start + offset}] {word!r}"
                    error = ClientError(
                        int(answer.get("status", 400)), str(answer.get("error")), self.url, subject
                    )
                    if not return_errors:
                        raise error
                    out.append(error)
                else:
                    out.append(_neighbours(self.url, word, answer, calibrated))
        return out

    # --- compare -----------------------------------------------------------------------

    def compare(self, a: str, b: str, collection: str | None = None, *, calibrated: bool = False) -> float:
        """The similarity of ``a`` and ``b``: the service's ``distance`` (inner product of
        their unit vectors), or its calibrated ``score`` with ``calibrated=True``."""
        _check_text(a, "a")
        _check_text(b, "b")
        body = {"a": a, "b": b, **_common(collection, calibrated)}
        return _pair_score(self.url, self._answer("/compare", body), calibrated)

    def compare_many(
        self, pairs: Iterable[Sequence[str]], collection: str | None = None, *, calibrated: bool = False
    ) -> list[float]:
        """:meth:`compare` of each ``(a, b)``, in order, in requests of at most ``max_items``
        pairs; a pair the service refuses raises its :class:`ClientError`."""
        pairs = [list(pair) for pair in pairs]
        for i, pair in enumerate(pairs):
            if len(pair) != 2:
                raise ValueError(f"pairs[{i}] must be two texts, not {len(pair)}")
            _check_text(pair[0], f"pairs[{i}][0]")
            _check_text(pair[1], f"pairs[{i}][1]")
        out: list[float] = []
        for start in range(0, len(pairs), self.max_items):
            chunk = pairs[start : start + self.max_items]
            body = {"pairs": chunk, **_common(collection, calibrated)}
            answer = self._answer("/compare", body, start, len(pairs))
            results = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(results, list) or len(results) != len(chunk):
                raise UnexpectedAnswer(self.url + "/compare", "not one result per pair")
            out.extend(_pair_score(self.url, result, calibrated) for result in results)
        return out

    # --- requests ----------------------------------------------------------------------

    def _similarity_body(self, usr_input, size, collection, calibrated, filters) -> dict[str, Any]:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a whole number of at least 1, not {size!r}")
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise TypeError(f"unknown filter {unknown[0]!r}; the service's filters are {', '.join(FILTERS)}")
        given = {name: value for name, value in filters.items() if value is not None}
        return {"usr_input": usr_input, "top_k": size, **_common(collection, calibrated), **given}

    def _answer(self, path: str, body: dict[str, Any], start: int = 0, total: int = 0) -> Any:
        """The decoded answer; a refusal of one of several requests says which items it held."""
        try:
            return self._http.post_json(path, body)
        except ClientError as exc:
            if total <= self.max_items:
                raise
            end = min(start + self.max_items, total) - 1
            raise ClientError(
                exc.status, exc.message, self.url, f"the request of items {start} to {end}"
            ) from None


def _common(collection: str | None, calibrated: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if collection is not None:
        body["collection"] = collection
    if calibrated:
        body["score"] = "calibrated"
    return body


def _check_text(text: Any, name: str) -> None:
    """Only the type is checked here: the service applies the text policy (its 400 says why)."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a string, not {type(text).__name__}")


def _normalized(text: str) -> str:
    """The service's normalisation (wordsim/service/params.py): NFKC, then trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def _neighbours(url: str, word: str, answer: Any, calibrated: bool) -> Neighbours:
    hits = answer.get(RESULT_KEY) if isinstance(answer, dict) else None
    if not isinstance(hits, dict):
        raise UnexpectedAnswer(url + "/vector_similarity", f"no {RESULT_KEY!r} in the answer")
    key = "score" if calibrated else "distance"
    try:
        pairs = [(str(hit["fields"]["text"]), float(hit[key])) for hit in hits.values()]
    except (KeyError, TypeError, ValueError):
        raise UnexpectedAnswer(url + "/vector_similarity", f"a hit without its text or {key}") from None
    text = _normalized(word)
    pairs.sort(key=lambda pair: pair[0] != text)  # the word itself first; stable otherwise
    return [w for w, _ in pairs], [s for _, s in pairs]


def _pair_score(url: str, answer: Any, calibrated: bool) -> float:
    key = "score" if calibrated else "distance"
    value = answer.get(key) if isinstance(answer, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnexpectedAnswer(url + "/compare", f"no {key} in the answer")
    return float(value)
