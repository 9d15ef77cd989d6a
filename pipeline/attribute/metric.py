"""Attaching the metric: the short phrase naming what a figure measures.

The metric is read from the figure's clause, between the clause start and
the figure: time words, region names and filler are cut from its head;
comparisons, cue words, qualifiers and transparent words from its tail. A
change, share or rank with nothing left (同比增长31.7%, 居全省第3名) takes
the metric of the figure it refers to, the previous one in the sentence.
Every word the reader looks for is in rules/metrics.yaml (and the cue,
qualifier, rank and period files it shares words with).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import regex

from pipeline.attribute.topics import INNER_YEAR, Topics
from pipeline.attribute.vague import Vagueness
from pipeline.records import Dimension
from pipeline.rules.patterns import CombinedPattern, alternation
from pipeline.rules.word_rules import Metrics
from pipeline.text.normalise import PINYIN_GLOSS
from pipeline.text.segment import EndWords, clause_start
from pipeline.text.words import Memo, Words

_QUOTES = regex.compile(r"[“”\"《》「」『』]")
# Pinyin a converter inserted after characters (计(jì)算机), and asides in brackets (2024年为第3位).
_ASIDE = regex.compile(r"[（(][^（）()\n]{0,30}[）)]")
# A figure in brackets after a name in a list (杭州(1.2万件)、宁波(…): the names before it.
_LISTED = regex.compile(r"(?:[、和及与]?[^、和及与，,。；;：:∶()（）\s]{1,24})+[（(]\s*$")
_AFTER = regex.compile(r"^[“]?([\p{Han}A-Za-z]{2,20})")
_STOP_FLAGS = ("v", "p", "uj", "ul", "m", "r", "c", "d")  # jieba's tags that end a noun phrase
_NOUNISH = ("n", "vn", "b", "a", "j", "l", "an", "nz", "ng", "f", "s")
_LONG = 16  # a metric longer than this usually still carries its subject and verb
_NAMES = ("nr", "ns", "nt")  # jieba's tags of names of people, places and bodies
_WRITTEN_UNIT = regex.compile(r"\p{Han}$")  # the unit a count is written with (120家)


@dataclass(frozen=True)
class Attached:
    """The words a metric reader shares with other rule files."""

    after_qualifiers: tuple[str, ...]  # qualifiers.yaml, position after (以上)
    tail_words: tuple[str, ...]  # transparent cues, qualifier words, rank scopes
    streak: tuple[str, ...]  # periods.yaml streak words (连续)
    respectively: tuple[str, ...]  # cues.yaml: figures after 分别 take the metrics of those before
    entities: tuple[str, ...]  # cues.yaml: words ending a company's or body's name (有限公司)
    rank_cues: tuple[str, ...]  # ranks.yaml: words before a rank (居, 蝉联), never a counted noun
    baselines: tuple[str, ...]  # periods.yaml: comparison words (比, 较): a phrase opening with one compares
    scales: tuple[str, ...]  # scales.yaml: scale words (万, 亿), between a number and its unit


class MetricReader:
    """Reads metric phrases and maps them to lexicon ids; compiled once per rule set."""

    def __init__(self, rules: Metrics, shared: Attached, words: Words) -> None:
        self.words = words
        w = rules.words
        markers = "|".join(f"(?:{p.pattern.pattern})" for p in rules.head_markers) or "(?!)"
        heads = [f"(?:{p.pattern.pattern})" for p in rules.head_patterns]
        guarded = dict(rules.head_unless)
        if free := [w for w in rules.head_words if w not in guarded]:
            heads.append(alternation(free))
        heads.extend(regex.escape(w) + (f"(?!{alternation(unless)})" if unless else "")  # 共 but not 共享
                     for w, unless in sorted(guarded.items(), key=lambda item: -len(item[0])))
        prefix = alternation(w["head_prefix"]) or "(?!)"
        self._head = CombinedPattern(
            regex.compile(rf"^(?:{markers}|(?:{prefix})?\s*(?:{'|'.join(heads) or '(?!)'}|，|,|、|\s))+"),
            (*rules.head_markers, *rules.head_patterns))
        cuts = [regex.escape(c.word) + (f"(?!{alternation(c.unless)})" if c.unless else "")
                for c in sorted(rules.tail_cuts, key=lambda c: -len(c.word))]
        self._tail_cut = regex.compile(f"(?:{'|'.join(cuts) or '(?!)'})")
        self._opening = frozenset(c.word for c in rules.tail_cuts if c.opens)
        self._suffixes = frozenset(w["suffix"])
        self._of_after = regex.compile(rf"^(?:{alternation(w['of']) or '(?!)'})([\p{{Han}}]{{2,12}})")
        lead = alternation(w["predicate_lead"]) or "(?!)"
        self._predicate = regex.compile(rf"^(?:{lead})?([^，。；,;：:…\n]{{2,30}})")
        self._after_qualifiers = regex.compile(rf"^\s*(?:{alternation(shared.after_qualifiers) or '(?!)'})")
        self._list_end = tuple(w["list_end"])
        self._tail = EndWords(tuple(shared.tail_words) + w["tail_word"])
        self._streak = tuple(shared.streak)
        self.respectively = tuple(shared.respectively)
        self._entities = tuple(shared.entities)
        self._rank_cues = tuple(shared.rank_cues)
        self._baselines = tuple(shared.baselines)
        self._share_lead = tuple(w["share_lead"])
        self._subject_end = tuple(sorted(w["subject_end"], key=len, reverse=True))
        self._acts = frozenset(w["act"])
        self._measure_end = tuple(w["measure_end"])
        self._thresholds = tuple(sorted(w["threshold"], key=len, reverse=True))
        self._negations = tuple(w["negation"])
        self._inner = frozenset(w["inner_word"])
        self.vagueness = Vagueness(words, {form: m.id for m in rules.lexicon for form in m.written},
                                   rank_words=frozenset(w["rank_topic"]), anaphora=frozenset(w["anaphora"]),
                                   place_class=frozenset(w["place_class"]), measure_end=self._measure_end,
                                   things=w["thing"], head_words=frozenset(rules.head_words))
        self.topics = Topics(self.vagueness, words, self._head, self._tail, rank_words=frozenset(w["rank_topic"]),
                             of=tuple(w["of"]), list_end=self._list_end, topic_open=tuple(w["topic_open"]),
                             topic_close=tuple(w["topic_close"]), measure_end=self._measure_end)
        joiners = alternation(w["list_end"]) or "(?!)"
        scale = alternation(shared.scales) or "(?!)"
        self._joined = regex.compile(rf"(?:\s*(?:{joiners})\s*\d[\d.,]*\s*(?:{scale})*(?P<unit>\p{{Han}}))+")
        self._counted = regex.compile(rf"(?:^|\p{{Han}}{{2}})(?:{alternation(w['of']) or '(?!)'})\p{{Han}}{{1,6}}?"
                                      rf"(?P<count>{alternation(w['count_of']) or '(?!)'})$")
        stages = alternation(w["stage"]) or "(?!)"
        stage = rf"(?:{stages})(?:{alternation(w['measure_end']) or '(?!)'})?"  # 授权, 授权量
        self._stage = regex.compile(stage)
        self._stages = regex.compile(rf"(?:{stage})+$")
        self._of = tuple(w["of"])
        self._memos = {name: Memo() for name in ("ends_with_verb", "noun_after", "starts_with_verb", "trim", "inner")}

    def is_vague(self, metric: str | None, rank: bool = False) -> bool:
        """Does a metric phrase name nothing measured? (attribute/vague.py)"""
        return self.vagueness.is_vague(metric, rank)

    def instead_of_vague(self, text: str, fig_start: int, rank: bool, referent: str | None, title: str | None,
                         strip_regions: Callable[[str], str] = lambda s: s, clause_from: int | None = None,
                         sentence_start: int = 0) -> str | None:
        """The metric of a figure whose clause names nothing measured: a rank ranks by the
        ranking its paragraph or title names (`topic`), else by what the figure before it
        measured (`referent`); any other figure measures what the figure before it in the
        sentence did, else what the clause before names when its own clause only lists
        values (`lead_in`), else its paragraph's topic. None if nothing is known."""
        if rank:
            return self.topic(text, fig_start, True, title, strip_regions) or referent
        if referent:
            return referent
        lead = self.lead_in(text, clause_from, sentence_start, strip_regions, fig_start) \
            if clause_from is not None else None
        return lead or self.topic(text, fig_start, False, title, strip_regions)

    def lead_in(self, text: str, clause_from: int, sentence_start: int,
                strip_regions: Callable[[str], str] = lambda s: s, fig_start: int | None = None) -> str | None:
        """甲区和乙区专利企业数量较少，分别为…: what the clause before names, when the
        figure's clause opens with 分别 and so only lists values of it, or holds nothing
        before the figure but cue words (某市的专利最多，达…) or a rate word (…，占比达…:
        the rate of what the clause before names)."""
        if clause_from <= sentence_start:
            return None
        opens = bool(self.respectively) and text.startswith(self.respectively, clause_from)
        own = "" if fig_start is None else self._tail.strip(self._head.cut_head(text[clause_from:fig_start]).strip())
        rate = own if own in self._suffixes else ""  # 服务商标最多，2031年占比首次超过4成: 服务商标占比
        if not opens and (fig_start is None or (own and not rate)):
            return None
        before = clause_start(text, clause_from - 1, sentence_start)
        head = self._head.cut_head(strip_regions(self._head.cut_head(text[before:clause_from - 1])))
        subject = self._tail.strip(self._subject(head)) if head else ""
        return subject + rate if len(subject) >= 2 and not self.is_vague(subject) else None

    def ranking_of(self, text: str, sentence_start: int, fig_start: int, metric: str | None,
                   strip_regions: Callable[[str], str] = lambda s: s) -> str | None:
        """The ranking a rank belongs to when its phrase names only what is ranked (attribute/topics.py)."""
        return self.topics.ranking_of(text, sentence_start, fig_start, metric, strip_regions)

    def topic(self, text: str, fig_start: int, rank: bool, title: str | None,
              strip_regions: Callable[[str], str] = lambda s: s) -> str | None:
        """What a figure's paragraph or title is about (attribute/topics.py)."""
        return self.topics.topic(text, fig_start, rank, title, strip_regions)

    def is_streak(self, prefix: str) -> bool:
        """连续4年 / 蝉联: a run of years, which measures what follows it."""
        return bool(self._streak) and prefix.rstrip().endswith(self._streak)

    def metric_id(self, metric: str | None) -> str | None:
        """The canonical id of a metric phrase: the longest written form it contains."""
        return self.vagueness.metric_id(metric)

    def read(self, text: str, fig_start: int, fig_end: int, dimension: Dimension, clause_from: int,
             previous: str | None, strip_regions: Callable[[str], str] = lambda s: s,
             unit: str | None = None) -> str | None:
        """The metric of a figure; `previous` is the metric of the figure it may refer to.

        A count followed by a noun (开展25个|高价值专利培育项目) counts that noun; a
        streak (连续4年|获国务院督查激励) measures what follows it; a figure after a
        verb followed by 的 (获得最高20%|的经费补助) measures that noun; otherwise the
        metric is read from the clause before the figure.
        """
        after = text[fig_end:fig_end + 30]
        qualified = self._after_qualifiers.match(after)
        if qualified:  # 10件以上的: no counted noun follows
            after = after[qualified.end():]
        elif dimension == Dimension.COUNT:
            after = self._past_joined(after, text[fig_start:fig_end])
        prefix = text[clause_from:fig_start]
        stripped = prefix.rstrip()

        def verb_before() -> bool:  # tagging costs: asked only where the answer decides (and memoised)
            return bool(stripped) and self._ends_with_verb(stripped[-8:])

        threshold = self._is_threshold(stripped)  # 投入超|10亿元|的街道
        if not (qualified or threshold) and _AFTER.match(after[:24]) and \
                (dimension == Dimension.COUNT or verb_before()):
            noun = self._noun_after(after[:24])
            if noun:
                return noun
        if dimension == Dimension.DURATION and self.is_streak(prefix):
            m = self._predicate.match(after)
            if m:
                return self._tail.strip(m[1]) or previous
        if dimension == Dimension.COUNT and unit and len(unit) >= 2:
            m = self._predicate.match(after)  # 10部门联合制定…: a counted noun as unit, the act names it
            if m and self._starts_with_verb(m[1]):
                return m[1] + unit
        m = self._of_after.match(after)
        if m and not threshold and (not stripped or stripped.endswith(self._list_end) or verb_before()):
            noun = self._noun_after(m[1])
            if noun:
                return noun
        before = self._before(prefix, previous, strip_regions)
        if threshold and m and (noun := self._noun_after(m[1])):
            return noun + before if before and before != previous else noun  # 超10亿元的街道: 街道研发投入
        return before

    def _is_threshold(self, stripped: str) -> bool:
        """Does the text before a figure end in a threshold word (超), not negated (不超过: a cap)?"""
        if not (self._thresholds and stripped.endswith(self._thresholds)):  # (nearly every figure: one test)
            return False
        word = next(w for w in self._thresholds if stripped.endswith(w))
        return not stripped[:-len(word)].endswith(self._negations)

    def _before(self, prefix: str, previous: str | None, strip_regions: Callable[[str], str]) -> str | None:
        """The metric read from the clause before a figure (`prefix`), trimmed."""
        prefix = _ASIDE.sub("", PINYIN_GLOSS.sub("", _QUOTES.sub("", prefix)))
        listed = _LISTED.search(prefix) if prefix.rstrip().endswith(("(", "（")) else None
        subject_only = False
        if listed is not None:  # 依次为杭州(1.2万件)、宁波(…): what the list gives, named before it
            named = self._bracketed_name(prefix, listed, strip_regions)
            if isinstance(named, str):
                return named
            prefix, subject_only = prefix[:named], named > listed.start()
        head = self._head.cut_head(prefix)
        placeless = strip_regions(head)
        if placeless != head:  # (a second pass only where places were cut: each pass is time-limited)
            head = self._head.cut_head(placeless)
        if self._share_lead and head.startswith(self._share_lead) and previous:  # 占全国总量的3.67%
            cut = self._tail_cut.search(head)
            return previous + self._tail.strip(head[: cut.start()] if cut else head)
        counted = self._counted.search(prefix.rstrip())
        if counted is not None:  # 排名提升的城市有6个: those nouns, however the words before 的 describe them
            return self._head.cut_head(INNER_YEAR.sub("", prefix[:counted.start("count")]).strip())
        cut = self._tail_cut.search(head)
        while cut is not None and cut.start() == 0 and cut[0] in self._opening:  # 增加果农收益: the change opens it
            head = head[cut.end():]
            cut = self._tail_cut.search(head)
        if cut is not None:
            head = head[: cut.start()]
        head = self._after_subject(head) if not subject_only else self._tail.strip(self._subject(head))
        head = self._tail.strip(INNER_YEAR.sub("", head).strip())  # 发明专利2023年占比 -> 发明专利占比
        if any(word in head[1:] for word in self._inner):
            head = self._without_inner(head)
        if head in self._suffixes and previous:
            return previous + head
        if previous and head.startswith(self._baselines) and self._opens_with_baseline(head):
            return previous  # 年均增速31.2%，比全省平均值高9个百分点: the same measure, compared
        stage = self._stage.fullmatch(head)
        if stage is not None and previous and (before := self._last_stage(previous)) is not None:
            return previous[:before.start()] + head  # 专利申请3.1万件，授权1.2万件: 专利授权
        if len(head) < 2 or head.endswith(self._list_end):
            return previous
        trimmed: str = self._memos["trim"].get(head, self._trim)
        form = self.vagueness.longest_form(head)
        if form and form not in trimmed:  # a trim never cuts into a metric the lexicon names
            return head[head.index(form):]
        return trimmed

    def split_list(self, phrase: str, n: int) -> list[str] | None:
        """A phrase listing `n` metrics, one each (甲、乙和丙的增幅 -> 甲增幅, 乙增幅, 丙的增幅):
        split at 、 alone if that gives `n` items, else at every list word; each item but the
        last takes what the last measures after its 的."""
        for marks in (("、",), self._list_end):
            items = regex.split("|".join(map(regex.escape, marks)), phrase)
            if len(items) == n and all(len(item) >= 2 for item in items):
                break
        else:
            return None
        last = items[-1]
        at = max((last.rfind(w) + len(w) for w in self._of if w in last), default=-1)
        shared = last[at:] if at > 0 else ""  # (without 的, where the last item's name ends is unknown)
        return [item + shared for item in items[:-1]] + [last]

    def _opens_with_baseline(self, head: str) -> bool:
        """Does `head` open with a comparison word (比|全省平均值高; not the noun 比例) and go on
        to name no measure of its own (not 比上年|申请案件数)?"""
        words = self.words.tagged(head[:8])
        if not words or words[0][0] not in self._baselines:
            return False
        rest = head[len(words[0][0]):]
        return not (self.metric_id(rest) or rest.endswith(self._measure_end))

    def _without_inner(self, head: str) -> str:
        """专利共申请 -> 专利申请: filler words jieba reads as words of their own, dropped."""
        out: str = self._memos["inner"].get(head, lambda h: "".join(
            word for i, (word, _) in enumerate(self.words.tagged(h)) if i == 0 or word not in self._inner))
        return out

    def _past_joined(self, after: str, figure: str) -> str:
        """各有310家、275家众创空间: the counted noun after the last of figures joined with the same
        unit is the first's too, so the text after the first skips the others."""
        run = self._joined.match(after)
        unit = _WRITTEN_UNIT.search(figure)
        if run is None or unit is None or any(u != unit[0] for u in run.captures("unit")):
            return after
        return after[run.end():]

    def _last_stage(self, metric: str) -> regex.Match[str] | None:
        """The stage a metric ends with (专利申请量 -> 申请量), if any."""
        return self._stages.search(metric)

    def _bracketed_name(self, prefix: str, listed: regex.Match[str],
                        strip_regions: Callable[[str], str]) -> str | int:
        """What a figure in brackets after a name measures. Places in a list (杭州(…)、宁波(…))
        and names of bodies (某某有限公司(…)): what the clause before them names, so the
        prefix ends where they start (the offset returned). One place after a clause (专利集中
        在深圳(…)): the clause's subject, so the prefix ends before the place. Any other
        name (发明专利(…)): the name itself (returned as text)."""
        end = len(prefix.rstrip()) - 1
        names = prefix[listed.start():end].strip().lstrip("".join(self._list_end))
        if not names or any(mark in names for mark in self._list_end) or not strip_regions(names):
            return listed.start()
        place = next((names[-k:] for k in range(min(len(names) - 1, 12), 1, -1)
                      if not strip_regions(names[-k:])), "")
        if place:
            return end - len(place)
        if names.endswith(self._entities) or self.is_vague(names) or not self._bare_noun(names):
            return listed.start()
        return names

    def _bare_noun(self, text: str) -> bool:
        """Nouns only, none a name (发明专利, 外观设计; not 国家电网公司, 依次为…)."""
        return all(flag.startswith(_NOUNISH) and not flag.startswith(_NAMES) for _, flag in self.words.tagged(text))

    def _subject(self, head: str) -> str:
        """The clause's subject, the nouns before its first verb, without the places before
        them (发明专利集中在 -> 发明专利; 甲区和乙区专利企业数量较少 -> 专利企业数量)."""
        words = self.words.tagged(head)
        end, seen = len(words), False
        for i, (_, flag) in enumerate(words):
            if seen and flag.startswith(_STOP_FLAGS) and flag not in ("vn", "c"):  # (和 joins places)
                end = i
                break
            seen = seen or (flag.startswith(_NOUNISH) and not flag.startswith(_NAMES))
        out: list[str] = []
        for word, flag in reversed(words[:end]):
            if not flag.startswith(_NOUNISH) or flag.startswith(_NAMES):
                break
            out.append(word)
        return "".join(reversed(out)) or head

    def _after_subject(self, head: str) -> str:
        """法庭已审结…案件 -> 审结…案件: the phrase after the last subject-end word, if long enough."""
        best = -1, ""
        for word in self._subject_end:
            at = head.rfind(word)
            if at > best[0]:
                best = at, word
        at, word = best
        if at >= 0 and len(head) - at > 3:
            return head[at + len(word):]
        return head

    def _ends_with_verb(self, text: str) -> bool:
        result: bool = self._memos["ends_with_verb"].get(text, self._ends_with_verb_uncached)
        return result

    def _ends_with_verb_uncached(self, text: str) -> bool:
        words = self.words.tagged(text)
        while words and words[-1][1] in ("ul", "uguo", "uz"):  # 带来了|35%的税收: an aspect particle
            words = words[:-1]
        return bool(words) and words[-1][1].startswith("v") and words[-1][1] != "vn"

    def _noun_after(self, after: str) -> str | None:
        result: str | None = self._memos["noun_after"].get(after, self._noun_after_uncached)
        return result

    def _noun_after_uncached(self, after: str) -> str | None:
        """The counted noun after a figure (开展25个|高价值专利培育项目，…), cut at its first verb."""
        m = _AFTER.match(after)
        if not m:
            return None
        out = ""
        for word, flag in self.words.tagged(m[1]):
            if flag.startswith(_STOP_FLAGS) and flag != "vn" and out:
                break
            if not flag.startswith(_NOUNISH) and not out:
                if self._stage.fullmatch(word) or self.vagueness.things.fullmatch(word):  # 825宗|申请: a stage counted
                    return word
                return None
            out += word
        if out.startswith(self._rank_cues):  # 以1.2万件|蝉联冠军: a rank follows, not a counted noun
            return None
        return out if len(out) >= 2 else None

    def _starts_with_verb(self, text: str) -> bool:
        result: bool = self._memos["starts_with_verb"].get(text, self._starts_with_verb_uncached)
        return result

    def _starts_with_verb_uncached(self, text: str) -> bool:
        words = self.words.tagged(text[:6])
        return bool(words) and (words[0][1].startswith("v") or words[0][0] in self._acts)

    def _trim(self, head: str) -> str:
        """Keep the noun phrase after the last verb or preposition of a long head
        (市场监管局指导企业通过专利质押融资获得授信 -> 授信 is too short, so the
        phrase from the last verb with a noun phrase of 2+ characters after it); where
        what follows every verb names nothing measured (R&D经费投入超过|千亿元的省分别为),
        the subject before the first verb."""
        if len(head) <= _LONG or "、" in head:  # a list of metrics is kept whole
            return head
        words = self.words.tagged(head)
        verbs = [i for i in range(len(words) - 1, 0, -1)
                 if words[i - 1][1].startswith(("v", "p")) and words[i - 1][1] != "vn"]
        for i in verbs:
            rest = "".join(w for w, _ in words[i:])
            if len(rest) >= 4 and not self.is_vague(rest):
                return rest
        subject = "".join(w for w, _ in words[:verbs[-1] - 1]) if verbs else ""
        if len(subject) >= 2 and not self.is_vague(subject):
            return subject
        for i in verbs:  # (the old choice, vague as it is: nothing better)
            rest = "".join(w for w, _ in words[i:])
            if len(rest) >= 4:
                return rest
        return head


def pair_respectively(groups: list[tuple[list[int], list[int]]], metrics: list[str | None],
                      split: Callable[[str, int], list[str] | None] = lambda m, n: None) -> list[str | None]:
    """`分别` lists: the i-th figure after 分别 takes the i-th of the metrics its phrase lists
    (电子信息、装备制造及新材料产业的增幅分别为…: `split`), else the metric of the i-th
    figure it refers to.

    `groups` holds (indices of the figures it refers to, indices of the 分别 figures).
    """
    out = list(metrics)
    for targets, listed in groups:
        shared = {metrics[i] for i in listed}
        phrase = shared.pop() if len(shared) == 1 else None
        items = split(phrase, len(listed)) if phrase else None
        if items:  # the figures' own phrase lists their metrics: it says more than the figures before
            for i, item in zip(listed, items):
                out[i] = item
        elif len(targets) == len(listed):
            for t, i in zip(targets, listed):
                if metrics[t]:
                    out[i] = metrics[t]
    return out
