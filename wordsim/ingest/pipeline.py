"""Encode a word list and load it into the collection; safe to interrupt and re-run.

The collection the service reads is an alias of a physical version (``wordsim/store/
versions.py``): ``--rebuild`` loads a new version while the current one serves, then
switches. The source is cut into chunks of consecutive lines; encoding of chunk k+1 overlaps the
insert of chunk k. A new collection is filled without an index, then compacted and
indexed once, then loaded. A re-run continues where the last one stopped and never
duplicates a row: it indexes and loads what is there, counts the ids of each chunk,
skips complete chunks, upserts partial ones (a run killed mid-chunk), then compacts
and indexes what it added.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wordsim.ingest.target import choose_target, switch
from wordsim.ingest.vector_source import IngestModel, words_and_model
from wordsim.ingest.wordlist import Word
from wordsim.model.source import ModelNotFoundError
from wordsim.settings import Settings
from wordsim.store.calibration import ensure_calibration
from wordsim.store.schema import ADDED_ID_OFFSET

log = logging.getLogger("wordsim.ingest")

INSERT_BATCH_ROWS = 4096
"""Rows per insert call: ~5 MB of vectors, well under gRPC's 64 MB message cap."""


@dataclass(frozen=True)
class IngestOptions:
    """What to load; the settings say where (Milvus URI, collection) and with which model."""

    source: Path | None = None
    """Word list (or word2vec file); None = jieba's dict.txt (or ``WORDSIM_WORD2VEC_PATH``)."""
    kind: str | None = None
    """Model kind (``bert``, ``word2vec``); None = the kind ``WORDSIM_COLLECTIONS`` gives the collection."""
    limit: int | None = None
    """Only the first N lines of the source."""
    id_ranges: list[tuple[int, int]] | None = None
    """Only lines whose id is in one of these half-open ranges [a, b)."""
    chunk_size: int = 8192
    drop: bool = False
    """Drop the collection (every version) and load it from scratch: no answers meanwhile."""
    rebuild: bool = False
    """Load into a new version while the current one keeps serving, then switch the alias."""
    rebuild_if_changed: bool = False
    """Rebuild (as ``rebuild``) only when the collection holds another model's vectors:
    ``make run`` brings a collection built by an older release up to date by itself."""
    progress: bool = True
    """A progress bar on stderr (besides the log lines)."""
    wait_for_index: bool = True
    """False: load (and so serve) the collection as soon as its index is asked for; Milvus
    searches it exhaustively until the index is built. A rebuild always waits (its switch
    must bring the finished index)."""


@dataclass
class Chunk:
    words: list[Word]
    upsert: bool


def plan_chunks(store, words: Sequence[Word], chunk_size: int, *, fresh: bool) -> list[Chunk]:
    """Chunks still to write: absent ones are inserted, partial ones upserted."""
    todo = []
    for start in range(0, len(words), chunk_size):
        part = list(words[start : start + chunk_size])
        present = 0 if fresh else store.count(part[0].id, part[-1].id)
        if present < len(part):
            todo.append(Chunk(part, upsert=present > 0))
    return todo


def run_ingest(settings: Settings, options: IngestOptions) -> int:
    """Load the source into the collection; returns the process exit code."""
    from wordsim.model.word2vec import Word2VecError
    from wordsim.store import connection

    try:
        report, model = words_and_model(settings, options)
    except (ModelNotFoundError, Word2VecError, FileNotFoundError) as exc:
        log.error("%s", exc)
        return 2
    log.info("source %s", report.summary())
    if not report.words:
        log.error("no words to load from %s", report.path)
        return 1
    try:
        client = connection.connect(settings)
    except connection.StoreError as exc:
        log.error("%s", exc)
        return 2
    try:
        target, replaces = choose_target(client, settings, options, model.fingerprint)
        # A rebuild always waits for its index: its switch must bring the finished index.
        code = load(settings, target, model, report.words, options, rebuilding=replaces is not None)
        if code == 0 and replaces is not None:
            switch(client, settings, model, target.name, replaces)
        return code
    except connection.StoreError as exc:
        log.error("%s", exc)
        return 2
    finally:
        connection.close(client, settings)


