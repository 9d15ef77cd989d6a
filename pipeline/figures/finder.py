"""Finding figures: a number with its scale word and unit, a rank, a fraction.

Compiled patterns built from the rules scan the normalised text; candidates
that overlap an exclusion are dropped; overlapping candidates are resolved by
one policy, `longest_first`; then qualifiers are read from the words around
each figure, ranges and shared-unit lists are completed. Jieba is not used
here: everything is a compiled pattern, so this stage runs at regex speed.
"""
from __future__ import annotations

import bisect
from dataclasses import replace

import regex

from pipeline.figures.numbers import BIG_UNITS, CHINESE_NUMERAL_CHARS, DIGITS, SMALL_UNITS, read_number
from pipeline.records import Dimension, Figure, Qualifier
from pipeline.rules.figure_rules import (
    Exclusion,
    FormRule,
    Position,
    QualifierRule,
    RankContext,
    Ranks,
    ScaleRule,
    UnitRule,
)
from pipeline.rules.patterns import UserPattern, alternation, whole_span

# The numeral grammar (pipeline.figures.numbers reads what these match): Arabic
# digits with thousands separators, Arabic groups joined by 万/亿 (9万7,411),
# and runs of Chinese numeral characters. It stays in code: it is not a list
# of words an analyst would edit, and every rule file leans on it ({N}).
AR = rf"(?<![\d.,])\d+(?:,\d{{3}})*(?:\.\d+)?(?:[{''.join(BIG_UNITS)}]\d+(?:,\d{{3}})*)?"
CN = rf"(?<![{CHINESE_NUMERAL_CHARS}])[{CHINESE_NUMERAL_CHARS}]+"
NUM = rf"(?:{AR}|{CN})"
RANK_NUM = rf"(?:\d+|[{''.join(DIGITS)}{''.join(SMALL_UNITS)}]+)"  # a position: no 万 or 亿
SLOTS = {"{N}": f"(?:{AR}|{CN})", "{CN}": f"(?:{CN})", "{AR}": f"(?:{AR})"}
PUNCT = "，。；：！？,;:!?\n（）()“”《》"
SP = r"[^\S\n]*"  # spaces inside a figure: never a line break, which ends a paragraph once normalised


def with_slots(pattern: str) -> str:
    """A rule's pattern with its numeral slots ({N}, {CN}, {AR}) filled in."""
    for slot, numeral in SLOTS.items():
        pattern = pattern.replace(slot, numeral)
    return pattern


