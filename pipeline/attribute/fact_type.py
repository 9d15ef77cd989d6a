"""Attaching the type of a figure (level, change, share, rank, target) and its sign.

Cue words come from rules/cues.yaml. An adjacent cue (同比增长31.7%) is read
from the end of the text right before the figure, skipping transparent words
(达, 了, 分别) and qualifiers; a clause cue (占…的3.67%) anywhere earlier in
the clause; a sentence cue (到2025年，…) anywhere in the sentence. A figure
after a list joiner (28%和53%) takes the previous figure's type and sign.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

from pipeline.figures.finder import Figure
from pipeline.rules.load import Rules
from pipeline.text.segment import EndWords


@dataclass(frozen=True)
class Kind:
    type: str
    sign: int


@dataclass(frozen=True)
class _Cues:
    adjacent: tuple[tuple[str, str, int], ...]  # (word, type, sign), longest first
    sentence: tuple[tuple[str, str], ...]
    sentence_patterns: tuple[tuple[object, str], ...]
    transparent: EndWords
    joiners: tuple[str, ...]
    share_clause: tuple[str, ...]  # the clause cue words of each type, looked up per figure
    target_clause: tuple[str, ...]


@lru_cache(maxsize=8)
def _cues(rules: Rules) -> _Cues:
    adjacent, clause, sentence, patterns = [], [], [], []
    for cue in rules.cues:
        if cue.kind in ("transparent", "joiner", "entity"):
            continue
        if cue.pattern is not None:
            patterns.append((cue.pattern, cue.kind))
        elif cue.reach == "adjacent":
            adjacent.extend((w, cue.kind, cue.sign) for w in cue.words)
        elif cue.reach == "sentence":
            sentence.extend((w, cue.kind) for w in cue.words)
        else:
            clause.extend((w, cue.kind) for w in cue.words)
    transparent = set(rules.cue_words("transparent")) | {w for q in rules.qualifiers for w in q.words}
    return _Cues(tuple(sorted(adjacent, key=lambda x: -len(x[0]))), tuple(sentence), tuple(patterns),
                 EndWords(tuple(transparent)), tuple(rules.cue_words("joiner")),
                 tuple(w for w, k in clause if k == "share"), tuple(w for w, k in clause if k == "target"))


@lru_cache(maxsize=8)
def _adjacent(rules: Rules) -> tuple[regex.Pattern[str], dict[str, tuple[str, int]], int]:
    """One end-anchored pattern for every adjacent cue word, longest first, and
    the longest word's length (a search need start no further back)."""
    by_word = {w: (k, sign) for w, k, sign in _cues(rules).adjacent}
    alternation = "|".join(regex.escape(w) for w in sorted(by_word, key=len, reverse=True))
    return regex.compile(f"(?:{alternation})$"), by_word, max(map(len, by_word), default=0)


def target_sentence(sentence: str, rules: Rules) -> bool:
    """Does the sentence state a goal (到2025年，…达到)? Asked once per sentence."""
    cues = _cues(rules)
    return any(k == "target" and p.search(sentence) for p, k in cues.sentence_patterns) or \
        any(w in sentence for w, k in cues.sentence if k == "target")  # type: ignore[attr-defined]


def classify(text: str, fig: Figure, clause_from: int, sentence: tuple[int, int],
             previous: tuple[Figure, Kind] | None, rules: Rules, plan_year: int | None,
             in_target_sentence: bool | None = None) -> Kind:
    """The type and sign of `fig` from the cues around it.

    `in_target_sentence` is `target_sentence` of the figure's sentence, when the
    caller has it already.
    """
    cues = _cues(rules)
    prefix = text[clause_from:fig.start]
    bare_prefix = cues.transparent.strip(prefix)
    if previous is not None:
        prev_fig, prev_kind = previous
        gap = text[prev_fig.end:fig.start].strip()
        if prev_fig.end >= clause_from - 1 and gap in cues.joiners and prev_fig.dimension == fig.dimension:
            return prev_kind
    if in_target_sentence is None:
        in_target_sentence = target_sentence(text[sentence[0]:sentence[1]], rules)
    if fig.dimension != "rank" and in_target_sentence:
        return Kind("target", 1)  # a goal, even when it is a growth rate (预期目标：增长6%左右)
    adjacent, by_word, longest = _adjacent(rules)
    m = adjacent.search(prefix, max(0, len(prefix) - longest)) or \
        adjacent.search(bare_prefix, max(0, len(bare_prefix) - longest))
    if m is not None:
        kind, sign = by_word[m[0]]
        new = prefix.endswith("新" + m[0]) or bare_prefix.endswith("新" + m[0])
        if kind == "change" and new:
            pass  # 新增 counts a period's new items: a level
        elif not (kind == "share" and fig.dimension != "percent"):
            return Kind(kind, sign)
    if fig.dimension == "rank":
        return Kind("rank", 1)
    if fig.dimension == "percent" and any(w in prefix for w in cues.share_clause):
        return Kind("share", 1)
    if fig.rule in ("unit.percent.tenth", "unit.percent.half", "unit.percent.fraction"):
        return Kind("share", 1)
    if any(w in prefix for w in cues.target_clause):
        return Kind("target", 1)
    if plan_year is not None:
        return Kind("target", 1)
    return Kind("level", 1)
