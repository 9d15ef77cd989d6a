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

from pipeline.rules.load import Rules
from pipeline.text.segment import EndWords

_HEAD = regex.compile(
    r"^(?:#+\s*|[●■◆•]\s*|[一二三四五六七八九十]+、|第[一二三四五六七八九十百\d]+届|(?:截至|截止|到|至|在|自|从|于)?\s*(?:(?:1[89]|20)\d{2}\s*年(?:度|底|末|初)?(?:\d{1,2}月(?:底|末)?)?|今年|去年|上年|目前|当前|现有|近年来|近年|以来|"
    r"据统计|据悉|其中|同时|此外|另外|全市|全省|全区|全县|全国|我市|我省|该市|该区|该县|共|累计|完成|实现|获批|已|还|并|也|均|为|，|,|、|\s))+"
)
# Where the metric ends and the comparison or change begins (增加值 and 居民 are nouns).
_TAIL_CUT = regex.compile(
    r"(?:同比|环比|同口径|按可比价格计算|较|比上年|比去年|相比|相较|增长(?!率)|增加(?!值)|净增|提高|提升|上升|下降|减少|缩减|"
    r"降低|缩短|节约|居(?!民|住|家|委|然|所|室)|位居|位列|排名|从|由)")
_QUOTES = regex.compile(r"[“”\"《》]")
_SUFFIX_WORDS = ("增幅", "增速", "占比", "比重", "增长率")
_AFTER = regex.compile(r"^[“]?([\p{Han}A-Za-z]{2,20})")
_OF_AFTER = regex.compile(r"^的([\p{Han}]{2,12})")
_PREDICATE = regex.compile(r"^(?:在)?([^，。；,;：:…\n]{2,30})")
_AFTER_QUALIFIERS = regex.compile(r"^\s*(?:以上|以下|以内|左右|上下|之内|及以上)")
_STOP_FLAGS = ("v", "p", "uj", "ul", "m", "r", "c", "d")
_LIST_END = ("、", "和", "与", "及", "等", "”")
_NOUNISH = ("n", "vn", "b", "a", "j", "l", "an", "nz", "ng", "f", "s")


_TERMS: tuple[str, ...] = ()


def use_terms(terms: tuple[str, ...]) -> None:
    """Give the metric reader the field's terms (rules/metrics.yaml) as a user dictionary."""
    global _TERMS
    if terms != _TERMS:
        _TERMS = terms
        _posseg.cache_clear()
        _ends_with_verb.cache_clear()
        _noun_phrase_after.cache_clear()
        _starts_with_verb.cache_clear()


@lru_cache(maxsize=1)
def _posseg() -> Any:
    """jieba's tagger, loaded on first use, with the field's terms added.

    It shares jieba's one dictionary with the gazetteer (a second tokenizer
    would cost ~110 MB in every worker); the terms are whole words of the
    field (高价值发明专利), which never straddle a place name.
    """
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    for term in _TERMS:
        jieba.add_word(term, tag="n")
    return jieba.posseg
@lru_cache(maxsize=8)
def _lexicon(rules: Rules) -> tuple[regex.Pattern[str] | None, dict[str, str]]:
    ids = {w: m.id for m in rules.metrics for w in m.written}
    if not ids:
        return None, ids
    return regex.compile("|".join(regex.escape(w) for w in sorted(ids, key=len, reverse=True))), ids


@lru_cache(maxsize=4096)
def metric_id_for(metric: str | None, rules: Rules) -> str | None:
    """The canonical id of a metric phrase: the longest written form it contains."""
    pattern, ids = _lexicon(rules)
    if not metric or pattern is None:
        return None
    found = [m[0] for m in pattern.finditer(metric, overlapped=True)]
    return ids[max(found, key=len)] if found else None


_ONLY_HAN = regex.compile(r"[\u4E00-\u9FD5]+")  # jieba's own range of Chinese characters


def tagged(text: str) -> list[tuple[str, str]]:
    """(word, part of speech) of `text` as `jieba.posseg.cut(text, HMM=False)` gives them.

    For text of Chinese characters only (nearly every call), the same steps
    as jieba's tagger (word graph, best route, tag lookup) without its
    per-word generators and objects, which cost twice the segmentation itself.
    """
    tagger = _posseg()
    if not _ONLY_HAN.fullmatch(text):
        return [(w.word, w.flag) for w in tagger.cut(text, HMM=False)]
    pos = tagger.dt
    pos.makesure_userdict_loaded()  # the field's terms and their tags
    tokenizer, tags = pos.tokenizer, pos.word_tag_tab
    route: dict[int, tuple[float, int]] = {}
    tokenizer.calc(text, tokenizer.get_DAG(text), route)
    out, i = [], 0
    while i < len(text):
        j = route[i][1] + 1
        out.append((text[i:j], tags.get(text[i:j], "x")))
        i = j
    return out


@lru_cache(maxsize=4096)
def _ends_with_verb(text: str) -> bool:
    words = tagged(text)
    return bool(words) and words[-1][1].startswith("v") and words[-1][1] != "vn"


