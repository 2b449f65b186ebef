"""Encode a word list and load it into Milvus; safe to interrupt and re-run.

    python insert_data_to_milvus.py                 # jieba's dict.txt, 349,046 words
    python insert_data_to_milvus.py --input my.txt  # "word freq pos" or one word per line
    python insert_data_to_milvus.py --drop          # rebuild from scratch

The source is cut into chunks of consecutive lines; encoding of chunk k+1 overlaps the
insert of chunk k. A new collection is filled without an index, then compacted and
indexed once, then loaded. A re-run continues where the last one stopped and never
duplicates a row: it indexes and loads what is there, counts the ids of each chunk,
skips complete chunks, upserts partial ones (a run killed mid-chunk), then compacts
and indexes what it added.
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from config import Settings, configure_logging, load_settings
from model_source import ModelNotFoundError, resolve_model
from word_source import Word, jieba_dict_path, read_words

log = logging.getLogger("wordsim.ingest")

INSERT_BATCH_ROWS = 4096
"""Rows per insert call: ~5 MB of vectors, well under gRPC's 64 MB message cap."""


@dataclass
class Chunk:
    words: list[Word]
    upsert: bool


def parse_id_range(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not START:END") from None
    if not 0 <= a < b:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 <= START < END")
    return a, b


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", type=Path, help="word list (default: jieba's dict.txt)")
    p.add_argument("--limit", type=int, help="only the first N lines of the source")
    p.add_argument(
        "--id-range",
        type=parse_id_range,
        action="append",
        metavar="START:END",
        help="only lines with START <= id < END (repeatable); ids stay line numbers",
    )
    p.add_argument("--batch-size", type=int, default=settings.encode_batch_size, help="texts per model call")
    p.add_argument(
        "--chunk-size", type=int, default=settings.ingest_chunk_size, help="source lines per resumable unit"
    )
    p.add_argument("--drop", action="store_true", help="drop the collection and rebuild it from scratch")
    p.add_argument("--milvus-uri", default=settings.milvus_uri, help="Milvus URI or Milvus Lite .db file")
    p.add_argument("--collection", default=settings.collection)
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    return p


def plan_chunks(store, words: Sequence[Word], chunk_size: int, *, fresh: bool) -> list[Chunk]:
    """Chunks still to write: absent ones are inserted, partial ones upserted."""
    todo = []
    for start in range(0, len(words), chunk_size):
        part = list(words[start : start + chunk_size])
        present = 0 if fresh else store.count(part[0].id, part[-1].id)
        if present < len(part):
            todo.append(Chunk(part, upsert=present > 0))
    return todo


class Writer(threading.Thread):
    """Inserts encoded chunks while the main thread encodes the next one."""

    def __init__(self, store, progress) -> None:
        super().__init__(name="milvus-writer", daemon=True)
        self.store = store
        self.progress = progress
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
            except BaseException as exc:  # re-raised in the main thread
                self.error = exc


def run_ingest(settings: Settings, args: argparse.Namespace) -> int:
    """Load the source into the collection; returns the process exit code."""
    from store import StoreError, WordStore

    source_path = args.input or jieba_dict_path()
    report = read_words(source_path, limit=args.limit, id_ranges=args.id_range)
    log.info("source %s", report.summary())
    if not report.words:
        log.error("no words to load from %s", source_path)
        return 1

    try:
        model = resolve_model(settings)
    except ModelNotFoundError as exc:
        log.error("%s", exc)
        return 2
    try:
        store = WordStore.open(settings)
    except StoreError as exc:
        log.error("%s", exc)
        return 2
    try:
        if args.drop:
            store.drop()
        fresh = not store.exists()
        if not fresh:
            store.check_model(model.fingerprint)
            if not store.has_index():
                # An earlier bulk load stopped before its index: counting rows needs a
                # loaded collection, and loading needs the index.
                log.info("collection %s has no index yet: indexing the rows it holds", store.name)
                store.flush()
                merge_index_load(store)
            else:
                store.ensure_loaded()
        todo = plan_chunks(store, report.words, args.chunk_size, fresh=fresh)
        pending = sum(len(c.words) for c in todo)
        log.info("%d of %d words to write (%d chunks)", pending, len(report.words), len(todo))
        if todo:
            write_chunks(settings, store, model, todo, pending, args)
        store.flush()
        if todo:
            # The whole collection once on a first load, only the merged segments on a
            # resumed one.
            merge_index_load(store)
        total = store.count()
        expected = len(report.words)
        status = "OK" if total == expected else "MISMATCH"
        print(f"collection {store.name}: {total} rows, source: {expected} words -> {status}", flush=True)
        if total != expected:
            log.error("row count differs from the source; rebuild with --drop if the source changed")
            return 1
        return 0
    except StoreError as exc:
        log.error("%s", exc)
        return 2
    finally:
        store.close()


def merge_index_load(store) -> None:
    """Merge the flushed segments, index them (creating the index if missing), load."""
    t0 = time.perf_counter()
    store.compact()
    store.build_index()
    store.ensure_loaded()
    log.info("compacted, indexed and loaded in %.1f s", time.perf_counter() - t0)


def write_chunks(settings, store, model, todo: list[Chunk], pending: int, args) -> None:
    from tqdm import tqdm

    from embedding import encoder_for

    encoder = encoder_for(settings.replace(encode_batch_size=args.batch_size), model)
    if not store.exists():
        store.create(encoder.dim, model.fingerprint, sum(len(c.words) for c in todo))
    progress = tqdm(
        total=pending,
        unit="word",
        unit_scale=True,
        # Redirected to a file (make run > log, CI): a line every 30 s, not a stream of \r.
        mininterval=1.0 if sys.stderr.isatty() else 30.0,
        smoothing=0.1,
        disable=args.no_progress,
        file=sys.stderr,
    )
    writer = Writer(store, progress)
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
        progress.close()
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


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    base = load_settings()
    args = build_parser(base).parse_args(argv)
    settings = base.replace(milvus_uri=args.milvus_uri, collection=args.collection)
    return run_ingest(settings, args)


if __name__ == "__main__":
    sys.exit(main())
