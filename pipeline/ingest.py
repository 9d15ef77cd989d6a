"""Read reports from the raw folder into `Document` records.

Text is decoded but never normalised: fact offsets index the decoded string,
so newlines, full-width characters and spacing are kept exactly as on disk.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pipeline.records import Document, ReadError

REPORT_SUFFIXES = frozenset({".txt", ".md"})
CATALOGUE_NAME = "documents.csv"
TITLE_MAX = 200
TITLE_HEADING_WINDOW = 5  # a heading deeper than this is a section, not the title
CONTROL_MAX_RATIO = 0.1  # real reports have ~0 control chars; binary has many

# C0/C1 controls except tab, newline, vertical tab, form feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Matched against NFKC text, so full-width digits and colons are already ASCII.
_DATE = r"(?<!\d)(\d{4}) *(?:年|[-/.]) *(\d{1,2}) *(?:月|[-/.]) *(\d{1,2})(?!\d) *日?"
# A bare 日期 must not be the tail of another word (截止日期 is a deadline).
_LABELLED_DATE = re.compile(
    r"(?:发布日期|发布时间|发文日期|成文日期|印发日期|(?<![\u4e00-\u9fff])日期)"
    r"\s*[:]?\s*[*_]*\s*" + _DATE
)
_STANDALONE_DATE = re.compile(r"\s*[*_]*\s*" + _DATE + r"\s*(?:印发|发布)?\s*[*_]*\s*")
_HEADING = re.compile(r"#{1,6}\s+(.*?)\s*#*\s*")


class UnreadableError(ValueError):
    """The bytes are not a text report we can decode; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CatalogueError(ValueError):
    """documents.csv is malformed; fatal because it would misdate every report."""


def discover(raw: Path) -> list[Path]:
    """List report files in a stable order so runs and ids are reproducible."""
    if not raw.is_dir():
        raise FileNotFoundError(f"raw folder not found: {raw}")
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(raw):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # prune hidden
        for name in filenames:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in REPORT_SUFFIXES:
                continue
            path = Path(dirpath, name)
            found.append((path.relative_to(raw).as_posix(), path))
    return [path for _, path in sorted(found)]


def decode(data: bytes) -> tuple[str, str]:
    """Decode report bytes with the first codec that accepts them strictly."""
    if not data.strip():
        raise UnreadableError("empty file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _strict(data, "utf-16"), "utf-16"
    elif b"\x00" in data:
        raise UnreadableError("binary file (contains NUL bytes)")
    elif data.startswith(codecs.BOM_UTF8):
        bom = len(codecs.BOM_UTF8)  # decode after it so error offsets stay absolute
        text, encoding = _strict(data[bom:], "utf-8", bom), "utf-8-sig"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            try:
                text, encoding = data.decode("gb18030"), "gb18030"
            except UnicodeDecodeError:
                raise UnreadableError(
                    f"undecodable bytes at offset {exc.start} (neither UTF-8 nor GB18030)"
                ) from None
    if not text.strip():
        raise UnreadableError("empty file")
    if len(_CONTROL.findall(text)) > CONTROL_MAX_RATIO * len(text):
        raise UnreadableError("binary file (mostly control characters)")
    return text, encoding


def _strict(data: bytes, encoding: str, base: int = 0) -> str:
    """Decode with a BOM-declared codec; a BOM is a promise, so no fallback."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableError(f"invalid {encoding} at byte offset {base + exc.start}") from None


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
    folded = unicodedata.normalize("NFKC", text)  # for matching only, never stored
    for match in _LABELLED_DATE.finditer(folded):
        if (found := _to_date(match)) is not None:
            return found
    for line in folded.splitlines():
        match = _STANDALONE_DATE.fullmatch(line)
        if match and (found := _to_date(match)) is not None:
            return found
    return None


def _to_date(match: re.Match[str]) -> date | None:
    """Build the date from a match, or None when it does not exist (2月30日)."""
    try:
        return date(*(int(part) for part in match.group(1, 2, 3)))
    except ValueError:
        return None


def _title_from_text(text: str) -> str | None:
    """Fallback title: a markdown heading near the top, else the first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines[:TITLE_HEADING_WINDOW]:
        match = _HEADING.fullmatch(line)
        if match and match.group(1):
            return match.group(1)[:TITLE_MAX]
    return lines[0][:TITLE_MAX] if lines else None


def doc_id_for(relpath: str) -> str:
    """Id from the path, not the content, so edits keep the same id."""
    return hashlib.sha1(relpath.encode("utf-8")).hexdigest()[:16]


def read_document(
    path: Path, raw: Path, catalogue: dict[str, tuple[str | None, date | None]]
) -> Document | ReadError:
    """Read one report; a bad file becomes a ReadError, never an exception."""
    relpath = path.relative_to(raw).as_posix()
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ReadError(relpath, f"cannot read file: {exc.strerror or exc}")
    try:
        text, encoding = decode(data)
    except UnreadableError as exc:
        return ReadError(relpath, exc.reason)
    title, published = catalogue.get(relpath) or catalogue.get(path.name) or (None, None)
    return Document(
        doc_id=doc_id_for(relpath),
        file=relpath,
        path=path.absolute(),
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        title=title or _title_from_text(text),
        published=published or date_from_text(text),
    )


def iter_documents(raw: Path) -> Iterator[Document | ReadError]:
    """Stream every report; the catalogue and file list fail fast, at call time."""
    paths = discover(raw)
    catalogue = load_catalogue(raw)
    return (read_document(path, raw, catalogue) for path in paths)
