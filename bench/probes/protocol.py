"""What the bench process and its probes share: the service's answer contract, query files
in, one JSON line out (standard library only)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULT_KEY = "相似度计算的结果为："
"""The key of the similarity answer's JSON object."""
ROUTE = "/vector_similarity"
HEALTH_ROUTE = "/health"
HOST = "127.0.0.1"
TOP_K = 3
"""Results per query: the service's default top_k, and what every probe asks for."""


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser showing the probe's docstring as its help."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_queries_arg(p: argparse.ArgumentParser) -> None:
    """The ``--queries`` option of a probe: a query file written by ``write_texts``."""
    p.add_argument("--queries", type=Path, required=True, help="JSON list of query texts")


def write_texts(path: Path, texts: list[str]) -> Path:
    """Write a query file (a JSON list of texts) for a probe; returns ``path``."""
    path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    return path


def read_texts(path: Path) -> list[str]:
    """Read a query file written by ``write_texts``."""
    return json.loads(path.read_text(encoding="utf-8"))


def emit(result: dict) -> None:
    """A probe's result: one JSON line on stdout (the last line of its output)."""
    print(json.dumps(result), flush=True)


def last_json(output: str) -> dict:
    """The result a probe printed with ``emit``."""
    return json.loads(output.strip().splitlines()[-1])
