"""The fakes of the unit tests, in one place: stand-ins for a Sanic request, the Milvus
store, the encoder and search, the local Milvus server and its supervisor, and a clock.

Each one does just what the code under test reads of the real thing, and no more; the real
components are exercised by the tests in tests/integration/."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from wordsim.local_milvus.launcher import Death, LocalMilvusError
from wordsim.local_milvus.supervisor import GaveUp
from wordsim.service import metrics
from wordsim.service.cache import AnswerCache
from wordsim.service.served import ServedCollection
from wordsim.store.added_words import WordEditor
from wordsim.store.calibration import PROP_CALIBRATION, Calibration
from wordsim.store.schema import Hit, SearchSpec


# --- a request --------------------------------------------------------------------------
@dataclass
class FakeRequest:
    """What the parser and the error renderer read of a Sanic request."""

    query_string: str = ""
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    path: str = "/vector_similarity"

    def __post_init__(self) -> None:
        self.headers = {"content-type": self.content_type, **self.headers}


def form(body: str, query: str = "") -> FakeRequest:
    return FakeRequest(query, body.encode(), "application/x-www-form-urlencoded")


def multipart(**fields: str) -> FakeRequest:
    parts = "".join(
        f'--XyZ\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()
    )
    return FakeRequest(body=f"{parts}--XyZ--\r\n".encode(), content_type="multipart/form-data; boundary=XyZ")


# --- the Milvus store -------------------------------------------------------------------
class NoMilvus:
    """A store whose every use fails the test: for code that must answer from memory."""

    def __getattr__(self, name):
        raise AssertionError(f"a probe called Milvus: store.{name}")


class CountingStore:
    """The store calls of the refresh, counted; rows, model, calibration, index state and
    reachability set by the test."""

    def __init__(self, name: str = "words") -> None:
        self.name = name
        self.rows, self.counts = 10, 0
        self.model = "m"
        self.calibration: Calibration | None = None
        self.index = {"type": "HNSW", "state": "built", "indexed_rows": 10, "rows": 10}
        self.index_calls = 0
        self.down = False
        """True: Milvus does not answer (every refresh fails)."""

    def ensure_loaded(self) -> None:
        if self.down:
            raise ConnectionError("milvus down")

    def generation(self):
        return ("id", self.rows, self.model, self.calibration)

    def count(self) -> int:
        self.counts += 1
        return self.rows

    def properties(self) -> dict[str, str]:
        return {PROP_CALIBRATION: self.calibration.to_json()} if self.calibration else {}

    def source_rows(self, properties=None) -> int:
        return 10

    def model_fingerprint(self, properties=None) -> str:
        return self.model

    def index_state(self) -> dict:
        self.index_calls += 1
        return dict(self.index)


class FakeEditor(WordEditor):
    """Ids held by other texts, without Milvus."""

    def __init__(self, held: dict[int, str]) -> None:
        self.held = held

    def texts_of(self, ids):
        return {i: self.held[i] for i in ids if i in self.held}


# --- the encoder and the search ---------------------------------------------------------
@dataclass
class FakeEncoder:
    """What the probes and the refresh read of an encoder."""

    fingerprint: str = "m@sha256:1"
    backend: str = "onnx"
    source: object = field(default_factory=lambda: SimpleNamespace(is_standin=True))


def fake_served(store=None, *, name: str = "words", fingerprint: str = "m@sha256:1") -> ServedCollection:
    """A served collection over fakes, without a batcher (nothing here searches)."""
    meter = metrics.for_collection(name)
    cache = AnswerCache(16, meter)
    return ServedCollection(
        name, "bert", FakeEncoder(fingerprint), store or NoMilvus(), cache, None, meter, owned=False
    )


class FakeBackends:
    """Encoder and search that record their calls; search is slow so queries pile up."""

    def __init__(self, fail: bool = False) -> None:
        self.encode_calls: list[list[str]] = []
        self.search_calls: list[tuple[int, int]] = []
        self.fail = fail
        self.gate = threading.Event()
        self.searching = 0
        """Searches entered (each then waits for the gate)."""

    def encode(self, texts: list[str]) -> tuple[np.ndarray, None]:
        """Vectors as the batcher takes them (no per-text sources: a BERT-like encoder)."""
        self.encode_calls.append(list(texts))
        return np.array([[float(len(t))] for t in texts], dtype=np.float32), None

    def search(self, vectors: np.ndarray, spec: SearchSpec) -> list[list[Hit]]:
        top_k = spec.limit
        self.searching += 1
        self.gate.wait(5)
        self.search_calls.append((len(vectors), top_k))
        if self.fail:
            raise ConnectionError("milvus down")
        return [[Hit(int(v[0]) * 100 + i, 1.0 - i / 10, f"w{i}") for i in range(top_k)] for v in vectors]


class PickyEncoder(FakeBackends):
    """An encoder that refuses any batch holding the text "bad", as a real one may refuse
    an input that slipped past validation."""

    def encode(self, texts: list[str]) -> tuple[np.ndarray, None]:
        if "bad" in texts:
            self.encode_calls.append(list(texts))
            raise ValueError("cannot encode 'bad'")
        return super().encode(texts)


# --- the local Milvus server and its supervisor -----------------------------------------
class FakeLocalMilvus:
    """Dies when told; each start fails while ``failures`` remain."""

    uri = "http://127.0.0.1:1"

    def __init__(self, failures: int = 0) -> None:
        self.death: Death | None = None
        self.failures = failures
        self.starts = 0

    def exited(self) -> Death | None:
        return self.death

    def start(self) -> None:
        self.starts += 1
        if self.failures:
            self.failures -= 1
            raise LocalMilvusError("port in use")
        self.death = None


class NoMilvusProcess:
    """A local Milvus with no process to wait on (no file descriptor)."""

    def fileno(self) -> int:
        return -1


class GivingUp:
    """A supervisor that has given up at once."""

    def check(self) -> None:
        raise GaveUp("local Milvus: giving up after 5 restart(s)")


class Running:
    """A supervisor whose Milvus never dies."""

    def check(self) -> None:
        pass


# --- time -------------------------------------------------------------------------------
class FakeClock:
    """Time that moves only when told: ``now`` set by the test, or advanced by ``wait``,
    which records each wait and is never interrupted."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False
