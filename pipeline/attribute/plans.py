"""Recognising plan documents, whose figures are targets for the plan's end year."""
from __future__ import annotations

import regex

_PLAN = regex.compile(r"(?:方案|规划|计划|纲要|要点)[^0-9]{0,6}[（(]?\s*(?:1[89]|20)\d{2}\s*[-—–~～至到]\s*((?:1[89]|20)\d{2})\s*年?")
_PLAN_BEFORE = regex.compile(r"[（(]\s*(?:1[89]|20)\d{2}\s*[-—–~～至到]\s*((?:1[89]|20)\d{2})\s*年?\s*[）)]")


def plan_end_year(title: str | None) -> int | None:
    """End year of a plan named in the title (…工作方案（2022-2025年）), else None."""
    if not title or not regex.search(r"方案|规划|计划|纲要|要点", title):
        return None
    m = _PLAN.search(title) or _PLAN_BEFORE.search(title)
    return int(m[1]) if m else None
