"""Attaching the type of a figure (level, change, share, rank, target) and its sign.

Cue words come from rules/cues.yaml. An adjacent cue (同比增长31.7%) is read
from the end of the text right before the figure, skipping transparent words
(达, 了, 分别) and qualifiers; a clause cue (占…的3.67%) anywhere earlier in
the clause; a sentence cue (到2025年，…) anywhere in the sentence. A figure
after a list joiner (28%和53%) takes the previous figure's type and sign.
"""
from __future__ import annotations

import bisect

import regex

from pipeline.records import Dimension, FactType, Figure, record
from pipeline.rules.patterns import UserPattern, alternation
from pipeline.rules.word_rules import CueKind, Cues, Reach
from pipeline.text.normalise import without_pinyin
from pipeline.text.segment import EndWords

_RESTATED = ("(", "（")  # a figure in brackets right after another restates it
_TYPES = {CueKind.CHANGE: FactType.CHANGE, CueKind.SHARE: FactType.SHARE, CueKind.TARGET: FactType.TARGET}


@record
class Kind:
    """A figure's type and sign (-1: a decrease, so the value is negative)."""

    type: FactType
    sign: int


class TypeCues:
    """The cue words of one rule set, compiled for `classify`."""

    def __init__(self, cues: Cues, qualifier_words: tuple[str, ...]) -> None:
        adjacent: list[tuple[str, FactType, int]] = []
        clause: list[tuple[str, FactType]] = []
        self.sentence_words: list[tuple[str, FactType]] = []
        self.sentence_patterns: list[tuple[UserPattern, FactType]] = []
        for cue in cues.rules:
            if cue.kind not in _TYPES:
                continue
            kind = _TYPES[cue.kind]
            if cue.pattern is not None:
                self.sentence_patterns.append((cue.pattern, kind))
            elif cue.reach == Reach.ADJACENT:
                adjacent.extend((w, kind, cue.sign) for w in cue.words)
            elif cue.reach == Reach.SENTENCE:
                self.sentence_words.extend((w, kind) for w in cue.words)
            else:
                clause.extend((w, kind) for w in cue.words)
        adjacent.sort(key=lambda x: -len(x[0]))
        self.by_word = {w: (k, sign) for w, k, sign in adjacent}
        self.adjacent = regex.compile(f"(?:{alternation(self.by_word) or '(?!)'})$")
        self.longest = max(map(len, self.by_word), default=0)
        self.transparent = EndWords(tuple(set(cues.words(CueKind.TRANSPARENT)) | set(qualifier_words)))
        self.joiners = frozenset(cues.words(CueKind.JOINER))
        self.new_items = tuple(cues.words(CueKind.NEW_ITEMS))
        target_words = alternation(w for w, k in self.sentence_words if k == FactType.TARGET)
        self._target_words = regex.compile(target_words) if target_words else None  # one scan, not one per word
        self._target_patterns = tuple(p for p, k in self.sentence_patterns if k == FactType.TARGET)
        self.share_clause = tuple(w for w, k in clause if k == FactType.SHARE)
        self.target_clause = tuple(w for w, k in clause if k == FactType.TARGET)

    def target_marks(self, text: str) -> tuple[int, ...]:
        """Where in `text` a goal is stated (到2025年，…; 力争): read once per text, since a
        time-limited pattern costs a fixed few microseconds a call, too much per sentence."""
        marks = [m.start() for m in self._target_words.finditer(text)] if self._target_words is not None else []
        for pattern in self._target_patterns:
            marks.extend(m.start() for m in pattern.finditer(text))
        return tuple(sorted(marks))

    @staticmethod
    def target_sentence(marks: tuple[int, ...], sentence: tuple[int, int]) -> bool:
        """Does the sentence state a goal (one of `target_marks` falls inside it)?"""
        i = bisect.bisect_left(marks, sentence[0])
        return i < len(marks) and marks[i] < sentence[1]

    def _new_items(self, prefix: str, cue: str) -> bool:
        """新增 counts a period's new items: a change word after a new-items word is a level."""
        return any(prefix.endswith(w + cue) for w in self.new_items)

    def classify(self, text: str, fig: Figure, clause_from: int, previous: tuple[Figure, Kind] | None,
                 plan_year: int | None, in_target_sentence: bool) -> Kind:
        """The type and sign of `fig` from the cues around it.

        `in_target_sentence` is `target_sentence` of the figure's sentence.
        """
        prefix = without_pinyin(text[clause_from:fig.start])  # 同比增長(zhǎng)22.33%
        bare_prefix = self.transparent.strip(prefix)
        if previous is not None:
            prev_fig, prev_kind = previous
            gap = text[prev_fig.end:fig.start].strip()
            if prev_fig.end >= clause_from - 1 and gap in self.joiners and prev_fig.dimension == fig.dimension:
                return prev_kind
            if gap in _RESTATED and prev_kind.type == FactType.CHANGE:
                return prev_kind  # 增加1,250件(8.4%): the change again, as a rate
        if fig.dimension != Dimension.RANK and in_target_sentence:
            return Kind(FactType.TARGET, 1)  # a goal, even when it is a growth rate (预期目标：增长6%左右)
        m = self.adjacent.search(prefix, max(0, len(prefix) - self.longest)) or \
            self.adjacent.search(bare_prefix, max(0, len(bare_prefix) - self.longest))
        if m is not None:
            kind, sign = self.by_word[m[0]]
            new = self._new_items(prefix, m[0]) or self._new_items(bare_prefix, m[0])
            if kind == FactType.CHANGE and new:
                pass  # 新增 counts a period's new items: a level
            elif not (kind == FactType.SHARE and fig.dimension != Dimension.PERCENT):
                return Kind(kind, sign)
        if fig.dimension == Dimension.RANK:
            return Kind(FactType.RANK, 1)
        if fig.dimension == Dimension.PERCENT and any(w in prefix for w in self.share_clause):
            return Kind(FactType.SHARE, 1)
        if fig.implied is not None:
            return Kind(fig.implied, 1)
        if any(w in prefix for w in self.target_clause):
            return Kind(FactType.TARGET, 1)
        if plan_year is not None:
            return Kind(FactType.TARGET, 1)
        return Kind(FactType.LEVEL, 1)
