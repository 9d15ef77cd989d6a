"""Normalising report text while keeping a map back to raw offsets.

Rules and patterns see one canonical form of the text: full-width digits and
signs folded to ASCII, traditional characters simplified (one character for
one, via OpenCC's character table, so lengths never change), and paragraphs
that PDF conversion broke across lines joined again, with captions that
interrupted them moved after the paragraph. Every character of the
normalised text remembers the raw offset it came from, so a fact found here
still points at the characters of the file as read.
"""
from __future__ import annotations

import bisect
import importlib.util
import re
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import regex

# Full-width forms that matter to numbers; Chinese punctuation (，。：) stays.
_FOLD = {0xFF10 + i: 0x30 + i for i in range(10)}
_FOLD.update({0xFF21 + i: 0x41 + i for i in range(26)})
_FOLD.update({0xFF41 + i: 0x61 + i for i in range(26)})
_FOLD.update({ord(a): ord(b) for a, b in zip("％．＋－／～＜＞＝−\u3000\xa0", "%.+-/~<>=- ")})
_FOLD.update({ord(a): ord(b) for a, b in zip("﹪﹢﹣", "%+-")})  # small form variants (28.39﹪)

_TERMINAL = set("。！？!?：:…”’」』）)】]*|#>")  # a line ending in ； continues its sentence
_LIST_NUMERALS = "一二三四五六七八九十"  # numbering of list items and headings (一、 （三） 第二章)
_BLOCK_START = regex.compile(
    rf"^\s*(?:#|[-*+]\s|>|\||\d+[.、．]\s*\S|[（(][{_LIST_NUMERALS}\d]+[）)]|[{_LIST_NUMERALS}]+、|●|■|◆"
    rf"|第[{_LIST_NUMERALS}\d]+[章节条])"
)
_SECTION_HEAD = regex.compile(r"^[^\s：:，。,]{2,8}[：:]")  # 丽水：优化服务… opens a section
_MIN_BODY = 20  # a line at least this long, ending mid-sentence, is a broken body line
_MAX_CAPTION = 30  # a line this short with no punctuation may be a caption
_MAX_CAPTIONS = 3


@dataclass(frozen=True)
class OffsetMap:
    """The raw offset of every normalised offset, 0 to len(text) inclusive.

    Normalised text is raw lines copied whole, so it is stored as runs (where
    each starts in the normalised text and in the raw text) rather than one
    integer per character: building a per-character array cost as much as
    all the rest of normalising.
    """

    starts: array[int]  # normalised offset where each run begins, ascending
    raw: array[int]  # raw offset of each run's first character
    size: int  # len(text) + 1

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, pos: int) -> int:
        if not 0 <= pos < self.size:
            raise IndexError(f"offset {pos} outside 0..{self.size - 1}")
        k = bisect.bisect_right(self.starts, pos) - 1
        return int(self.raw[k] + pos - self.starts[k])


@dataclass(frozen=True)
class TextView:
    """Normalised text plus, for each of its characters, the raw offset it came from."""

    text: str
    to_raw: OffsetMap  # len(text) + 1 entries; the last maps the end of text

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw [start, end) covering normalised [start, end): first char to last char."""
        return self.to_raw[start], self.to_raw[end - 1] + 1


@lru_cache(maxsize=1)
def _char_table() -> dict[int, int]:
    """Full-width folding plus OpenCC's traditional-to-simplified characters."""
    table = dict(_FOLD)
    spec = importlib.util.find_spec("opencc")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "dictionary" / "TSCharacters.txt"
        for line in path.read_text(encoding="utf-8").splitlines():
            source, _, targets = line.partition("\t")
            target = targets.split(" ")[0] if targets else ""
            if len(source) == 1 and len(target) == 1 and source != target and ord(source) not in table:
                table[ord(source)] = ord(target)
    return table


# Between full-width digits a full-width comma groups thousands (１，２３４); between
# ASCII digits it stays a Chinese comma (分别为12，345件 is two numbers).
_FULL_WIDTH_DIGITS = frozenset("０１２３４５６７８９")
_FULL_WIDTH_GROUPING = regex.compile(r"(?<=[０-９])，(?=[０-９]{3}(?![０-９]))")


@lru_cache(maxsize=1)
def _char_pairs() -> tuple[frozenset[str], dict[str, str], re.Pattern[str]]:
    """The foldable characters, what each folds to, and a pattern finding any of them.

    The pattern is `re`'s: a class of the BMP ones (a table lookup per character, ~7x
    faster than `frozenset.isdisjoint` on a CJK text, which makes a string of each
    character) plus the whole range beyond the BMP, one test where `re` would try the
    foldable ones there one by one (a text holding any such character takes the slow way).
    """
    pairs = {chr(k): chr(v) for k, v in _char_table().items()}
    bmp = "".join(sorted(c for c in pairs if ord(c) <= 0xFFFF))
    return frozenset(pairs), pairs, re.compile(f"[{re.escape(bmp)}\U00010000-\U0010FFFF]")


_FEW = 24  # up to this many distinct characters to fold, str.replace beats str.translate

# Pinyin a converter inserted after characters (增長(zhǎng), 創(chuàng )新): stages that read words
# around a figure leave it out; the mention keeps it where it falls inside (the fact model says so).
PINYIN_GLOSS = regex.compile(r"[(（]\s*[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\s*[)）]")


