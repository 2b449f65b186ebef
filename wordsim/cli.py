"""``wordsim``: the service from the command line, through :mod:`wordsim.client`.

    wordsim nearby 教师 [教学 ...] [--size 10] [--collection C] [--calibrated] [--json]
    wordsim compare 医生 护士 [--collection C] [--calibrated] [--json]

The service's address comes from ``--url``, else ``WORDSIM_URL``, else the service's own
default (http://127.0.0.1:8848); its key from ``WORDSIM_API_KEY``. A readable table by
default; ``--json`` prints one JSON document. Any failure is one line on stderr and an
exit status (README, "Command line and Python client"): 0 answered, 1 the service failed
(5xx) or answered something else, 2 bad input, 3 the service unreachable, 4 the service
refused the request (4xx), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
from collections.abc import Sequence

from wordsim.client import DEFAULT_URL, Client, ClientError, ServiceUnreachable, WordsimError

OK, FAILED, BAD_INPUT, UNREACHABLE, REFUSED, INTERRUPTED = 0, 1, 2, 3, 4, 130


class Parser(argparse.ArgumentParser):
    """A usage error is one line, as every other failure."""

    def error(self, message: str):
        self.exit(BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    if not (text.strip().isascii() and text.strip().isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def word(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"a word must not be empty, not {text!r}")
    return text


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument("--url", help=f"the service (default: $WORDSIM_URL, else {DEFAULT_URL})")
    common.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    common.add_argument("--collection", help="a served collection (default: the service's first)")
    common.add_argument("--calibrated", action="store_true", help="calibrated scores instead of distances")
    common.add_argument("--json", action="store_true", help="print one JSON document")
    parser = Parser(
        prog="wordsim",
        description="Chinese word similarity from the wordsim service. The key: $WORDSIM_API_KEY.",
        epilog="exit status: 0 answered, 1 the service failed, 2 bad input, 3 unreachable, 4 refused (4xx)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{nearby,compare}")
    nearby = commands.add_parser("nearby", parents=[common], help="the words nearest to a word")
    nearby.add_argument("words", nargs="+", type=word, metavar="WORD", help="one or more words")
    nearby.add_argument("--size", type=positive_int, default=10, help="words per answer, the word included")
    nearby.add_argument("--min-score", type=float, help="only scores at or above this")
    nearby.add_argument("--pos", help="jieba part-of-speech tags, comma-separated (n,v,nr)")
    nearby.add_argument("--min-freq", type=int, help="only words of at least this jieba frequency")
    nearby.add_argument("--exclude-self", action="store_true", help="drop the word itself")
    nearby.add_argument(
        "--exclude-overlap", action="store_true", help="drop words containing it or inside it"
    )
    compare = commands.add_parser("compare", parents=[common], help="the similarity of two words")
    compare.add_argument("a", type=word, metavar="A")
    compare.add_argument("b", type=word, metavar="B")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        client = Client(
            args.url or os.environ.get("WORDSIM_URL") or DEFAULT_URL,
            api_key=os.environ.get("WORDSIM_API_KEY") or None,
            timeout=args.timeout,
        )
        return run(client, args)
    except ValueError as exc:  # a bad --url or --timeout
        return fail(BAD_INPUT, exc)
    except ServiceUnreachable as exc:
        return fail(UNREACHABLE, exc)
    except ClientError as exc:
        return fail(REFUSED, exc)
    except WordsimError as exc:
        return fail(FAILED, exc)
    except KeyboardInterrupt:
        return fail(INTERRUPTED, "interrupted")
    except BrokenPipeError:  # e.g. | head: the reader left; nothing more to write
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED


def run(client: Client, args: argparse.Namespace) -> int:
    if args.command == "compare":
        score = client.compare(args.a, args.b, args.collection, calibrated=args.calibrated)
        doc = {"a": args.a, "b": args.b, "score": score}
        emit(doc if args.json else table(["a", "b", label(args)], [[args.a, args.b, f"{score:.4f}"]]))
        return OK
    filters = {
        "min_score": args.min_score,
        "pos": args.pos,
        "min_freq": args.min_freq,
        "exclude_self": args.exclude_self or None,
        "exclude_overlap": args.exclude_overlap or None,
    }
    if len(args.words) == 1:
        answers = [
            client.nearby(args.words[0], args.size, args.collection, calibrated=args.calibrated, **filters)
        ]
    else:
        answers = client.nearby_many(
            args.words, args.size, args.collection, calibrated=args.calibrated, return_errors=True, **filters
        )
    docs, texts = [], []
    for text, answer in zip(args.words, answers, strict=True):
        if isinstance(answer, ClientError):
            docs.append({"word": text, "error": answer.message, "status": answer.status})
            texts.append(f"{text}: error: {answer.message}")
            continue
        words, scores = answer
        docs.append({"word": text, "words": words, "scores": scores})
        rows = [[str(rank), w, f"{s:.4f}"] for rank, (w, s) in enumerate(zip(words, scores, strict=True), 1)]
        header = "" if len(args.words) == 1 else f"{text}\n"
        texts.append(header + (table(["rank", "word", label(args)], rows) if rows else "(no words)"))
    if args.json:
        emit(docs[0] if len(docs) == 1 else docs)
    else:
        emit("\n\n".join(texts))
    refused = [a for a in answers if isinstance(a, ClientError)]
    for error in refused:
        print(f"wordsim: error: {error}", file=sys.stderr)
    return REFUSED if refused else OK


def label(args: argparse.Namespace) -> str:
    return "score" if args.calibrated else "distance"


def width(text: str) -> int:
    """Columns a terminal gives ``text``: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns aligned: the word column to the left, rank and scores to the right."""
    lines = [header, *rows]
    widths = [max(width(line[i]) for line in lines) for i in range(len(header))]
    left = {i for i, name in enumerate(header) if name in ("word", "a", "b")}
    out = []
    for line in lines:
        cells = []
        for i, cell in enumerate(line):
            pad = " " * (widths[i] - width(cell))
            cells.append(cell + pad if i in left else pad + cell)
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def emit(doc: object) -> None:
    print(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False))


def fail(code: int, error: object) -> int:
    print(f"wordsim: error: {' '.join(str(error).split())}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
