"""Attaching the period: the year a figure refers to.

The nearest time expression before the figure in its sentence decides:
an explicit year (2023年, 截至2023年底, the end of a span 2021年—2022年), a
relative year (去年) against the publication date, a present-time word
(目前) or a running total (以来, 累计) giving the publication year, a plan
period (十四五 -> 2025), or an open expression (近年来, 连续) giving null.
Word lists live in rules/periods.yaml.
"""
from __future__ import annotations

import bisect
from datetime import date

import regex

from pipeline.rules.patterns import alternation
from pipeline.rules.word_rules import PeriodKind, Periods
from pipeline.text.words import Memo

# A year as written (the date grammar, like the numerals, stays in code).
YEAR = regex.compile(r"(?<!\d)((?:1[89]|20)\d{2})\s*年")
Expression = tuple[int, str, str | None]  # (end offset, kind, year or word)
_DATED = ("year", PeriodKind.RELATIVE)  # the kinds a comparison word before them makes a baseline
_ERA_YEAR = regex.compile(r"(?<![\d.,])(\d{2,3})\s*年(?!代)")  # a year of a calendar with an era (106年)


class PeriodReader:
    """The period words of one rule set, compiled for `resolve`."""

    def __init__(self, periods: Periods, range_joiners: tuple[str, ...], era: int | None = None) -> None:
        """`era`: years written in a calendar of their own count from it (ROC 106年 + 1911 = 2017)."""
        self._era = era
        self._by_word = {w: (p.kind, p.offset, p.year) for p in periods.rules for w in p.words}
        self._pattern = regex.compile(alternation(self._by_word) or "(?!)")
        joiner = alternation(range_joiners) or "(?!)"
        self._range_end = regex.compile(
            rf"(?<!\d)(?:1[89]|20)\d{{2}}\s*年?\s*(?:{joiner})\s*((?:1[89]|20)\d{{2}})\s*年")
        self._baseline = regex.compile(rf"(?:{alternation(periods.words['baseline']) or '(?!)'})\s*$")
        self._from = tuple(periods.words["from"])
        self._to = regex.compile(alternation(periods.words["to"]) or "(?!)")
        self._memo = Memo(256)

    def _scan(self, text: str) -> tuple[list[Expression], list[tuple[int, int]]]:
        """(position, kind, year or word) of each time expression in `text`, and
        the span of every match read.

        A year that is the baseline of a comparison (较去年同期增加200家,
        比2014年增长, 較92年增加) is not the period of anything, so it is left out.
        """
        out: list[Expression] = []
        spans: list[tuple[int, int]] = []
        starts: dict[int, int] = {}  # end offset -> where the expression starts
        for m in self._range_end.finditer(text):
            spans.append(m.span())
            out.append((m.end(), "year", m[1]))
            starts[m.end()] = m.start()
        ranges = list(spans)
        for m in YEAR.finditer(text):
            spans.append(m.span())
            if not any(s <= m.start() < e for s, e in ranges):
                out.append((m.end(), "year", m[1]))
                starts[m.end()] = m.start()
        if self._era is not None:
            for m in _ERA_YEAR.finditer(text):
                spans.append(m.span())
                out.append((m.end(), "year", str(int(m[1]) + self._era)))
                starts[m.end()] = m.start()
        for m in self._pattern.finditer(text):
            spans.append(m.span())
            out.append((m.end(), self._by_word[m[0]][0], m[0]))
            starts[m.end()] = m.start()
        return sorted(e for e in out if e[1] not in _DATED or
                      not self._baseline.search(text, 0, starts[e[0]])), spans

    def _expressions(self, text: str) -> tuple[list[Expression], list[tuple[int, int]]]:
        """`_scan`, memoised per sentence: figures come in text order, so a sentence's
        expressions serve all its figures."""
        found: tuple[list[Expression], list[tuple[int, int]]] = self._memo.get(text, self._scan)
        return found

    def _expressions_before(self, sentence: str, cut: int) -> list[Expression]:
        """The time expressions of `sentence[:cut]`, from those of the whole sentence.

        Expressions ending by `cut` are the same either way unless a match read in
        the whole sentence runs across `cut` (it may hide a shorter one): then the
        prefix is read on its own.
        """
        found, spans = self._expressions(sentence)
        if any(s < cut < e for s, e in spans):
            return self._scan(sentence[:cut])[0]
        return [e for e in found if e[0] <= cut]

    def _year_of(self, found: list[Expression], published: date | None,
                 from_start: bool = False) -> tuple[bool, str | None]:
        """(decided, year) from the time expressions before a figure, nearest last."""
        _, kind, value = found[-1]
        earlier = [e for e in found[:-1] if e[1] in ("year", PeriodKind.PLAN, PeriodKind.RELATIVE)]
        if kind == PeriodKind.SINCE and earlier and earlier[-1][1] == "year" and from_start:
            return True, earlier[-1][2]  # 2003年以来…从1.7万件增长至212万件: X takes the start year
        if kind in (PeriodKind.RUNNING, PeriodKind.STREAK) and earlier:
            _, kind, value = earlier[-1]  # 截至2023年底，累计… / 2023年…连续4年: the stated year
        info = self._by_word.get(value or "")
        if kind == "year":
            return True, value
        if kind == PeriodKind.PLAN and info:
            return True, str(info[2])
        if kind in (PeriodKind.OPEN, PeriodKind.STREAK):
            return True, None
        if published is None:
            return True, None
        if kind == PeriodKind.RELATIVE and info:
            return True, str(published.year + info[1])
        if kind in (PeriodKind.PRESENT, PeriodKind.SINCE, PeriodKind.RUNNING):
            return True, str(published.year)  # 2021年以来 / 目前: a running total up to now
        return False, None

    def title_year(self, title: str | None, published: date | None) -> str | None:
        """The year a document's title gives its figures (去年研发经费… -> the year before
        publication): what a figure with no time expression of its own, in a section with no
        year written, refers to."""
        if not title:
            return None
        found = [e for e in self._scan(title)[0] if e[1] in ("year", PeriodKind.RELATIVE, PeriodKind.PLAN)]
        if not found:
            return None
        decided, year = self._year_of(found, published)
        return year if decided else None

    def stated(self, text: str, fig_start: int, sentence: tuple[int, int],
               published: date | None) -> tuple[bool, str | None]:
        """(decided, year) from the time expressions a figure's own sentence, else its
        paragraph so far, states (去年9月，…召开。该联盟…首次将6件…); (False, None) if none decides."""
        s0, _ = sentence
        found = self._expressions_before(text[s0:sentence[1]], fig_start - s0)
        from_start = False
        if found:  # (the `from` words are never empty, so with no expression none is in the tail)
            tail = text[s0 + found[-1][0]:fig_start]
            last_from = max((tail.rfind(w) for w in self._from), default=-1)
            from_start = last_from >= 0 and not self._to.search(tail[last_from:])
        else:
            para = text.rfind("\n", 0, s0) + 1
            found = [e for e in self._expressions(text[para:s0])[0]
                     if e[1] in ("year", PeriodKind.RELATIVE, PeriodKind.PRESENT, PeriodKind.PLAN)]
        return self._year_of(found, published, from_start) if found else (False, None)

    def resolve(self, text: str, fig_start: int, sentence: tuple[int, int], published: date | None,
                default_year: int | None = None,
                sections: list[tuple[int, str | None]] | None = None, document_year: str | None = None) -> str | None:
        """The period of a figure starting at `fig_start` in the sentence `sentence`: the
        year its text states, else `default_year` (a plan's targets), else its section's
        or document's (`year_at`)."""
        decided, year = self.stated(text, fig_start, sentence, published)
        if decided:
            return year
        if default_year:
            return str(default_year)
        return year_at(sections or [], fig_start, document_year)


