"""Finding figures: a number with its scale word and unit, a rank, a fraction.

Compiled patterns built from the rules scan the normalised text; candidates
that overlap an exclusion are dropped; overlapping candidates are resolved by
one policy, `longest_first`; then qualifiers are read from the words around
each figure, ranges and shared-unit lists are completed. Jieba is not used
here: everything is a compiled pattern, so this stage runs at regex speed.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from functools import lru_cache

import regex

from pipeline.figures.numbers import read_number
from pipeline.rules.load import Rules, UnitRule

AR = r"(?<![\d.,])\d+(?:,\d{3})*(?:\.\d+)?(?:[万亿]\d+(?:,\d{3})*)?"
CN = r"(?<![零〇一二两三四五六七八九十百千万亿])[零〇一二两三四五六七八九十百千万亿]+"
NUM = rf"(?:{AR}|{CN})"
INNER = r"[余多]"
RANGE_JOINERS = "-—–~～至到"
LIST_JOINERS = ("和", "、", "与", "及", "或")
PUNCT = "，。；：！？,;:!?\n（）()“”《》"
SP = r"[^\S\n]*"  # spaces inside a figure: never a line break, which ends a paragraph once normalised
RULE_SECONDS = 2.0  # time limit for one user-written pattern on one report...
RULE_SECONDS_PER_MB = 4.0  # ...plus this much per MB of text


class RuleTimeout(RuntimeError):
    """A user-written pattern ran past its time limit on a report."""


@dataclass(frozen=True)
class Figure:
    """A figure found in the normalised text (offsets into it, not the raw file)."""

    start: int
    end: int
    value: float
    unit: str
    dimension: str
    qualifier: str
    rule: str
    bare: bool = False  # a bare scale word (亿元) or 半: needs a qualifier before it


def _alternation(words: list[str] | tuple[str, ...]) -> str:
    return "|".join(regex.escape(w) for w in sorted(set(words), key=len, reverse=True))


class FigureFinder:
    """The compiled patterns of one rule set."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.units: dict[str, UnitRule] = {w: u for u in rules.units for w in u.written}
        self.scales: dict[str, float] = {w: s.factor for s in rules.scales for w in s.written}
        self.bare_scales = {w for s in rules.scales if s.bare for w in s.written}
        self.main = regex.compile(
            rf"(?P<neg>(?<![\dA-Za-z%)）])[-−])?(?P<num>{NUM}){SP}(?P<in1>{INNER})?{SP}"
            rf"(?P<scale>{_alternation(list(self.scales))})?(?P<in2>{INNER})?{SP}(?P<unit>{_alternation(list(self.units))})"
        )
        # _numbered unpacks m.groups() in this order: no other group may creep in
        assert self.main.groups == 6 and tuple(self.main.groupindex) == ("neg", "num", "in1", "scale", "in2", "unit")
        index_words = [w for u in rules.units for w in u.after_words]
        self.index_rule = next((u for u in rules.units if u.after_words), None)
        self.index = regex.compile(
            rf"(?:{_alternation(index_words)})(?:为|达|是|达到)?{SP}(?P<num>{AR})(?![\d.%])"
        ) if index_words else None
        self.percent_word = regex.compile(rf"百分之(?P<num>{NUM})")
        self.fraction_cn = regex.compile(rf"(?P<den>{CN})分之(?P<nom>{CN})")
        self.fraction_ar = regex.compile(r"(?<![\d/.])(?P<nom>\d{1,3})/(?P<den>\d{1,3})(?![\d/])")
        self.half = regex.compile(r"一半|(?<=过)半(?!年)")
        n = r"(?:\d+|[零〇一二两三四五六七八九十百千]+)"
        self.rank_forms = [(f, regex.compile(f.pattern.replace("{N}", f"(?P<num>{n})"))) for f in rules.rank_forms]
        cues, scopes = _alternation(rules.rank_cues), _alternation(rules.rank_scopes)
        self.rank_near = regex.compile(rf"(?:(?:{cues})[^{PUNCT}]{{0,10}}|(?:{scopes})[^{PUNCT}]{{0,6}})$")
        self.rank_strict = regex.compile(rf"(?:{cues})(?:{scopes})?{SP}$")
        quals = rules.qualifiers
        self.before = {w: q for q in quals if q.position == "before" for w in q.words}
        self.after = {w: q for q in quals if q.position == "after" for w in q.words}
        self.before_re = regex.compile(rf"(?:{_alternation(list(self.before))})$")
        self.after_re = regex.compile(_alternation(list(self.after)))
        self.transparent_re = regex.compile(rf"(?:{_alternation(rules.cue_words('transparent'))})$")
        self.inner_qualifier = next((q.qualifier for q in quals if q.position == "inner"), "lower_bound")
        self.exclusions = [(e.id, e.pattern) for e in rules.exclusions]
        self.lead = regex.compile(rf"(?P<num>{AR}|{CN}){SP}(?P<scale>{_alternation(list(self.scales))})?{SP}"
                                  rf"(?P<join>[{RANGE_JOINERS}]|{'|'.join(LIST_JOINERS)}){SP}$")  # 3-|5天, 9700亿和|4000亿元

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
            qualifier = self.inner_qualifier if (in1 or in2) else "exact"
            out.append(Figure(m.start("neg") if neg else m.start("num"), end, value, unit.unit or unit_text,
                              unit.dimension, qualifier, unit.id, bare))
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
                before = _in_paragraph(text, m.start(), 16)
                if form.context == "near" and not self.rank_near.search(before):
                    continue
                if form.context == "strict" and not self.rank_strict.search(before):
                    continue
                out.append(Figure(m.start(), m.end(), value, "rank", "rank", form.qualifier, form.id))
        return out

    def _percent_forms(self, text: str) -> list[Figure]:
        out = []
        for m in self.percent_word.finditer(text):
            value = read_number(m["num"])
            if value is not None:
                out.append(Figure(m.start(), m.end(), value, "%", "percent", "exact", "unit.percent.words"))
        for pattern, rule in ((self.fraction_cn, "unit.percent.fraction"), (self.fraction_ar, "unit.percent.fraction")):
            for m in pattern.finditer(text):
                nom, den = read_number(m["nom"]), read_number(m["den"])
                if nom is not None and den and nom < den:
                    out.append(Figure(m.start(), m.end(), 100 * nom / den, "%", "percent", "exact", rule))
        for m in self.half.finditer(text):
            out.append(Figure(m.start(), m.end(), 50.0, "%", "percent", "exact", "unit.percent.half", m[0] == "半"))
        if self.index and self.index_rule:
            for m in self.index.finditer(text):
                value = read_number(m["num"])
                if value is not None:
                    out.append(Figure(m.start("num"), m.end("num"), value, self.index_rule.unit or "index",
                                      self.index_rule.dimension, "exact", self.index_rule.id))
        return out

    # -- filters --------------------------------------------------------------

    def excluded_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of every exclusion; a rule whose regex runs away is stopped and named.

        A match across a line break is not one: a line of normalised text is a
        paragraph, and what a figure is never depends on the paragraph before.
        """
        limit = RULE_SECONDS + RULE_SECONDS_PER_MB * len(text) / 1e6
        spans: list[tuple[int, int]] = []
        for rule_id, pattern in self.exclusions:
            try:
                spans.extend(m.span() for m in pattern.finditer(text, timeout=limit) if "\n" not in m[0])
            except TimeoutError:
                raise RuleTimeout(f"rule {rule_id!r} took over {limit:.1f} s on one report "
                                  "(catastrophic backtracking?); fix its pattern") from None
        return spans

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
        if fig.bare and qualifier in (None, "exact"):
            return None
        m = self.after_re.match(text, fig.end)
        after = self.after[m[0]].qualifier if m else None
        if fig.qualifier != "exact":  # inner markers and rank forms decide
            return fig
        decided = after or qualifier or "exact"
        return fig if decided == "exact" else replace(fig, qualifier=decided)

    def _pair_up(self, text: str, figs: list[Figure]) -> list[Figure]:
        """Ranges (3-5天, 20%—30%) and lists sharing one unit (9700亿和4000亿元)."""
        out = list(figs)
        taken = [(f.start, f.end) for f in figs]
        lead = self.lead
        for i, fig in enumerate(figs):
            if fig.dimension == "rank" or fig.bare or fig.rule.startswith("unit.percent."):
                continue
            window = _in_paragraph(text, fig.start, 24)
            prev = out[i - 1] if i else None
            between = text[prev.end:fig.start] if prev else ""
            gap = "" if "\n" in between else between.strip()  # (a range never spans paragraphs)
            if prev and gap and gap in RANGE_JOINERS and prev.unit == fig.unit and prev.dimension != "rank":
                out[i - 1] = replace(prev, qualifier="lower_bound")
                out[i] = replace(fig, qualifier="upper_bound")
                continue
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
            fig_scale = _scale_of(mention, self.scales)
            unit_factor = fig.value / (fig_num * fig_scale)
            is_range = m["join"] in RANGE_JOINERS
            if not is_range and not (m["scale"] or "." in m["num"]):
                continue  # 两个胜诉一个调解: only lists of scaled or decimal amounts share a unit
            lead_scale = self.scales[m["scale"]] if m["scale"] else fig_scale  # 3-5万元
            out.append(Figure(start, end, value * lead_scale * unit_factor, fig.unit, fig.dimension,
                              "lower_bound" if is_range else "exact", fig.rule))
            if is_range:
                out[i] = replace(out[i], qualifier="upper_bound")
            taken.append((start, end))
        return sorted(out, key=lambda f: f.start)

    def find(self, text: str, skip: list[tuple[int, int]] | None = None) -> list[Figure]:
        """Every figure of a text, in order, after exclusions and the overlap policy."""
        candidates = self._numbered(text) + self._ranks(text) + self._percent_forms(text)
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


def _scale_of(mention: str, scales: dict[str, float]) -> float:
    """The scale factor written in a mention (3.98万件 -> 1e4), 1 if none."""
    rest = mention[len(_num_part(mention)):].lstrip("余多 ")
    for word in sorted(scales, key=len, reverse=True):
        if rest.startswith(word):
            return scales[word]
    return 1.0


def longest_first(candidates: list[Figure]) -> list[Figure]:
    """The overlap policy: longer mentions win; on a tie, the earlier, then rank rules.

    Like spaCy's `filter_spans`: a figure is kept only if it overlaps no
    figure already kept, visiting candidates longest first.
    """
    order = sorted(candidates, key=lambda f: (-(f.end - f.start), f.start, f.dimension != "rank"))
    kept: list[Figure] = []
    spans: list[tuple[int, int]] = []
    for fig in order:
        i = bisect.bisect_left(spans, (fig.start, fig.end))
        neighbours = spans[max(0, i - 1):i + 1]
        if any(s < fig.end and fig.start < e for s, e in neighbours):
            continue
        spans.insert(i, (fig.start, fig.end))
        kept.append(fig)
    return sorted(kept, key=lambda f: f.start)


@lru_cache(maxsize=8)
def finder_for(rules: Rules) -> FigureFinder:
    """One compiled finder per rule set (rules are immutable, so cache by identity)."""
    return FigureFinder(rules)
