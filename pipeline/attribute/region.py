"""Attaching the region: the place a figure belongs to.

Region follows the document's scope. The title names the document's region;
a section heading that opens with a place (`丽水：优化服务…`, `# 杭州：…`)
sets the region until the next such heading. Inside a sentence, the nearest
place named before the figure wins (`全市`, `全省` resolve against the current
scope; a short name like `余杭` resolves under it). A figure of one company,
person or thing (`该企业`, `…有限公司`) has no region: those cue words are
`kind: entity` entries in rules/cues.yaml. The words around a place that say
it is not a figure's region (a list of places, the field of a comparison, an
award's name) are in rules/regions.yaml; total and residual table rows in
rules/tables.yaml.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import regex

from pipeline.attribute.gazetteer import NATION_CODE, WORD_CONTEXT, Gazetteer, Region, RegionMention
from pipeline.rules.patterns import UserPattern, alternation
from pipeline.rules.region_rules import RegionRules, Signal
from pipeline.text.words import Memo

_HEADING = regex.compile(r"^\s*(?:#+\s*)?(?P<head>[^\s：:，。,]{2,12})\s*[：:]\s*\S")
# Places inside titles, quotes and brackets name things (《东阳市…》, “绍兴酒”,
# 浙江(杭州)知识产权诉调中心), not where a figure belongs.
_HIDDEN = regex.compile(r"《[^《》\n]{1,80}》|“[^“”\n]{1,30}”|[（(][^（）()\n]{1,20}[）)]")
SCOPE_CHARS = 200  # how much of a document's opening may name its region
_NATION_REACH = 10  # 全国198个: the nation is a figure's region only right before it
# A figure right after a place, or in brackets right after it: 杭州(1.2万件), 宁波860亿元.
_BOUND_FIGURE = regex.compile(r"\s{0,2}(?:[（(][^（）()\n]{0,24}?[）)]|[-−+]?\d[\d.,]*\s*[^\s，,。；;、]{0,4})")
_OPEN_FIGURE = regex.compile(r"\s{0,2}(?:[（(]\s*)?[-−+]?\d")


@dataclass(frozen=True)
class RegionIndex:
    """Region mentions and section scopes of one normalised text."""

    mentions: tuple[RegionMention, ...]
    starts: tuple[int, ...]
    sections: tuple[tuple[int, Region | None], ...]  # (start offset, scope from there on)
    # Places bound to the figure right after them (杭州(1.2万件)、宁波0.9万件): start -> where that figure ends.
    bound: dict[int, int] = field(default_factory=dict)

    def scope_at(self, pos: int) -> Region | None:
        i = bisect.bisect_right(self.sections, pos, key=lambda section: section[0]) - 1
        return self.sections[i][1] if i >= 0 else None

    def last_before(self, start: int, end: int) -> RegionMention | None:
        """The last mention inside [start, end)."""
        i = bisect.bisect_left(self.starts, end) - 1
        while i >= 0 and self.mentions[i].start >= start:
            m = self.mentions[i]
            if m.end <= end:
                return m
            i -= 1
        return None


class RegionReader:
    """The gazetteer and the region words of one rule set, compiled for attribution."""

    def __init__(self, gazetteer: Gazetteer, rules: RegionRules, rank_cues: tuple[str, ...],
                 entity_words: tuple[str, ...], total_rows: tuple[str, ...], residual_rows: tuple[str, ...]) -> None:
        self.gazetteer = gazetteer
        words = rules.words
        self._name_before = tuple(words["name_before"])  # 首届浙江省知识产权奖: the place names an award
        self._list_marks = tuple(words["list_mark"])
        self._field_after = tuple(words["field_after"])
        self._joiners = frozenset(words["cluster_joiner"])
        comparison = alternation((*rank_cues, *words["comparison"])) or "(?!)"
        self._comparison = regex.compile(f"(?:{comparison})$")
        self._entity_words = entity_words
        self._total_rows, self._residual_rows = tuple(total_rows), tuple(residual_rows)
        self._unseen: tuple[UserPattern, ...] = (*rules.datelines, *rules.bylines)
        self._stripped = Memo()  # strip_places, a pure function of its text
        self._signals = self._signal_words((*rules.issuers, *rules.plurals))
        self._scope_patterns = tuple((pattern, self._named(name, pattern.rule_id))
                                     for pattern, name in rules.scope_patterns)
        self._own_nation = tuple((frozenset(words), tuple(self._named(n, "own_nation") for n in names))
                                 for words, names in rules.own_nation)

    def _named(self, name: str, rule_id: str) -> Region:
        region = self.gazetteer.resolve(name)
        if region is None:
            raise ValueError(f"rule {rule_id!r}: region {name!r} is unknown")
        return region

    def own_nation(self, word: str, scope: Region | None) -> Region | None:
        """我国 in a report about Taiwan or Hong Kong is that report's region, not the nation."""
        if scope is None:
            return None
        for words, regions in self._own_nation:
            if word in words and any(self.gazetteer.within(scope, r) for r in regions):
                return scope
        return None

    def _signal_words(self, signals: tuple[Signal, ...]) -> tuple[regex.Pattern[str] | None, dict[str, Region]]:
        """One pattern for every issuer and plural word, and the region each word says."""
        regions: dict[str, Region] = {}
        for signal in signals:
            region = self.gazetteer.resolve(signal.region)
            if region is None:
                raise signal.rule.error(f"region {signal.region!r} is unknown: use its full name or code")
            regions.update((w, region) for w in signal.words)
        return (regex.compile(alternation(regions)) if regions else None), regions

    def hide_unseen(self, text: str) -> str:
        """`text` with datelines and bylines blanked (same length): they name where a story
        was filed and who wrote it, never what it is about."""
        for pattern in self._unseen:
            for m in pattern.finditer(text):
                text = text[:m.start()] + " " * (m.end() - m.start()) + text[m.end():]
        return text

    def strip_places(self, text: str) -> str:
        """`text` without the places it opens with (浙江省杭州市专利… -> 专利…): a metric's head."""
        stripped: str = self._stripped.get(text, self._strip_places)
        return stripped

    def _strip_places(self, text: str) -> str:
        while True:
            found = self.gazetteer.find(text[:12])
            if not found or found[0].start != 0 or found[0].kind == "scope_word":
                return text  # (全国占比 stays: a scope word there names the whole of a share)
            text = text[found[0].end:]
            listed = next((w for w in self._list_marks if text.startswith(w)), None)
            if listed is not None and len(found) > 1 and found[1].start == found[0].end + len(listed):
                text = text[len(listed):]  # 杭州、宁波专利授权量: a list of places

    def _near(self, region: Region, scope: Region | None) -> bool:
        """Is `region` in the same province as `scope`?"""
        if scope is None or scope.level == 0:
            return False
        province = scope
        while province.level > 1 and province.parent:
            province = self.gazetteer.by_code(province.parent)
        return self.gazetteer.within(region, province)

    def document_scope(self, title: str | None, text: str) -> Region | None:
        """The document's region: what its title says first, else what its opening says first.

        The first of these decides: a place (浙江省; of two adjacent ones the more
        specific: 浙江杭州), an issuer (国家统计局 -> 全国, 智慧局 -> 台湾), the units of
        a region (各省 -> 全国) or the nation (我国). Datelines and bylines say nothing;
        the nation as a comparison's field (全国首个) says nothing either.
        """
        for source in (title or "", text[:SCOPE_CHARS]):
            found = self._scope_signals(self.hide_unseen(source))
            if not found:
                continue
            first = found[0]
            if isinstance(first, RegionMention):
                second = found[1] if len(found) > 1 else None
                if isinstance(second, RegionMention) and second.start == first.end:
                    return max((first, second), key=lambda m: m.region.level).region
                return first.region
            return first[1]
        return None

    def _scope_signals(self, source: str) -> list[RegionMention | tuple[int, Region]]:
        """Places, issuers, units and the nation named in `source`, in order."""
        found: list[RegionMention | tuple[int, Region]] = []
        for m in self.gazetteer.find(source):
            if m.kind != "scope_word":
                found.append(m)
            elif m.region.code == NATION_CODE and not self._names_a_field(source, m):
                found.append((m.start, m.region))
        pattern, regions = self._signals
        if pattern is not None:
            found.extend((m.start(), regions[m[0]]) for m in pattern.finditer(source))
        for scope_pattern, region in self._scope_patterns:  # 93年…: a year of Taiwan's calendar
            found.extend((m.start(), region) for m in scope_pattern.finditer(source))
        return sorted(found, key=lambda s: s.start if isinstance(s, RegionMention) else s[0])

    def index(self, text: str, scope: Region | None, needed: list[int] | None = None,
              opening: Region | None = None) -> RegionIndex:
        """Find section headings and every region mention, resolving each under its section's scope.

        `needed` lists offsets of the figures: only their paragraphs are searched
        for places, since a figure's region is read from its own paragraph.
        `opening` is the region of the section `text` begins in, when it is one
        window of a report whose earlier heading named it (None: the document's).
        """
        gaz = self.gazetteer
        sections: list[tuple[int, Region | None]] = [(0, opening or scope)]
        pos = 0
        for line in text.split("\n"):
            m = _HEADING.match(line) if len(line) <= 40 else None  # (most lines: too long to be a heading)
            if m:
                found = [x for x in gaz.find(m["head"], scope) if x.kind != "scope_word"]
                if found and found[0].start == 0:
                    sections.append((pos, found[-1].region))
            pos += len(line) + 1
        hidden = bytearray(len(text))  # 1 inside titles, quotes and brackets, datelines and bylines
        for quoted in _HIDDEN.finditer(text):
            hidden[quoted.start():quoted.end()] = b"\x01" * (quoted.end() - quoted.start())
        for pattern in self._unseen:
            for unseen in pattern.finditer(text):
                hidden[unseen.start():unseen.end()] = b"\x01" * (unseen.end() - unseen.start())
        mentions: list[RegionMention] = []
        bound: dict[int, int] = {}
        for (start, region_scope), nxt in zip(sections, [*sections[1:], (len(text), None)]):
            chain_start, last_end = -1, -1
            for mention in self._clusters(text, self._find_in(text, start, nxt[0], region_scope, needed)):
                s, e = mention.start, mention.end
                chain_start, last_end = (chain_start if s == last_end else s), e  # 湖州吴兴 is one place
                if hidden[s] or (self._name_before and text.endswith(self._name_before, 0, s)):
                    continue
                figure = _BOUND_FIGURE.match(text, e) if _OPEN_FIGURE.match(text, e) else None
                if figure is not None:
                    bound[s] = figure.end()  # one of a list of places, each with its own figure
                elif (self._list_marks and text.startswith(self._list_marks, e)) or text.endswith("、", 0, chain_start):
                    continue  # several places listed together: the figure is not one of theirs
                if mention.kind == "short" and mention.region.level == 3 and \
                        not self._near(mention.region, region_scope):
                    continue  # 比如, 富裕: a county's short name counts only in its own province
                mentions.append(mention)
        return RegionIndex(tuple(mentions), tuple(m.start for m in mentions), tuple(sections), bound)

    def _clusters(self, text: str, mentions: list[RegionMention]) -> list[RegionMention]:
        """Places joined by a cluster joiner (深圳-香港-广州) become one region, named as written."""
        if not self._joiners:
            return mentions
        out: list[RegionMention] = []
        for m in mentions:
            last = out[-1] if out else None
            if last is not None and text[last.end:m.start] in self._joiners and m.kind != "scope_word":
                surface = text[last.start:m.end]
                region = Region(f"cluster:{surface}", surface, surface, 0, None)
                out[-1] = RegionMention(last.start, m.end, surface, region, "cluster")
            else:
                out.append(m)
        return out

    def _find_in(self, text: str, start: int, end: int, scope: Region | None,
                 needed: list[int] | None) -> list[RegionMention]:
        """Mentions in text[start:end] (offsets into `text`), only in paragraphs holding a needed offset."""
        gaz = self.gazetteer
        if needed is None:
            spans = [(start, end)]
        else:
            # Up to the paragraph's last needed offset, plus what a mention starting
            # before it can read (its longest name and the word check's context):
            # a figure's region is named before it.
            reach = gaz.longest + WORD_CONTEXT
            spans = []
            for pos in needed[bisect.bisect_left(needed, start):bisect.bisect_left(needed, end)]:  # (sorted)
                a = max(start, text.rfind("\n", 0, pos) + 1)
                b = text.find("\n", pos)
                b = min(end if b < 0 or b > end else b, pos + reach)
                if spans and spans[-1][0] == a:
                    spans[-1] = (a, max(spans[-1][1], b))
                elif not spans or spans[-1][1] < a:
                    spans.append((a, b))
        return [m for a, b in spans for m in gaz.find(text[a:b], scope, base=a)]

    def listed_places(self, text: str, start: int, end: int, scope: Region | None) -> list[Region]:
        """The places of the last list of places in text[start:end] (龙华区、罗湖区和盐田区…
        分别为420家、380家和150家): figures listed after 分别 take one each, in order."""
        run: list[RegionMention] = []
        for m in self.gazetteer.find(text[start:end], scope, base=start):
            if m.kind == "scope_word":
                continue
            joined = bool(run) and text[run[-1].end:m.start].strip() in self._list_marks
            run = [*run, m] if joined else [m]
        return [m.region for m in run] if len(run) > 1 else []

    def _names_a_field(self, text: str, m: RegionMention) -> bool:
        """Is the place the field of a comparison (居全省第3名, 在全国), not what is spoken of?"""
        return self._comparison.search(text, max(0, m.start - 4), m.start) is not None

    def _comparison_scope(self, text: str, m: RegionMention, fig_start: int) -> bool:
        """全省 in 居全省第3名, 居杭州市第一 or 全国首单 names the field of a comparison, not the figure's place."""
        if self._comparison.search(text, max(0, m.start - 4), m.start):
            return True
        nation = m.region.code == NATION_CODE  # (a country or a named region is a place like any other)
        if m.kind != "scope_word" and not nation:
            return False
        if nation and (fig_start - m.end > _NATION_REACH or
                                    any(ch in "，,；;。" for ch in text[m.end:fig_start])):
            return True  # 全国专利执法考核连续3年…: the nation names the evaluation
        return bool(self._field_after) and text.startswith(self._field_after, m.end)

    def entity_end(self, text: str, sentence: tuple[int, int]) -> int:
        """Where the first entity cue word of a sentence ends (该企业, 有限公司): figures
        from there on are one company's or thing's and have no region. Past the
        sentence's end if it has none; found once per sentence, not per figure."""
        s0, s1 = sentence
        return min((at + len(w) for w in self._entity_words if (at := text.find(w, s0, s1)) >= 0), default=s1 + 1)

    def region_for(self, idx: RegionIndex, text: str, fig_start: int, sentence: tuple[int, int],
                   entity_from: int) -> Region | None:
        """The region of a figure at `fig_start` in `sentence`.

        The nearest place named before the figure in its sentence, else earlier in
        its paragraph, else the section's scope; a scope word (全市) is read
        against the nearest place named before it in the sentence. `entity_from`
        is `entity_end` of the sentence.
        """
        if entity_from <= fig_start:
            return None
        para_start = text.rfind("\n", 0, sentence[0]) + 1
        # the sentence, then what the paragraph is about so far (近年来，景宁县以…。2023年，…3809吨)
        for lo, hi in ((sentence[0], fig_start), (para_start, sentence[0])):
            end = hi
            while (m := idx.last_before(lo, end)) is not None:
                bound = m.start in idx.bound  # a listed place with its own figure: not the paragraph's
                if self._comparison_scope(text, m, fig_start) or (lo != sentence[0] and (m.kind == "scope_word"
                                                                                          or bound)):
                    end = m.start
                    continue
                wider = idx.last_before(lo, m.start)  # 全省国内发明专利: 国内 qualifies the metric
                if wider is not None and wider.end == m.start and m.region.level == 0 and \
                        (wider.kind == "scope_word" or wider.region.level > 0):
                    m = wider
                if m.kind == "scope_word":
                    own = self.own_nation(m.surface, idx.scope_at(0))
                    if own is not None:
                        return own
                    local = idx.last_before(sentence[0], m.start)
                    if local is not None and local.kind != "scope_word" and local.region.level >= 2:
                        return self.gazetteer.scope_word(m.surface, local.region) or m.region
                return m.region
        return idx.scope_at(fig_start)

    def table_row_region(self, label: str, scope: Region | None) -> tuple[Region | None, bool]:
        """A table row's region, and whether the row header is a place: the place it
        names (杭州市), the scope for a total row (全省, 合计), none for a residual
        row (其他); otherwise the scope (and the header is a metric, not a place)."""
        gaz = self.gazetteer
        label = label.strip()
        if self._residual_rows and label.startswith(self._residual_rows):
            return None, True
        if self._total_rows and label.startswith(self._total_rows):
            return gaz.scope_word(label[:2], scope) or scope, True
        found = [m for m in gaz.find(label, scope) if m.kind != "scope_word"]
        if found and found[0].start == 0 and found[-1].end >= len(label.split("（")[0].split("(")[0]) - 1:
            return found[-1].region, True
        return scope, False
