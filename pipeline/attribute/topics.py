"""What a figure measures when its own phrase names nothing: the topic around it.

For a rank, the ranking its sentence, paragraph or title names (全球创新指数,
…能力排名: phrases ending in a `rank_topic` word); for any figure, the label
opening its paragraph (创新环境：…) or the topic it opens with (在发明专利方面，…).
"""
from __future__ import annotations

from collections.abc import Callable

import regex

from pipeline.attribute.vague import Vagueness
from pipeline.rules.patterns import CombinedPattern, alternation
from pipeline.text.segment import EndWords
from pipeline.text.words import Words

# A year inside a phrase (the date grammar stays in code, as in attribute/period.py).
INNER_YEAR = regex.compile(r"(?<![\d.])(?:1[89]|20)\d{2}\s*年(?:度|底|末|初)?")
_LABEL = regex.compile(r"[\p{Han}A-Za-z、与和]{2,12}(?=[：:])")  # a paragraph opening 创新环境：…


class Topics:
    """Rankings and paragraph topics; built once per rule set."""

    def __init__(self, vagueness: Vagueness, words: Words, head: CombinedPattern, tail: EndWords, *,
                 rank_words: frozenset[str], of: tuple[str, ...], list_end: tuple[str, ...],
                 topic_open: tuple[str, ...], topic_close: tuple[str, ...], measure_end: tuple[str, ...]) -> None:
        self.vagueness = vagueness
        self.words = words
        self._head = head
        self._tail = tail
        self._rank_words = rank_words
        self._rank_words_longest = tuple(sorted(rank_words, key=len, reverse=True))
        self._of = of
        self._list_end = list_end
        self._opens = topic_open
        self._measure_end = measure_end
        opens, closes = alternation(topic_open) or "(?!)", alternation(topic_close) or "(?!)"
        self._frame = regex.compile(rf"\s*(?:{opens})(?P<topic>[^，,。；;：:\s]{{2,12}}?)(?:{closes})")
        ranking = alternation(tuple(rank_words)) or "(?!)"
        self._ranking = regex.compile(rf"(?<![\dA-Za-z&])[\p{{Han}}A-Za-z&\d]{{0,14}}(?:{ranking})")

    def ranking_of(self, text: str, sentence_start: int, fig_start: int, metric: str | None,
                   strip_regions: Callable[[str], str] = lambda s: s) -> str | None:
        """The ranking a rank belongs to when its sentence names one before it and its own
        phrase names no measure, only what is ranked (全球城市营商环境排行，某城市群位居第二)."""
        if metric and (self.vagueness.metric_id(metric) or metric.endswith(self._measure_end) or
                       any(word in metric for word in (*self._rank_words, *self._list_end))):
            return None  # (a list of several: the indicators ranked by, 专利创造、专利运用…)
        found = self.ranking_in(text[sentence_start:fig_start], strip_regions)
        return None if found is None or (metric and metric in found) else found  # (知识产权保护排行第2位)

    def topic(self, text: str, fig_start: int, rank: bool, title: str | None,
              strip_regions: Callable[[str], str] = lambda s: s) -> str | None:
        """What a figure measures when its clause names nothing: for a rank, the ranking
        its paragraph names last before it (全球创新指数); the label opening its paragraph
        (创新环境：…) or the topic it opens with (在发明专利方面，…); for a rank, the
        ranking its document's title names."""
        para = text.rfind("\n", 0, fig_start) + 1
        if rank and (found := self.ranking_in(text[para:fig_start], strip_regions)):
            return found
        label = _LABEL.match(text, para, fig_start)
        if label is not None:
            return self._tail.strip(self._head.cut_head(label[0])) or label[0]
        framed = self._frame.match(text, para, fig_start)  # 在发明专利方面，…: what the paragraph is about
        if framed is not None:
            return framed["topic"]
        return self.ranking_in(title, strip_regions) if rank and title else None

    def ranking_in(self, text: str, strip_regions: Callable[[str], str]) -> str | None:
        """The last ranking `text` names, trimmed of time and places (2025年全球创新指数 ->
        全球创新指数); a rank word alone (2025年排名) names none."""
        for m in reversed(list(self._ranking.finditer(text))):
            for name in self._ranking_names(INNER_YEAR.sub("", m[0])):
                head = self._head.cut_head(strip_regions(self._head.cut_head(name)))
                opening = next((w for w in self._opens if head.startswith(w) and len(head) > len(w) + 2), "")
                head = head[len(opening):]  # 在…排行中: the frame's word is no part of the name
                if head and head not in self._rank_words and not self.vagueness.is_vague(head):
                    return head
        return None

    def _ranking_names(self, phrase: str) -> list[str]:
        """Where a ranking's name may start in a phrase ending in a rank word: after its
        last 的 (机构编制的城市营商环境指数), or before it when what follows only qualifies
        the rank word (商标注册量的最新排名); none when the rank word is one of a
        list (稳定性和排名)."""
        if self._without_rank_word(phrase).endswith(self._list_end):
            return []
        at = max((phrase.rfind(word) for word in self._of), default=-1)
        if at < 0:
            return [phrase]
        after = phrase[at:].removeprefix(next(word for word in self._of if phrase.startswith(word, at)))
        return [self._after_last_verb(phrase[:at])] if self.vagueness.is_vague(after) else [after]

    def _after_last_verb(self, phrase: str) -> str:
        """公布了商标注册量 -> 商标注册量: the noun phrase after the last verb or particle."""
        words = self.words.tagged(phrase)
        cut = max((i + 1 for i, (_, flag) in enumerate(words) if flag.startswith(("v", "p", "u")) and flag != "vn"),
                  default=0)
        return "".join(word for word, _ in words[cut:])

    def _without_rank_word(self, name: str) -> str:
        for word in self._rank_words_longest:
            if name.endswith(word):
                return name[: -len(word)]
        return name
