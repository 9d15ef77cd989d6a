"""Attaching the metric: the short phrase naming what a figure measures.

The metric is read from the figure's clause, between the clause start and
the figure: time words, region names and filler are cut from its head;
comparisons, cue words, qualifiers and transparent words from its tail. A
change, share or rank with nothing left (同比增长31.7%, 居全省第3名) takes
the metric of the figure it refers to, the previous one in the sentence.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import regex

from pipeline.rules import Rules
from pipeline.segment import strip_end

_HEAD = regex.compile(
    r"^(?:(?:截至|截止|到|至|在|自|从|于)?\s*(?:(?:1[89]|20)\d{2}\s*年(?:度|底|末|初)?(?:\d{1,2}月(?:底|末)?)?|今年|去年|上年|目前|当前|现有|近年来|近年|以来|"
    r"据统计|据悉|其中|同时|此外|另外|全市|全省|全区|全县|全国|我市|我省|该市|该区|该县|共|累计|完成|实现|获批|已|还|并|也|均|为|，|,|、|\s))+"
)
_TAIL_CUT = regex.compile(r"(?:同比|环比|较|比上年|比去年|相比|相较|增长|增加|提高|提升|上升|下降|减少|缩减|降低|缩短|节约|居|位居|位列|排名|从|由)")
_QUOTES = regex.compile(r"[“”\"《》]")
_SUFFIX_WORDS = ("增幅", "增速", "占比", "比重", "增长率")
_AFTER = regex.compile(r"^[\p{Han}A-Za-z]{2,20}")
_NOUNISH = ("n", "vn", "b", "a", "j", "l", "an", "nz", "ng", "f", "s")


@lru_cache(maxsize=1)
def _posseg() -> Any:
    """jieba's tagger, loaded on first use: only short stretches are ever tagged."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    return jieba.posseg


@lru_cache(maxsize=4096)
def _ends_with_verb(text: str) -> bool:
    words = list(_posseg().cut(text, HMM=False))
    return bool(words) and words[-1].flag.startswith("v") and words[-1].flag != "vn"


@lru_cache(maxsize=4096)
def _noun_phrase_after(after: str) -> str | None:
    """The counted noun after a figure (开展25个|高价值专利培育项目，…), cut at its first verb."""
    m = _AFTER.match(after)
    if not m:
        return None
    out = ""
    for word in _posseg().cut(m[0], HMM=False):
        if word.flag.startswith("v") and word.flag != "vn" and out:
            break
        if not word.flag.startswith(_NOUNISH) and not out:
            return None
        out += word.word
    return out if len(out) >= 2 else None


@lru_cache(maxsize=8)
def _tail_words(rules: Rules) -> tuple[str, ...]:
    words = set(rules.cue_words("transparent")) | {w for q in rules.qualifiers for w in q.words}
    words |= set(rules.rank_scopes) | {"的", "以"}
    return tuple(sorted(words, key=len, reverse=True))


def metric_for(text: str, fig_start: int, clause_from: int, previous: str | None, rules: Rules,
               strip_regions: Callable[[str], str] = lambda s: s, after: str = "") -> str | None:
    """The metric of a figure; `previous` is the metric of the figure before it in the sentence.

    `after` is the text right after the figure: where a verb stands before a
    count (开展25个高价值专利培育项目), the counted noun after it is the metric.
    """
    prefix = text[clause_from:fig_start]
    if after and (not prefix.strip() or _ends_with_verb(prefix[-8:])):
        noun = _noun_phrase_after(after)
        if noun:
            return noun
    prefix = _QUOTES.sub("", prefix)
    head = _HEAD.sub("", strip_regions(_HEAD.sub("", prefix)))
    head = _HEAD.sub("", head)
    if head.startswith("占") and previous:
        return previous + strip_end(head, _tail_words(rules))
    cut = _TAIL_CUT.search(head)
    if cut is not None:
        head = head[: cut.start()]
    head = strip_end(head.strip(), _tail_words(rules))
    if head in _SUFFIX_WORDS and previous:
        return previous + head
    if len(head) < 2:
        return previous
    return head[-24:]
