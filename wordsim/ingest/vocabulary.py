"""Which words of a word2vec table a collection stores: the table's real words, without the
artefacts of the corpus it was trained on (Chinese Wikipedia).

The rule (version :data:`RULE`, part of every word2vec-derived collection's fingerprint, so a
collection built under another rule is refused and rebuilt rather than served silently):

- a word of jieba's dictionary is always kept (AT&T, C#, 的士, 的黎波里);
- **markup**: a word holding one of ``< > = _ / & %`` (``</s>``, ``<doc``, ``formula_``), or one
  of :data:`MARKUP_WORDS` (wiki and CSS vocabulary: ``curid``, ``text-align``);
- **punctuation**: a word made of punctuation and symbols only (``-``, ``'``, ``$``);
- **fragment**: an ASCII word of one or two characters, unless two capital letters (an
  acronym: TV, CD, DJ): ``id``, ``zh``, ``F-``, ``x``;
- **的 composite**: 的 followed by a word jieba's dictionary or the table holds (的学生,
  的汽车), which is the particle glued to a word by the corpus' segmentation.

Everything else stays, ASCII words included (iPhone, NBA, DNA). Ids are not renumbered: a
word keeps its position in the table, the skipped ones leave gaps.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable

RULE = "vocab-clean-1"
"""Version of the rule below; bump it whenever the rule changes (collections then rebuild)."""

_MARKUP_CHARS = re.compile(r"[<>=_/&%]")
_ACRONYM = re.compile(r"^[A-Z]{2}$")
MARKUP_WORDS = frozenset(
    """curid url http https www wikipedia wiki org php asp aspx htm html nowiki noinclude
    onlyinclude ref references references-small br div span td tr th li ol ul poem small
    align valign colspan rowspan bgcolor nowrap style width height display center left right
    background background-color text-align font-size font-weight border color NavContent""".split()  # noqa: SIM905 (a word list reads better as text)
)
"""Wiki, HTML and CSS words: in a Chinese table they come from page markup, not prose."""


def problem(word: str, jieba: Collection[str], table: Collection[str]) -> str | None:
    """Why ``word`` of the table is left out (``markup``, ``punctuation``, ``fragment``,
    ``的 composite``), or None to keep it; ``jieba``/``table``: the two vocabularies."""
    if word in jieba:
        return None
    if _MARKUP_CHARS.search(word) or word in MARKUP_WORDS:
        return "markup"
    if all(unicodedata.category(ch)[0] in "PS" for ch in word):
        return "punctuation"
    if word.isascii() and len(word) <= 2 and not _ACRONYM.match(word):
        return "fragment"
    if len(word) > 1 and word[0] == "的" and (word[1:] in jieba or word[1:] in table):
        return "的 composite"
    return None


def clean(words: Iterable[str], jieba: Collection[str], table: Collection[str]) -> tuple[list[bool], Counter]:
    """Per word, whether it is kept, and how many were left out for each reason."""
    keep, dropped = [], Counter()
    for word in words:
        why = problem(word, jieba, table)
        keep.append(why is None)
        if why:
            dropped[why] += 1
    return keep, dropped
