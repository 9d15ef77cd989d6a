"""The catalogue (`raw/documents.csv`) and what a report says of itself: its title and date.

A report's title and publication date feed periods and plan targets, so a
malformed catalogue is fatal (it would misdate every report); a report not
in it takes the title and date its own text states.
"""
from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

CATALOGUE_NAME = "documents.csv"
TITLE_MAX = 200
TITLE_HEADING_WINDOW = 5  # a heading deeper than this is a section, not the title
Catalogue = dict[str, tuple[str | None, date | None]]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Full-width forms are matched as written (\d takes ２; int() reads it): folding
# a whole 50 MB report first (NFKC) took 5 s of its 8 s read.
_SP = r"[ \u3000\xa0]*"
_SEP = r"[-/.－／．]"
_DATE = (rf"(?<!\d)(\d{{4}}){_SP}(?:年|{_SEP}){_SP}(\d{{1,2}}){_SP}(?:月|{_SEP}){_SP}"
         rf"(\d{{1,2}})(?!\d){_SP}日?")
_MARK = r"[*_＊＿]*"

# Line breaks as str.splitlines sees them, and white space within a line.
_BREAK = r"\n\r\v\f\x1c-\x1e\x85\u2028\u2029"
_HS = rf"[^\S{_BREAK}]*"
# A bare 日期 must not be the tail of another word (截止日期 is a deadline).
_LABELLED_DATE = re.compile(  # the lookahead lets re skip to a label's first character
    r"(?=[发成印日])(?:发布日期|发布时间|发文日期|成文日期|印发日期|(?<![\u4e00-\u9fff])日期)"
    rf"\s*[:：]?\s*{_MARK}\s*" + _DATE
)
# A date alone on its line (a signature line), found in one pass over the text.
_STANDALONE_DATE = re.compile(
    rf"(?<![^{_BREAK}]){_HS}{_MARK}{_HS}{_DATE}{_HS}(?:印发|发布)?{_HS}{_MARK}{_HS}(?![^{_BREAK}])"
)
_HEADING = re.compile(r"#{1,6}\s+(.*?)\s*#*\s*")
# The non-empty lines of str.splitlines, found lazily (a title is near the top).
_LINE = re.compile(rf"[^{_BREAK}]+")

class CatalogueError(ValueError):
    """documents.csv is malformed; fatal because it would misdate every report."""


def load_catalogue(raw: Path) -> dict[str, tuple[str | None, date | None]]:
    """Read the optional documents.csv: file -> (title, published)."""
    path = raw / CATALOGUE_NAME
    if not path.is_file():
        return {}
    catalogue: dict[str, tuple[str | None, date | None]] = {}
    line = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"file", "title", "published"} - set(reader.fieldnames or ())
            if missing:
                raise CatalogueError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
            for row in reader:
                line = reader.line_num
                file = (row.get("file") or "").strip().replace("\\", "/").removeprefix("./")
                if not file:
                    raise CatalogueError(f"{path}:{line}: empty 'file' column")
                if file in catalogue:
                    raise CatalogueError(f"{path}:{line}: duplicate entry for {file!r}")
                title = (row.get("title") or "").strip() or None
                catalogue[file] = (title, _parse_iso(row.get("published"), path, line))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CatalogueError(f"{path}:{line}: {exc}") from None
    return catalogue


def _parse_iso(value: str | None, path: Path, line: int) -> date | None:
    """Parse a YYYY-MM-DD cell; anything else is an error, not a silent None."""
    value = (value or "").strip()
    if not value:
        return None
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise CatalogueError(f"{path}:{line}: invalid date {value!r}: {exc}") from None
    raise CatalogueError(f"{path}:{line}: published {value!r} is not YYYY-MM-DD")


def date_from_text(text: str) -> date | None:
    """Find the publication date the report states, labelled dates first."""
    for pattern in (_LABELLED_DATE, _STANDALONE_DATE):
        for match in pattern.finditer(text):
            if (found := _to_date(match)) is not None:
                return found
    return None


def _to_date(match: re.Match[str]) -> date | None:
    """Build the date from a match, or None when it does not exist (2月30日)."""
    try:
        return date(*(int(part) for part in match.group(1, 2, 3)))
    except ValueError:
        return None


def title_from_text(text: str) -> str | None:
    """Fallback title: a markdown heading near the top, else the first line."""
    lines: list[str] = []
    for match in _LINE.finditer(text):  # lazily: only the first few lines matter
        if line := match.group().strip():
            lines.append(line)
            if len(lines) == TITLE_HEADING_WINDOW:
                break
    for line in lines:
        heading = _HEADING.fullmatch(line[:TITLE_MAX * 4])  # a title is short; skip giant lines
        if heading and heading.group(1):
            return heading.group(1)[:TITLE_MAX]
    return lines[0][:TITLE_MAX] if lines else None
