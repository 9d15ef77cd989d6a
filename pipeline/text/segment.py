"""Segmenting normalised text into sentences and clauses.

Sentences end at 。！？ and at line ends (one logical paragraph per line
after normalisation); clauses also end at ，；：. Jieba is used only on the
short stretch of text a figure's metric needs (see `metric.py`), never on
whole documents, because it is a hundred times slower than the patterns.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import regex

from pipeline.rules.patterns import alternation
from pipeline.text.words import Memo

_SENTENCE_END = regex.compile(r"[。！？!?]+[”’」』]?|\n")
CLAUSE_MARKS = "，；：,;:。！？!?\n"


@dataclass(frozen=True)
class Sentences:
    """Sentence boundaries of one text, searchable by offset."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span_at(self, pos: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, pos) - 1
        return self.starts[max(i, 0)], self.ends[max(i, 0)]


def sentences(text: str) -> Sentences:
    starts, ends = [], []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end() if m[0] != "\n" else m.start()
        if end > pos:
            starts.append(pos)
            ends.append(end)
        pos = m.end()
    if pos < len(text):
        starts.append(pos)
        ends.append(len(text))
    if not starts:
        starts, ends = [0], [len(text)]
    return Sentences(tuple(starts), tuple(ends))


_LAST_CLAUSE_MARK = regex.compile(f"[{regex.escape(CLAUSE_MARKS)}]", flags=regex.REVERSE)


def clause_start(text: str, pos: int, floor: int = 0) -> int:
    """Start of the clause holding `pos`: after the last ，；： before it, not before `floor`.

    A reverse search runs back from `pos` at regex speed.
    """
    m = _LAST_CLAUSE_MARK.search(text, floor, pos)
    return m.end() if m else floor


class ClauseStarts:
    """`clause_start` for offsets visited in text order: the search runs back only
    to the previous offset asked about, so a clause of many figures is read once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._last = (-1, -1, -1)  # (pos, floor, start) of the previous question

    def __call__(self, pos: int, floor: int = 0) -> int:
        last_pos, last_floor, last_start = self._last
        if last_floor == floor and floor <= last_pos <= pos:
            m = _LAST_CLAUSE_MARK.search(self.text, last_pos, pos)
            start = m.end() if m else last_start
        else:
            start = clause_start(self.text, pos, floor)
        self._last = (pos, floor, start)
        return start


class EndWords:
    """Words to strip from the end of a text, repeatedly (达到了 -> ''); built once per rule set."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = tuple(sorted(set(words), key=len, reverse=True))
        self._pattern = regex.compile(rf"(?:(?:{alternation(words)})\s*)+$") if self.words else None
        self._stripped = Memo()  # `_strip` of a text ending in a word: a pure function, and such ends recur

    _WINDOW = 64  # the end of a long text is searched first...
    _MARGIN = 32  # ...and all of it only if the words run to within this of the window's start

    def strip(self, text: str) -> str:
        text = text.rstrip()
        if self._pattern is None or not text.endswith(self.words):
            return text  # most texts end in none of the words: no need to search
        if len(text) > self._WINDOW:  # (long keys would make the memo big)
            return self._strip(text)
        stripped: str = self._stripped.get(text, self._strip)
        return stripped

    def _strip(self, text: str) -> str:
        assert self._pattern is not None
        # The pattern is anchored at the end, but a search tries every start: on a
        # clause of thousands of characters (a flattened table) that made each of
        # its figures cost time in proportion to the clause.
        from_ = max(0, len(text) - self._WINDOW)
        m = self._pattern.search(text, from_)
        if from_ and (m is None or m.start() < from_ + self._MARGIN):
            m = self._pattern.search(text)
        return text[:m.start()].rstrip() if m else text
