"""Windows: where a long report may be cut so that its parts extract as the whole does.

Extraction holds a text's figures, region mentions and facts as Python
objects, several hundred bytes each: extracting one 50 MB report whole took
a process from 73 to 743 MB. `pipeline.facts.extract` therefore reads a long report
window by window, each about `WINDOW_CHARS` characters, and carries across a
cut what a window cannot see itself (the document's region, the region of
the section it opens in, the years of a section it shares with the previous
window).

Everything else extraction reads is inside one paragraph, so a cut must fall
between paragraphs that normalisation would never join or reorder: after a
body line long enough not to be a heading or a caption, ending its sentence,
and with no table row on either side (a table may have blank lines between
its rows).
"""
from __future__ import annotations

import regex

from pipeline.text.normalise import fold_chars, is_block, is_open, is_table_line

WINDOW_CHARS = 1_000_000  # ~3 MB of UTF-8 Chinese: tens of MB of objects per window
_MIN_LINE = 42  # longer than any line the section or heading patterns take for a heading
_LINE = regex.compile(r"[^\n]*\n?")


def _safe_after(line: str) -> bool:
    """May a window end after this (stripped, non-blank) line? (is_block takes in table rows.)"""
    return len(line) >= _MIN_LINE and not is_open(line) and not is_block(line)


def cuts(text: str, size: int = WINDOW_CHARS) -> list[int]:
    """Offsets where windows of `text` start after the first: each at least `size`
    characters after the one before, at the first safe line start from there.

    A text with no safe place past `size` stays one window (it then takes the
    memory of its size).
    """
    found: list[int] = []
    floor = size
    while floor < len(text):
        cut = _next_cut(text, floor)
        if cut is None:
            break
        found.append(cut)
        floor = cut + size
    return found


def _next_cut(text: str, floor: int) -> int | None:
    """The first line start at or after `floor` that is safe to cut at."""
    pos = text.rfind("\n", 0, floor) + 1  # the line holding `floor`
    previous: str | None = None  # the last non-blank line before `pos`, stripped
    if pos > 0:
        before = text.rfind("\n", 0, pos - 1) + 1
        previous = _last_nonblank(text, before, pos)
    for m in _LINE.finditer(text, pos):
        if not m.group():
            return None
        line = fold_chars(m.group().strip(" \t\r\n\u3000"))  # as normalisation sees it
        if not line:
            continue
        if m.start() >= floor and previous is not None and _safe_after(previous) and not is_table_line(line):
            return m.start()
        previous = line
    return None


def _last_nonblank(text: str, start: int, end: int) -> str | None:
    """The line text[start:end], or if it is blank the nearest non-blank line before it;
    stripped and folded (None at the start of the text)."""
    while True:
        line = text[start:end].strip(" \t\r\n\u3000")
        if line:
            return fold_chars(line)
        if start == 0:
            return None
        end = start
        start = text.rfind("\n", 0, start - 1) + 1
