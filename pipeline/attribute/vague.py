"""Whether a metric phrase names anything measured, and its lexicon id.

A phrase is vague when the lexicon does not name it and jieba finds no noun
in it that is not a name, place, time or scope word (依然稳居, 在本年度), when
it points back (该项指标), or, for a rank, when it names only a class of
places (省份). Readers fall back on what the sentence or paragraph says for
a vague phrase (attribute/metric.py, attribute/topics.py).
"""
from __future__ import annotations

import regex

from pipeline.rules.patterns import alternation
from pipeline.text.words import Memo, Words

_CONTENT = ("n", "vn", "nz", "j", "l", "eng")  # jieba's tags of words that can name what is measured...
_NAMES = ("nr", "ns", "nt")  # ...except names of people, places and bodies


class Vagueness:
    """The lexicon and the vague test; built once per rule set (memoised per phrase)."""

    def __init__(self, words: Words, ids: dict[str, str], *, rank_words: frozenset[str], anaphora: frozenset[str],
                 place_class: frozenset[str], measure_end: tuple[str, ...], things: tuple[str, ...],
                 head_words: frozenset[str]) -> None:
        self.words = words
        self._ids = ids
        self._lexicon = regex.compile(alternation(ids)) if ids else None
        self._rank_words = rank_words
        self._anaphora = anaphora
        self._place_class = place_class
        self._measure_end = measure_end
        self.things = regex.compile(alternation(things) or "(?!)")  # (the metric reader asks it too)
        self._head_words = head_words  # (time and scope words name nothing measured: 本年度)
        self._memos = {name: Memo() for name in ("form", "vague", "only_places")}

    def is_vague(self, metric: str | None, rank: bool = False) -> bool:
        """Does a metric phrase name nothing measured (依然稳居, 和江苏同列, 首次跻身)? It maps
        to no lexicon id and has no noun of two characters that is not a name or place. For a
        rank, a class of places (省份) names none either: it says what is ranked, not by what."""
        if not metric:
            return True
        vague: bool = self._memos["vague"].get(metric, self._vague)
        if not vague and rank:
            only_places: bool = self._memos["only_places"].get(metric, self._only_places)
            return only_places
        return vague

    def _vague(self, metric: str) -> bool:
        if self.metric_id(metric):
            return False
        if metric.strip() in self._rank_words:  # 排序 alone names no ranking
            return True
        if any(word in metric for word in self._anaphora):  # 该项指标: what it refers to is named elsewhere
            return True
        if len(metric) >= 3 and metric.endswith(self._measure_end):  # 待办量: jieba tags 待办 a verb
            return False
        if self.things.search(metric):  # 发明, 新型: what is counted, though jieba tags a verb or adjective
            return False
        return not any(names_a_thing(word, flag) and word not in self._head_words
                       for word, flag in self.words.tagged(metric))

    def _only_places(self, metric: str) -> bool:
        if self.metric_id(metric):  # (the lexicon answers first: tagging loads jieba's dictionary)
            return False
        return not any(names_a_thing(word, flag) and word not in self._place_class and word not in self._head_words
                       for word, flag in self.words.tagged(metric))

    def metric_id(self, metric: str | None) -> str | None:
        """The canonical id of a metric phrase: the longest written form it contains."""
        found = self.longest_form(metric) if metric else None
        return self._ids[found] if found else None

    def longest_form(self, metric: str) -> str | None:
        """The longest written form of the lexicon in a phrase, if any."""
        if self._lexicon is None:
            return None
        found: str | None = self._memos["form"].get(metric, self._longest_form)
        return found

    def _longest_form(self, metric: str) -> str | None:
        assert self._lexicon is not None
        found = [m[0] for m in self._lexicon.finditer(metric, overlapped=True)]
        return max(found, key=len) if found else None


def names_a_thing(word: str, flag: str) -> bool:
    """A word of two characters or more that can name what is measured."""
    return len(word) >= 2 and flag.startswith(_CONTENT) and not flag.startswith(_NAMES) and not word.isdigit()
