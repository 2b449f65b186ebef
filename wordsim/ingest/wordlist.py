"""Read a word list: jieba's ``word freq pos`` lines, or one word per line.

A word's id is its 0-based line number in the file, so ids never shift when other lines
are skipped or a run resumes (jieba's ``dict.txt``: 教师 is line 161872).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from wordsim.store.schema import POS_MAX_BYTES, TEXT_MAX_BYTES

T = TypeVar("T")
_JIEBA_LINE = re.compile(r"^(?P<word>.+?)\s+(?P<freq>\d+)(?:\s+(?P<pos>\S+))?$")


@dataclass(frozen=True)
class Word:
    id: int
    text: str
    freq: int = 0
    pos: str = ""


@dataclass
class SourceReport:
    """What was read, and every line that was skipped, by 1-based line number."""

    path: Path
    lines: int = 0
    words: list[Word] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)

    def summary(self, limit: int = 10) -> str:
        head = f"{self.path}: {self.lines} lines, {len(self.words)} words"
        if not self.bad_lines:
            return head
        shown = "; ".join(f"line {n}: {why}" for n, why in self.bad_lines[:limit])
        more = f" (and {len(self.bad_lines) - limit} more)" if len(self.bad_lines) > limit else ""
        return f"{head}, {len(self.bad_lines)} bad lines skipped: {shown}{more}"


def jieba_dict_path() -> Path:
    """jieba's bundled ``dict.txt`` (jieba is located, not imported: importing is slow)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("jieba is not installed: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "dict.txt"


def parse_line(raw: str) -> tuple[str, int, str]:
    """(word, freq, pos) of one stripped line in either accepted format."""
    match = _JIEBA_LINE.match(raw)
    if match:
        return match["word"], int(match["freq"]), match["pos"] or ""
    return raw, 0, ""


def selected(
    items: Iterable[T], report: SourceReport, limit: int | None, id_ranges
) -> Iterator[tuple[int, T]]:
    """(id, item) of the items the run loads: id = 0-based position; ``limit`` keeps the
    first N, ``id_ranges`` the ids in one of the half-open ranges [a, b). Every item up to
    the limit counts in ``report.lines``."""
    for i, item in enumerate(items):
        if limit is not None and i >= limit:
            break
        report.lines += 1
        if id_ranges and not any(a <= i < b for a, b in id_ranges):
            continue
        yield i, item


def text_problem(word: str, pos: str = "") -> str | None:
    """Why a word (and its part of speech) cannot be stored, or None."""
    if len(word.encode("utf-8")) > TEXT_MAX_BYTES:
        return f"word longer than {TEXT_MAX_BYTES} UTF-8 bytes"
    if len(pos.encode("utf-8")) > POS_MAX_BYTES:
        return f"part of speech longer than {POS_MAX_BYTES} bytes"
    return None


def read_words(
    path: Path,
    *,
    limit: int | None = None,
    id_ranges: list[tuple[int, int]] | None = None,
) -> SourceReport:
    """Words of ``path``; ``limit`` keeps the first N lines, ``id_ranges`` keeps
    lines whose id falls in one of the half-open ranges [a, b)."""
    report = SourceReport(path=path)
    with path.open("rb") as fh:
        for line_id, raw_bytes in selected(fh, report, limit, id_ranges):
            lineno = line_id + 1
            try:
                raw = raw_bytes.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                report.bad_lines.append((lineno, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"))
                continue
            if line_id == 0:
                raw = raw.removeprefix("\ufeff")
            if not raw:
                report.bad_lines.append((lineno, "blank"))
                continue
            word, freq, pos = parse_line(raw)
            problem = text_problem(word, pos)
            if problem:
                report.bad_lines.append((lineno, problem))
                continue
            report.words.append(Word(line_id, word, freq, pos))
    return report