def year_at(sections: list[tuple[int, str | None]], pos: int, document_year: str | None) -> str | None:
    """The year of a figure with no time expression of its own at `pos`: the one its
    section is about (杭州 2022年“十件事”), else the document's (its title's)."""
    i = bisect.bisect_right(sections, pos, key=lambda section: section[0]) - 1
    if i >= 0 and sections[i][1] is not None:
        return sections[i][1]
    return document_year


_SECTION_BREAK = regex.compile(r"\n(?=#|[^\n]{2,8}[：:][^\n]{0,32}\n)")


def section_years(text: str) -> list[tuple[int, str | None]]:
    """(section start, its dominant year): the explicit year written most often in
    each section; a section starts at a heading."""
    return [(start, dominant_year(counts)) for start, counts in section_year_counts(text)]


def section_year_counts(text: str) -> list[tuple[int, dict[str, int]]]:
    """(section start, how often each explicit year is written in the section).

    Counts rather than the dominant year, so that a section cut between two
    windows of a long report can be added up (pipeline.text.windows).
    """
    starts = [0] + [m.end() for m in _SECTION_BREAK.finditer(text)]
    out: list[tuple[int, dict[str, int]]] = []
    for a, b in zip(starts, [*starts[1:], len(text)]):
        counts: dict[str, int] = {}
        for m in YEAR.finditer(text, a, b):
            counts[m[1]] = counts.get(m[1], 0) + 1
        out.append((a, counts))
    return out


def dominant_year(counts: dict[str, int]) -> str | None:
    """The year written most often; the later one on a tie."""
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]), default=(None, 0))[0]


def opens_section(text: str) -> bool:
    """Does a section start at the beginning of `text` (text that follows a line break)?"""
    return _SECTION_BREAK.match("\n" + text[:64]) is not None