def without_pinyin(text: str) -> str:
    """`text` without PINYIN_GLOSS matches; only a text with an opening bracket is searched
    (most are short stretches before a figure, where a search costs more than the test)."""
    return PINYIN_GLOSS.sub("", text) if "(" in text or "（" in text else text


# A gloss with a tone mark is surely pinyin (萬(wàn)件, 個(gè)百分點); `(km)` is not.
_TONED_GLOSS = regex.compile(r"[(（]\s*[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]*\s*[)）]")


def _unglossed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The pieces of text[start:end] around the pinyin glosses a converter inserted: the
    normalised text leaves them out, so 200萬(wàn)件 reads as 200萬件 while its mention,
    mapped back to the raw text, keeps the gloss inside it (as the fact model says)."""
    pieces, at = [], start
    for m in _TONED_GLOSS.finditer(text, start, end):
        if m.start() > at:
            pieces.append((at, m.start()))
        at = m.end()
    if at < end:
        pieces.append((at, end))
    return pieces


def without_glosses(text: str) -> str:
    """`text` without the pinyin a converter inserted (每万人口发(fā)明专利 -> 每万人口发明专利)."""
    return _TONED_GLOSS.sub("", text) if "(" in text or "（" in text else text


def fold_chars(text: str) -> str:
    """Character-for-character normal form (same length as the input).

    Most reports hold only a few characters to fold, and `str.translate` with
    a 4,000-entry table costs a dict lookup per character: replacing the few
    present ones is about twice as fast; a traditional-script report takes
    the table.
    """
    foldable, pairs, any_foldable = _char_pairs()
    if any_foldable.search(text) is None:
        return text  # (full-width digits are foldable too, so no grouping either)
    chars = set(text)
    if "，" in chars and not chars.isdisjoint(_FULL_WIDTH_DIGITS):
        text = _FULL_WIDTH_GROUPING.sub(",", text)
    present = chars & foldable
    if len(present) > _FEW:
        return text.translate(_char_table())
    for char in present:
        text = text.replace(char, pairs[char])
    return text


_LINE_SPACES = " \t\r\u3000"  # what a line is stripped of


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line, stripped of surrounding spaces."""
    out = []
    at = 0
    for line in text.split("\n"):  # (str methods: a regex and a loop per character cost 2x)
        stripped = line.strip(_LINE_SPACES)
        if stripped:
            s = at + len(line) - len(line.lstrip(_LINE_SPACES))
            out.append((s, s + len(stripped)))
        at += len(line) + 1
    return out


def is_table_line(line: str) -> bool:
    """A table row: cells split by tabs, or by at least two pipes."""
    return "\t" in line or line.count("|") >= 2


def is_block(line: str) -> bool:
    """Headings, list items and table rows never continue a broken paragraph."""
    return "\t" in line or "|" in line or bool(_BLOCK_START.match(line)) or \
        (len(line) <= 40 and bool(_SECTION_HEAD.match(line)))


def is_open(line: str) -> bool:
    """A body line cut mid-sentence: long, and not ending in punctuation."""
    return len(line) >= _MIN_BODY and line[-1] not in _TERMINAL and not is_block(line)


def _is_caption(line: str) -> bool:
    return len(line) < _MAX_CAPTION and not any(ch in _TERMINAL for ch in line) and not is_block(line)


def paragraphs(text: str) -> list[list[tuple[int, int]]]:
    """Logical paragraphs as lists of raw spans, broken lines joined, captions moved after."""
    lines = _lines(text)
    out: list[list[tuple[int, int]]] = []
    i = 0
    while i < len(lines):
        para = [lines[i]]
        captions: list[tuple[int, int]] = []
        while is_open(text[slice(*para[-1])]):
            j = i + 1
            skipped: list[tuple[int, int]] = []
            while j < len(lines) and len(skipped) < _MAX_CAPTIONS and _is_caption(text[slice(*lines[j])]) \
                    and j + 1 < len(lines) and not is_block(text[slice(*lines[j + 1])]):
                skipped.append(lines[j])
                j += 1
            if j >= len(lines) or is_block(text[slice(*lines[j])]):
                break
            if skipped and _is_caption(text[slice(*lines[j])]):
                break  # a run of short lines is a list of labels, not captions
            captions.extend(skipped)
            para.append(lines[j])
            i = j
        out.append(para)
        out.extend([c] for c in captions)
        i += 1
    return out


def normalise(raw: str, folded: str | None = None) -> TextView:
    """The normalised text of a report, one logical paragraph per line.

    `folded` is `fold_chars(raw)` when the caller has it already.
    """
    folded = fold_chars(raw) if folded is None else folded
    glossed = _TONED_GLOSS.search(folded) is not None
    parts: list[str] = []
    starts, raw_starts = array("q"), array("q")
    at = 0
    for para in paragraphs(folded):
        if parts:
            parts.append("\n")
            starts.append(at)
            raw_starts.append(para[0][0] - 1 if para[0][0] > 0 else 0)
            at += 1
        for s, e in (piece for line in para for piece in (_unglossed(folded, *line) if glossed else (line,))):
            parts.append(folded[s:e])
            starts.append(at)
            raw_starts.append(s)
            at += e - s
    starts.append(at)
    raw_starts.append(len(raw))
    return TextView("".join(parts), OffsetMap(starts, raw_starts, at + 1))