def load(
    settings: Settings,
    store,
    model,
    words: Sequence[Word],
    options: IngestOptions,
    *,
    rebuilding: bool = False,
) -> int:
    """Write what ``store`` lacks of ``words``, index and load it, and check the count."""
    fresh = not store.exists()
    wait = options.wait_for_index or rebuilding
    if not fresh:
        store.check_model(model.fingerprint)
        if not store.has_index():
            # An earlier bulk load stopped before its index: counting rows needs a
            # loaded collection, and loading needs the index.
            log.info("collection %s has no index yet: indexing the rows it holds", store.name)
            store.flush()
            store.merge_index_load(wait_for_index=wait)
        else:
            store.ensure_loaded()
    todo = plan_chunks(store, words, options.chunk_size, fresh=fresh)
    pending = sum(len(c.words) for c in todo)
    log.info("%d of %d words to write (%d chunks)", pending, len(words), len(todo))
    if todo:
        write_chunks(settings, store, model, todo, progress=options.progress)
    store.flush()
    if todo:
        # The whole collection once on a first load, only the merged segments on a
        # resumed one.
        store.merge_index_load(wait_for_index=wait)
    ensure_calibration(store, [w.id for w in words])
    # Words added through the API (ids from ADDED_ID_OFFSET) are kept and not counted.
    total = store.count(id_to=ADDED_ID_OFFSET - 1)
    added = store.count(id_from=ADDED_ID_OFFSET)
    status = "OK" if total == len(words) else "MISMATCH"
    name = f"{settings.collection} ({store.name})" if store.name != settings.collection else store.name
    extra = f" (+{added} added through the API)" if added else ""
    print(f"collection {name}: {total} rows{extra}, source: {len(words)} words -> {status}", flush=True)
    if total != len(words):
        log.error("row count differs from the source; if the source changed, use --rebuild (or --drop)")
        return 1
    return 0


class Writer(threading.Thread):
    """Inserts encoded chunks while the main thread encodes the next one."""

    def __init__(self, store, progress, total_chunks: int) -> None:
        super().__init__(name="milvus-writer", daemon=True)
        self.store = store
        self.progress = progress
        self.total_chunks = total_chunks
        self.chunks = 0
        self.jobs: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.rows = 0
        self.seconds = 0.0

    def run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is not None:
                continue  # drain after a failure so the producer never blocks
            chunk, vectors = job
            try:
                t0 = time.perf_counter()
                for s in range(0, len(chunk.words), INSERT_BATCH_ROWS):
                    rows = [
                        {"id": w.id, "text": w.text, "freq": w.freq, "pos": w.pos, "vector": vectors[s + i]}
                        for i, w in enumerate(chunk.words[s : s + INSERT_BATCH_ROWS])
                    ]
                    self.store.write(rows, upsert=chunk.upsert)
                    self.progress.update(len(rows))
                self.seconds += time.perf_counter() - t0
                self.rows += len(chunk.words)
                self.chunks += 1
                # A line per chunk: progress in logs where the bar is off, and a point a test
                # can stop the load at (the kill test), not a moment in time.
                log.info(
                    "chunk %d of %d written (ids %d-%d)",
                    self.chunks,
                    self.total_chunks,
                    chunk.words[0].id,
                    chunk.words[-1].id,
                )
            except BaseException as exc:  # re-raised in the main thread
                self.error = exc


def write_chunks(settings: Settings, store, model: IngestModel, todo: list[Chunk], *, progress: bool) -> None:
    """Encode ``todo`` and write it, creating the collection first if it does not exist."""
    from tqdm import tqdm

    encoder = model.encoder
    if not store.exists():
        store.create(encoder.dim, model.fingerprint, sum(len(c.words) for c in todo))
    bar = tqdm(
        total=sum(len(c.words) for c in todo),
        unit="word",
        unit_scale=True,
        # Redirected to a file (make run > log, CI): a line every 30 s, not a stream of \r.
        mininterval=1.0 if sys.stderr.isatty() else 30.0,
        smoothing=0.1,
        disable=not progress,
        file=sys.stderr,
    )
    writer = Writer(store, bar, len(todo))
    writer.start()
    t0 = time.perf_counter()
    encode_s = 0.0
    try:
        for chunk in todo:
            if writer.error is not None:
                break
            te = time.perf_counter()
            vectors = encoder.encode([w.text for w in chunk.words])
            encode_s += time.perf_counter() - te
            writer.jobs.put((chunk, vectors))
    finally:
        writer.jobs.put(None)
        writer.join()
        bar.close()
    if writer.error is not None:
        raise writer.error
    wall = time.perf_counter() - t0
    log.info(
        "wrote %d words in %.1f s: encode %.1f s (%.0f words/s), insert %.1f s (%.0f rows/s)",
        writer.rows,
        wall,
        encode_s,
        writer.rows / max(encode_s, 1e-9),
        writer.seconds,
        writer.rows / max(writer.seconds, 1e-9),
    )
