"""Words: jieba's segmentation and part-of-speech tags, with the field's terms, owned by one rule set.

Two stages need words: the metric reader tags the few words around a figure
(is this a verb? where does the noun phrase end?), and the gazetteer asks
whether a county's short name is a word where it stands (新和 in 创新和 is
not). Both read the same dictionary: jieba's, plus the terms of
rules/metrics.yaml (高价值发明专利), which must never be split.

A `Words` owns its tokenizer: jieba's module-level one is never touched, so
what one rule set adds cannot leak into another, and the answers never
depend on what ran before in the process. The dictionary (~1 s, ~100 MB)
loads on first use, in the process that uses it, not where the rules were
compiled: a pickled `Words` travels as its terms. Answers are memoised per
text; they are a pure function of the text and the terms.

Jieba is a hundred times slower than the patterns, so it only ever reads
short stretches (a few to a few dozen characters), never whole documents.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

import regex

# jieba's own character classes (jieba/posseg/__init__.py), for tagging text
# that is not all Chinese the way jieba.posseg.cut(text, HMM=False) does.
_HAN_BLOCK = regex.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._]+)")
_SKIP = regex.compile(r"(\r\n|\s)")
_NUM = regex.compile(r"[\.0-9]+")
_ENG = regex.compile(r"[a-zA-Z0-9]+")
_ENG1 = regex.compile(r"^[a-zA-Z0-9]$")
_ONLY_HAN = regex.compile(r"[\u4E00-\u9FD5]+")  # jieba's own range of Chinese characters
MEMO_SIZE = 8192


class Memo:
    """A bounded memo of a pure function of one string; pickles empty."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self.values: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size, "values": {}}

    def get(self, key: str, compute: Any) -> Any:
        try:
            return self.values[key]
        except KeyError:
            if len(self.values) >= self.size:
                self.values.clear()
            value = self.values[key] = compute(key)
            return value


class Words:
    """Segmentation and tags over jieba's dictionary plus `terms` (tagged as nouns)."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        self.terms = terms
        self._tags = Memo()

    def __reduce__(self) -> tuple[Any, ...]:
        return (Words, (self.terms,))

    @functools.cached_property
    def _tokenizer(self) -> Any:
        import jieba

        logging.getLogger("jieba").setLevel(logging.WARNING)  # not its "Building prefix dict" chatter
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        for term in self.terms:  # in file order: add_word's frequency depends on what is there
            tokenizer.add_word(term, tag="n")
        return tokenizer

    @functools.cached_property
    def _tag_table(self) -> dict[str, str]:
        """word -> part of speech, from jieba's dictionary file, then the terms."""
        tokenizer = self._tokenizer
        table: dict[str, str] = {}
        with tokenizer.get_dict_file() as handle:
            for line in handle:
                parts = line.decode("utf-8").split()
                if len(parts) == 3:
                    table[parts[0]] = parts[2]
        table.update(tokenizer.user_word_tag_tab)
        return table

    @property
    def frequencies(self) -> dict[str, int]:
        """Every word with its count, and every prefix of a word with count 0 (jieba's FREQ)."""
        freq: dict[str, int] = self._tokenizer.FREQ
        return freq

    def cut(self, text: str) -> list[str]:
        """The words of `text` (jieba's cut without its HMM for unknown words)."""
        return list(self._tokenizer.cut(text, HMM=False))

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """(word, part of speech) of `text`, as `jieba.posseg.cut(text, HMM=False)` gives them."""
        result: list[tuple[str, str]] = self._tags.get(text, self._tag)
        return result

    def _tag(self, text: str) -> list[tuple[str, str]]:
        if _ONLY_HAN.fullmatch(text):  # nearly every call: the best route through the word graph
            return self._route(text)
        out: list[tuple[str, str]] = []
        for block in _HAN_BLOCK.split(text):
            if not block:
                continue
            if _HAN_BLOCK.fullmatch(block):
                out.extend(self._route(block, join_letters=True))
                continue
            for part in _SKIP.split(block):
                if _SKIP.fullmatch(part):
                    out.append((part, "x"))
                    continue
                for char in part:
                    flag = "m" if _NUM.match(char) else "eng" if _ENG.match(part) else "x"
                    out.append((char, flag))
        return out

    def _route(self, text: str, join_letters: bool = False) -> list[tuple[str, str]]:
        """jieba's best segmentation of `text`, tagged; runs of single letters or digits
        are joined into one `eng` word as jieba does."""
        tokenizer, tags = self._tokenizer, self._tag_table
        route: dict[int, tuple[float, int]] = {}
        tokenizer.calc(text, tokenizer.get_DAG(text), route)
        out: list[tuple[str, str]] = []
        buffer, i = "", 0
        while i < len(text):
            j = route[i][1] + 1
            word = text[i:j]
            if join_letters and _ENG1.match(word):
                buffer += word
            else:
                if buffer:
                    out.append((buffer, "eng"))
                    buffer = ""
                out.append((word, tags.get(word, "x")))
            i = j
        if buffer:
            out.append((buffer, "eng"))
        return out
