"""Recognising plan documents, whose figures are targets for the plan's end year."""
from __future__ import annotations

import regex

from pipeline.rules.patterns import alternation

_YEAR = r"(?:1[89]|20)\d{2}"


class PlanTitles:
    """Titles naming a plan and its span (…工作方案（2022-2025年）); words from periods.yaml."""

    def __init__(self, words: tuple[str, ...], range_joiners: tuple[str, ...],
                 periods: tuple[tuple[str, int], ...] = ()) -> None:
        """`periods`: plan periods and their end year (十四五 -> 2025), from periods.yaml."""
        plan, joiner = alternation(words) or "(?!)", alternation(range_joiners) or "(?!)"
        self._periods = dict(periods)
        self._period = regex.compile(alternation(self._periods) or "(?!)")
        self._named = regex.compile(plan)
        self._after = regex.compile(
            rf"(?:{plan})[^0-9]{{0,6}}[（(]?\s*{_YEAR}\s*(?:{joiner})\s*({_YEAR})\s*年?")
        self._bracketed = regex.compile(rf"[（(]\s*{_YEAR}\s*(?:{joiner})\s*({_YEAR})\s*年?\s*[）)]")

    def end_year(self, title: str | None) -> int | None:
        """End year of a plan named in the title, else None."""
        if not title or not self._named.search(title):
            return None
        m = self._after.search(title) or self._bracketed.search(title)
        if m:
            return int(m[1])
        named = self._period.search(title)  # “十三五”…规划
        return self._periods[named[0]] if named else None