@lru_cache(maxsize=4096)
def _noun_phrase_after(after: str) -> str | None:
    """The counted noun after a figure (开展25个|高价值专利培育项目，…), cut at its first verb."""
    m = _AFTER.match(after)
    if not m:
        return None
    out = ""
    for word, flag in tagged(m[1]):
        if flag.startswith(_STOP_FLAGS) and flag != "vn" and out:
            break
        if not flag.startswith(_NOUNISH) and not out:
            return None
        out += word
    return out if len(out) >= 2 else None


@lru_cache(maxsize=8)
def _tail_words(rules: Rules) -> EndWords:
    words = set(rules.cue_words("transparent")) | {w for q in rules.qualifiers for w in q.words}
    words |= set(rules.rank_scopes) | {"的", "以"}
    return EndWords(tuple(words))


def is_streak(prefix: str) -> bool:
    """连续4年 / 蝉联: a run of years, which measures what follows it."""
    return prefix.rstrip().endswith(("连续", "蝉联"))


@lru_cache(maxsize=4096)
def _starts_with_verb(text: str) -> bool:
    words = tagged(text[:6])
    return bool(words) and (words[0][1].startswith("v") or words[0][0] in ("联合", "共同"))


def metric_for(text: str, fig_start: int, fig_end: int, dimension: str, clause_from: int,
               previous: str | None, rules: Rules, strip_regions: Callable[[str], str] = lambda s: s,
               unit: str | None = None) -> str | None:
    """The metric of a figure; `previous` is the metric of the figure it may refer to.

    A count followed by a noun (开展25个|高价值专利培育项目) counts that noun; a
    streak (连续4年|获国务院督查激励) measures what follows it; a figure after a
    verb followed by 的 (获得最高20%|的经费补助) measures that noun; otherwise the
    metric is read from the clause before the figure.
    """
    after = text[fig_end:fig_end + 30]
    qualified = _AFTER_QUALIFIERS.match(after)
    if qualified:  # 10件以上的: no counted noun follows
        after = after[qualified.end():]
    prefix = text[clause_from:fig_start]
    stripped = prefix.rstrip()
    def verb_before() -> bool:  # tagging costs: asked only where the answer decides (and cached)
        return bool(stripped) and _ends_with_verb(stripped[-8:])

    if not qualified and _AFTER.match(after[:24]) and (dimension == "count" or verb_before()):
        noun = _noun_phrase_after(after[:24])
        if noun:
            return noun
    if dimension == "duration" and is_streak(prefix):
        m = _PREDICATE.match(after)
        if m:
            return _tail_words(rules).strip(m[1]) or previous
    if dimension == "count" and (unit or "") and len(unit or "") >= 2:
        m = _PREDICATE.match(after)  # 10部门联合制定…: a counted noun as unit, the act names it
        if m and _starts_with_verb(m[1]):
            return m[1] + (unit or "")
    m = _OF_AFTER.match(after)
    if m and (not stripped or stripped.endswith(_LIST_END) or verb_before()):
        noun = _noun_phrase_after(m[1])
        if noun:
            return noun
    prefix = _QUOTES.sub("", prefix)
    head = _HEAD.sub("", strip_regions(_HEAD.sub("", prefix)))
    head = _HEAD.sub("", head)
    if head.startswith("占") and previous:  # 占全国总量的3.67%: a share of the previous metric
        cut = _TAIL_CUT.search(head)
        return previous + _tail_words(rules).strip(head[: cut.start()] if cut else head)
    cut = _TAIL_CUT.search(head)
    if cut is not None:
        head = head[: cut.start()]
    already = max(head.rfind("已"), head.rfind("已经"))
    if already >= 0 and len(head) - already > 3:  # 杭州知识产权法庭已审结各类知识产权案件
        head = head[already + 1:].lstrip("经")
    head = _tail_words(rules).strip(head.strip())
    if head in _SUFFIX_WORDS and previous:
        return previous + head
    if len(head) < 2 or head.endswith(_LIST_END):
        return previous
    return _trim(head)


_LONG = 16  # a metric longer than this usually still carries its subject and verb


@lru_cache(maxsize=4096)
def _trim(head: str) -> str:
    """Keep the noun phrase after the last verb or preposition of a long head
    (市场监管局指导企业通过专利质押融资获得授信 -> 授信 is too short, so the
    phrase from the last verb with a noun phrase of 2+ characters after it)."""
    if len(head) <= _LONG or "、" in head:  # a list of metrics is kept whole
        return head
    words = tagged(head)
    for i in range(len(words) - 1, 0, -1):
        if words[i - 1][1].startswith(("v", "p")) and words[i - 1][1] != "vn":
            rest = "".join(w for w, _ in words[i:])
            if len(rest) >= 4:
                return rest
    return head


def pair_respectively(texts: list[str], groups: list[tuple[list[int], list[int]]],
                      metrics: list[str | None]) -> list[str | None]:
    """`分别` lists: the i-th figure after 分别 takes the metric of the i-th figure it refers to.

    `groups` holds (indices of the figures it refers to, indices of the 分别 figures).
    """
    out = list(metrics)
    for targets, listed in groups:
        if len(targets) == len(listed):
            for t, l in zip(targets, listed):
                if metrics[t]:
                    out[l] = metrics[t]
    return out
