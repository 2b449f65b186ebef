"""Encode a word list and load it into Milvus; safe to interrupt and re-run.

    python insert_data_to_milvus.py                 # jieba's dict.txt, 349,046 words
    python insert_data_to_milvus.py --input my.txt  # "word freq pos" or one word per line
    python insert_data_to_milvus.py --rebuild       # a new version; the service keeps answering
    python insert_data_to_milvus.py --rebuild-if-changed  # rebuild only if built with another model
    python insert_data_to_milvus.py --drop          # drop everything and load from scratch
    python insert_data_to_milvus.py --collection words_semantic   # the word2vec collection
    python insert_data_to_milvus.py --all-collections             # every served collection
    python insert_data_to_milvus.py --all-collections --serve-before-index  # make run: answers sooner

A word's id is its 0-based line number in the source (jieba's dict.txt: 教师 is 161872).
A re-run continues where the last one stopped and never duplicates a row; the last line
printed says whether the collection holds exactly the source's words. How the load works:
``wordsim/ingest/pipeline.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wordsim.ingest.pipeline import IngestOptions, run_ingest
from wordsim.settings import MODEL_KINDS, Settings, configure_logging, load_settings


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
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--rebuild",
        action="store_true",
        help="load a new version of the collection while the current one keeps serving, then switch",
    )
    mode.add_argument(
        "--rebuild-if-changed",
        action="store_true",
        help="rebuild (as --rebuild) only a collection that holds another model's vectors (make run uses it)",
    )
    mode.add_argument(
        "--drop",
        action="store_true",
        help="drop the collection and load it from scratch (no answers meanwhile)",
    )
    p.add_argument("--milvus-uri", default=settings.milvus_uri, help="Milvus URI or Milvus Lite .db file")
    p.add_argument("--collection", default=settings.collection)
    p.add_argument(
        "--kind",
        choices=sorted(MODEL_KINDS),
        help="model kind of the collection (default: the kind WORDSIM_COLLECTIONS gives it, else bert)",
    )
    p.add_argument(
        "--all-collections",
        action="store_true",
        help="load every served collection (WORDSIM_COLLECTION, WORDSIM_COLLECTIONS)",
    )
    p.add_argument(
        "--serve-before-index",
        action="store_true",
        help="load the collection as soon as its index is asked for: answers start an index build "
        "sooner, searched exhaustively until Milvus has built the index (not with --rebuild)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    return p


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    base = load_settings()
    args = build_parser(base).parse_args(argv)
    settings = base.replace(
        milvus_uri=args.milvus_uri, collection=args.collection, encode_batch_size=args.batch_size
    )
    if args.all_collections:
        if args.input or args.kind or args.collection != base.collection:
            print("--all-collections takes no --input, --kind or --collection", file=sys.stderr)
            return 2
        for name, kind in settings.served_collections:
            code = run_ingest(settings.replace(collection=name), options_of(args, kind))
            if code:
                return code
        return 0
    return run_ingest(settings, options_of(args, args.kind))


def options_of(args: argparse.Namespace, kind: str | None) -> IngestOptions:
    return IngestOptions(
        source=args.input,
        kind=kind,
        limit=args.limit,
        id_ranges=args.id_range,
        chunk_size=args.chunk_size,
        drop=args.drop,
        rebuild=args.rebuild,
        rebuild_if_changed=args.rebuild_if_changed,
        progress=not args.no_progress,
        wait_for_index=not args.serve_before_index,
    )


if __name__ == "__main__":
    sys.exit(main())