class FigureFinder:
    """The compiled patterns of one rule set: built once, when the rules are compiled."""

    def __init__(self, *, units: tuple[UnitRule, ...], scales: tuple[ScaleRule, ...], forms: tuple[FormRule, ...],
                 qualifiers: tuple[QualifierRule, ...], ranks: Ranks, exclusions: tuple[Exclusion, ...],
                 transparent: tuple[str, ...], range_joiners: tuple[str, ...], list_joiners: tuple[str, ...]) -> None:
        self.units: dict[str, UnitRule] = {w: u for u in units for w in u.written}
        self.scales: dict[str, float] = {w: s.factor for s in scales for w in s.written}
        self.scale_words = tuple(sorted(self.scales, key=len, reverse=True))  # for longest-prefix reads
        self.bare_scales = {w for s in scales if s.bare for w in s.written}
        inner = [w for q in qualifiers if q.position == Position.INNER for w in q.words]
        self.inner_words = tuple(inner)
        self.inner_qualifier = next((q.qualifier for q in qualifiers if q.position == Position.INNER),
                                    Qualifier.LOWER_BOUND)
        inner_re = f"(?:{alternation(inner)})" if inner else "(?!)"
        self.main = regex.compile(
            rf"(?P<neg>(?<![\dA-Za-z%)）])[-−])?(?P<num>{NUM}){SP}(?P<in1>{inner_re})?{SP}"
            rf"(?P<scale>{alternation(self.scales)})?(?P<in2>{inner_re})?{SP}(?P<unit>{alternation(self.units)})"
        )
        # _numbered unpacks m.groups() in this order: no other group may creep in
        assert self.main.groups == 6 and tuple(self.main.groupindex) == ("neg", "num", "in1", "scale", "in2", "unit")
        self.index_rule = next((u for u in units if u.after_words), None)
        self.index = regex.compile(
            rf"(?:{alternation(self.index_rule.after_words)})(?:{alternation(self.index_rule.links)})?{SP}"
            rf"(?P<num>{AR})(?![\d.%])"
        ) if self.index_rule else None
        self.forms = [(form, UserPattern(form.id, regex.compile(with_slots(p)))) for form in forms
                      for p in form.patterns]
        self.rank_forms = [(f, UserPattern(f.id, regex.compile(f.pattern.replace("{N}", f"(?P<num>{RANK_NUM})"))))
                           for f in ranks.forms]
        cues, scopes = alternation(ranks.cues), alternation(ranks.scopes)
        self.rank_near = regex.compile(rf"(?:(?:{cues})[^{PUNCT}]{{0,10}}|(?:{scopes})[^{PUNCT}]{{0,6}})$")
        self.rank_strict = regex.compile(rf"(?:{cues})(?:{scopes})?{SP}$")
        self.before = {w: q for q in qualifiers if q.position == Position.BEFORE for w in q.words}
        self.after = {w: q for q in qualifiers if q.position == Position.AFTER for w in q.words}
        self.before_re = regex.compile(rf"(?:{alternation(self.before)})$")
        self.after_re = regex.compile(alternation(self.after))
        self.transparent_re = regex.compile(rf"(?:{alternation(transparent)})$")
        self.exclusions = exclusions
        self.range_joiners = frozenset(range_joiners)
        self.lead = regex.compile(rf"(?P<num>{AR}|{CN}){SP}(?P<scale>{alternation(self.scales)})?{SP}"
                                  rf"(?P<join>{alternation((*range_joiners, *list_joiners))}){SP}$")  # 3-|5天
        # What the text before a figure must end with, spaces aside, for `lead` to match there: a
        # str.endswith spares most figures that pattern's search. (None: a joiner ending in a
        # space, which rstrip would cut, so no such test.)
        joiners = (*range_joiners, *list_joiners)
        self.lead_ends: tuple[str, ...] | None = None if any(w[-1:].isspace() for w in joiners) else joiners

    # -- candidates ---------------------------------------------------------

    def _numbered(self, text: str) -> list[Figure]:
        out = []
        units, scales = self.units, self.scales
        for m in self.main.finditer(text, overlapped=True):
            neg, num, in1, scale, in2, unit_text = m.groups()  # (one call: named lookups cost more)
            unit = units[unit_text]
            is_cn = not num[0].isdigit()
            if (is_cn and not unit.chinese) or (scale and not unit.scalable):
                continue
            end = m.end()
            if unit.not_before and text.startswith(unit.not_before, end):
                continue
            bare = is_cn and num in self.bare_scales
            value = scales.get(num) if bare else read_number(num)
            if value is None or (is_cn and not value):
                continue  # a Chinese 零 alone is never a figure (零部件)
            value *= (scales[scale] if scale else 1.0) * unit.factor
            if neg:
                value = -value
            qualifier = self.inner_qualifier if (in1 or in2) else Qualifier.EXACT
            out.append(Figure(m.start("neg") if neg else m.start("num"), end, value, unit.unit or unit_text,
                              unit.dimension, qualifier, unit.id, bare, unit.implied, unit.listable))
        return out

    def _ranks(self, text: str) -> list[Figure]:
        out = []
        for form, pattern in self.rank_forms:
            for m in pattern.finditer(text):
                if form.value is not None:
                    value: float | None = form.value
                else:
                    value = read_number(m["num"]) or self.scales.get(m["num"])
                if not value:
                    continue
                start, end = whole_span(m)
                before = _in_paragraph(text, start, 16)
                if form.context == RankContext.NEAR and not self.rank_near.search(before):
                    continue
                if form.context == RankContext.STRICT and not self.rank_strict.search(before):
                    continue
                out.append(Figure(start, end, value, "rank", Dimension.RANK, form.qualifier, form.id))
        return out

    def _forms(self, text: str) -> list[Figure]:
        """Figures whose form makes them (forms.yaml: 百分之N, fractions, 一半), then unitless index values."""
        out = []
        for form, pattern in self.forms:
            for m in pattern.finditer(text):
                groups = m.groupdict()
                if form.value is not None:
                    value: float | None = form.value
                elif groups.get("num") is not None:
                    value = read_number(m["num"])
                else:
                    nom, den = read_number(m["nom"]), read_number(m["den"])
                    value = 100 * nom / den if nom is not None and den and nom < den else None
                if value is not None:
                    out.append(Figure(m.start(), m.end(), value, form.unit, form.dimension, Qualifier.EXACT,
                                      form.id, m[0] == form.bare, form.implied, form.listable))
        if self.index and self.index_rule:
            for m in self.index.finditer(text):
                value = read_number(m["num"])
                if value is not None:
                    out.append(Figure(m.start("num"), m.end("num"), value, self.index_rule.unit or "index",
                                      self.index_rule.dimension, Qualifier.EXACT, self.index_rule.id))
        return out

    # -- filters --------------------------------------------------------------

    def excluded_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of every exclusion (time-limited: a runaway pattern raises RuleTimeout naming its rule).

        A match across a line break is not one: a line of normalised text is a
        paragraph, and what a figure is never depends on the paragraph before.
        """
        spans = [whole_span(m) for e in self.exclusions for m in e.pattern.finditer(text)]
        return [(a, b) for a, b in spans if text.find("\n", a, b) < 0]

    def _qualify(self, text: str, fig: Figure) -> Figure | None:
        """Read the qualifier words around a figure; drop bare scale words without one."""
        prefix = _in_paragraph(text, fig.start, 12).rstrip()
        qualifier = None
        for _ in range(2):
            m = self.before_re.search(prefix)
            rule = self.before[m[0]] if m else None
            if rule is not None and (not rule.bare_only or fig.bare):
                qualifier = rule.qualifier
                break
            t = self.transparent_re.search(prefix)
            if t is None:
                break
            prefix = prefix[:t.start()].rstrip()
        if fig.bare and qualifier in (None, Qualifier.EXACT):
            return None
        m = self.after_re.match(text, fig.end)
        after = self.after[m[0]].qualifier if m else None
        if fig.qualifier != Qualifier.EXACT:  # inner markers and rank forms decide
            return fig
        decided = after or qualifier or Qualifier.EXACT
        return fig if decided == Qualifier.EXACT else replace(fig, qualifier=decided)

    def _pair_up(self, text: str, figs: list[Figure]) -> list[Figure]:
        """Ranges (3-5天, 20%—30%) and lists sharing one unit (9700亿和4000亿元)."""
        out = list(figs)
        taken = [(f.start, f.end) for f in figs]
        lead = self.lead
        for i, fig in enumerate(figs):
            if fig.dimension == Dimension.RANK or fig.bare or not fig.listable:
                continue
            window = _in_paragraph(text, fig.start, 24)
            prev = out[i - 1] if i else None
            between = text[prev.end:fig.start] if prev else ""
            gap = "" if "\n" in between else between.strip()  # (a range never spans paragraphs)
            joined = bool(gap) and gap in self.range_joiners
            if prev and joined and prev.unit == fig.unit and prev.dimension != Dimension.RANK:
                out[i - 1] = replace(prev, qualifier=Qualifier.LOWER_BOUND)
                out[i] = replace(fig, qualifier=Qualifier.UPPER_BOUND)
                continue
            if self.lead_ends is not None and not window.rstrip().endswith(self.lead_ends):
                continue  # (every space `lead` allows after the joiner is one that rstrip cuts)
            m = lead.search(window)
            if not m:
                continue
            start = fig.start - len(window) + m.start()
            end = fig.start - len(window) + (m.end("scale") if m["scale"] else m.end("num"))
            if any(s < end and start < e for s, e in taken):
                continue
            value = read_number(m["num"])
            mention = text[fig.start:fig.end]
            fig_num = read_number(_num_part(mention))
            if value is None or not fig_num:
                continue
            fig_scale = _scale_of(mention, self.scales, self.scale_words, self.inner_words)
            unit_factor = fig.value / (fig_num * fig_scale)
            is_range = m["join"] in self.range_joiners
            if not is_range and not (m["scale"] or "." in m["num"]):
                continue  # 两个胜诉一个调解: only lists of scaled or decimal amounts share a unit
            lead_scale = self.scales[m["scale"]] if m["scale"] else fig_scale  # 3-5万元
            out.append(Figure(start, end, value * lead_scale * unit_factor, fig.unit, fig.dimension,
                              Qualifier.LOWER_BOUND if is_range else Qualifier.EXACT, fig.rule,
                              implied=fig.implied, listable=fig.listable))
            if is_range:
                out[i] = replace(out[i], qualifier=Qualifier.UPPER_BOUND)
            taken.append((start, end))
        return sorted(out, key=lambda f: f.start)

    def find(self, text: str, skip: list[tuple[int, int]] | None = None) -> list[Figure]:
        """Every figure of a text, in order, after exclusions and the overlap policy."""
        candidates = self._numbered(text) + self._ranks(text) + self._forms(text)
        blocked = bytearray(len(text))  # 1 where an exclusion covers the text
        for start, end in self.excluded_spans(text) + list(skip or []):
            blocked[start:end] = b"\x01" * (end - start)
        candidates = [c for c in candidates if blocked.find(1, c.start, c.end) < 0]
        chosen = longest_first(candidates)
        qualified = [q for q in (self._qualify(text, f) for f in chosen) if q is not None]
        return self._pair_up(text, qualified)


def _in_paragraph(text: str, pos: int, reach: int) -> str:
    """Up to `reach` characters before `pos`, not before the start of its paragraph."""
    start = max(0, pos - reach)
    return text[max(start, text.rfind("\n", start, pos) + 1):pos]


_NUM_PART = regex.compile(rf"[-−]?(?:{AR}|{CN})")


def _num_part(mention: str) -> str:
    m = _NUM_PART.match(mention)
    return m[0].lstrip("-−") if m else mention


def _scale_of(mention: str, scales: dict[str, float], words: tuple[str, ...], inner: tuple[str, ...]) -> float:
    """The scale factor written in a mention (3.98万件 -> 1e4), 1 if none."""
    rest = mention[len(_num_part(mention)):].lstrip("".join(inner) + " ")
    for word in words:  # longest first
        if rest.startswith(word):
            return scales[word]
    return 1.0


def longest_first(candidates: list[Figure]) -> list[Figure]:
    """The overlap policy: longer mentions win; on a tie, the earlier, then rank rules.

    Like spaCy's `filter_spans`: a figure is kept only if it overlaps no
    figure already kept, visiting candidates longest first.
    """
    order = sorted(candidates, key=lambda f: (-(f.end - f.start), f.start, f.dimension != Dimension.RANK))
    kept: list[Figure] = []
    spans: list[tuple[int, int]] = []
    for fig in order:
        span = start, end = fig.start, fig.end
        i = bisect.bisect_left(spans, span)
        # (kept spans never overlap, so only the two around the new one can overlap it)
        if (i and spans[i - 1][0] < end and start < spans[i - 1][1]) or \
                (i < len(spans) and spans[i][0] < end and start < spans[i][1]):
            continue
        spans.insert(i, span)
        kept.append(fig)
    return sorted(kept, key=lambda f: f.start)
