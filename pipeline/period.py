"""Attaching the period: the year a figure refers to.

The nearest time expression before the figure in its sentence decides:
an explicit year (2023年, 截至2023年底, the end of a span 2021年—2022年), a
relative year (去年) against the publication date, a present-time word
(目前) or a running total (以来, 累计) giving the publication year, a plan
period (十四五 -> 2025), or an open expression (近年来, 连续) giving null.
Word lists live in rules/periods.yaml.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import regex

from pipeline.rules import Rules

YEAR = regex.compile(r"(?<!\d)((?:1[89]|20)\d{2})\s*年")
_RANGE_END = regex.compile(r"(?<!\d)(?:1[89]|20)\d{2}\s*年?\s*[-—–~～至到]\s*((?:1[89]|20)\d{2})\s*年")


@lru_cache(maxsize=8)
def _pattern(rules: Rules) -> regex.Pattern[str]:
    words = sorted({w for p in rules.periods for w in p.words}, key=len, reverse=True)
    return regex.compile("|".join(regex.escape(w) for w in words))


@lru_cache(maxsize=8)
def _by_word(rules: Rules) -> dict[str, tuple[str, int, int | None]]:
    return {w: (p.kind, p.offset, p.year) for p in rules.periods for w in p.words}


def _expressions(text: str, rules: Rules) -> list[tuple[int, str, str | None]]:
    """(position, kind, year or None) of each time expression in `text`."""
    out: list[tuple[int, str, str | None]] = []
    ranges = [m.span() for m in _RANGE_END.finditer(text)]
    out.extend((m.end(), "year", m[1]) for m in _RANGE_END.finditer(text))
    for m in YEAR.finditer(text):
        if not any(s <= m.start() < e for s, e in ranges):
            out.append((m.end(), "year", m[1]))
    for m in _pattern(rules).finditer(text):
        kind, _, _ = _by_word(rules)[m[0]]
        out.append((m.end(), kind, m[0]))
    return sorted(out)


def resolve(text: str, fig_start: int, sentence: tuple[int, int], published: date | None,
            rules: Rules, default_year: int | None = None) -> str | None:
    """The period of a figure starting at `fig_start` in the sentence `sentence`."""
    s0, _ = sentence
    prefix = text[s0:fig_start]
    found = _expressions(prefix, rules)
    if not found:
        return str(default_year) if default_year else None
    _, kind, value = found[-1]
    if kind == "running" and len(found) > 1 and found[-2][1] in ("year", "plan", "relative"):
        _, kind, value = found[-2]  # 截至2023年底，累计…: the stated year ends the running total
    if kind == "year":
        return value
    info = _by_word(rules).get(value or "")
    if kind == "plan" and info:
        return str(info[2])
    if kind == "open":
        return None
    if published is None:
        return None
    if kind == "relative" and info:
        return str(published.year + info[1])
    if kind in ("present", "since", "running"):
        # `2021年以来` / `去年以来`: a running total up to now
        return str(published.year)
    return None
