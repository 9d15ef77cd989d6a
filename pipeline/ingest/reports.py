"""Read reports from the raw folder into `Document` records.

Text is decoded but never normalised: fact offsets index the decoded string,
so newlines, full-width characters and spacing are kept exactly as on disk.

Bad input never stops a run: every file that cannot be taken as a report
(empty, binary, undecodable, too large, vanished, unreadable, not a regular
file) comes out as a `ReadError` naming the file and the reason.

Encodings: a BOM decides (UTF-8, UTF-16, UTF-32; a BOM is a promise, so
invalid bytes after it are an error, never a fallback). Without a BOM, NUL
bytes mean UTF-16 (taken only when they are as frequent as its ASCII makes
them and the text decodes to plausible report characters) or binary. Else
UTF-8, then GB18030 - unless the bytes are UTF-8 with a few corrupt bytes:
GB18030 would accept them as mojibake, so they are refused with the offset.

Size: a report up to `MAX_REPORT_BYTES` (64 MiB) is read whole, since facts
index the whole decoded text; a larger file is refused from its size alone,
before a byte is read, so a stray dump cannot exhaust memory.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pipeline.ingest.formats import FORMATS, FormatError, to_text
from pipeline.records import Document, ReadError

REPORT_SUFFIXES = frozenset({".txt", ".md"}) | FORMATS  # FORMATS: .pdf .docx .html .htm
CATALOGUE_NAME = "documents.csv"
TITLE_MAX = 200
TITLE_HEADING_WINDOW = 5  # a heading deeper than this is a section, not the title
CONTROL_MAX_RATIO = 0.1  # real reports have ~0 control chars; binary has many
MAX_REPORT_BYTES = 64 * 2**20  # read whole up to this; see the module docstring
# UTF-16 without a BOM: its ASCII characters (digits, newlines) put a NUL byte
# on one side of at least this share of the characters; a UTF-8 file with a
# stray NUL does not, and would otherwise read as plausible CJK ("Bush hid the facts").
UTF16_MIN_NUL_SHARE = 0.01
UTF16_SAMPLE_CHARS = 1 << 20  # plausibility is judged on the first Mi characters
UTF16_MIN_PLAUSIBLE = 0.98  # reports: ~1.0; ASCII read as UTF-16: ~0.87; random bytes: ~0.4
# UTF-8 with a few bad bytes: invalid sequences are at most this share of the
# non-ASCII characters (GBK text read as UTF-8: ~0.76), over at least so many.
UTF8_MAX_BAD_SHARE = 0.05
UTF8_MIN_GOOD_CHARS = 8

# C0/C1 controls except tab, newline, vertical tab, form feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
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
# What a Chinese report is made of: ASCII, Latin (pinyin), Greek, punctuation
# and symbols, CJK characters, punctuation and units (㎡), full-width forms.
_IMPLAUSIBLE = re.compile(
    r"[^\t\n\r\x20-\x7e\xa0-\u024f\u0370-\u03ff\u2000-\u27bf\u3000-\u303f\u3200-\u4dbf"
    r"\u4e00-\u9fff\ufe30-\ufe6f\uff00-\uffef\U00020000-\U0003134f]"
)
_HIGH_BYTES = bytes(range(0x80, 0x100))
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)

log = logging.getLogger(__name__)


class UnreadableError(ValueError):
    """The bytes are not a text report we can decode; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CatalogueError(ValueError):
    """documents.csv is malformed; fatal because it would misdate every report."""


def discover(raw: Path) -> list[Path]:
    """List report files in a stable order so runs and ids are reproducible.

    A folder that cannot be listed is listed itself, so that reading it gives
    a ReadError with the reason instead of its reports silently going missing.
    """
    if not raw.is_dir():
        raise FileNotFoundError(f"raw folder not found: {raw}")
    found: list[tuple[str, Path]] = []

    def unlisted(exc: OSError) -> None:
        if exc.filename is not None:
            path = Path(os.fsdecode(exc.filename))
            found.append((path.relative_to(raw).as_posix(), path))

    for dirpath, dirnames, filenames in os.walk(raw, onerror=unlisted):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # prune hidden
        for name in filenames:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in REPORT_SUFFIXES:
                continue
            path = Path(dirpath, name)
            found.append((path.relative_to(raw).as_posix(), path))
    return [path for _, path in sorted(found)]


def decode(data: bytes) -> tuple[str, str]:
    """Decode report bytes with the first codec that accepts them strictly."""
    if not data or data.isspace():
        raise UnreadableError("empty file")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00
        text, encoding = _strict(data, "utf-32"), "utf-32"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _strict(data, "utf-16"), "utf-16"
    elif b"\x00" in data:
        text, encoding = _bomless_utf16(data)
    elif data.startswith(codecs.BOM_UTF8):
        bom = len(codecs.BOM_UTF8)  # decode after it so error offsets stay absolute
        text, encoding = _strict(data[bom:], "utf-8", bom), "utf-8-sig"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            text, encoding = _not_utf8(data, exc.start)
    if not text or text.isspace():
        raise UnreadableError("empty file")
    controls = len(text) - len(_CONTROL.sub("", text))  # counted without a list per match
    if controls > CONTROL_MAX_RATIO * len(text):
        raise UnreadableError("binary file (mostly control characters)")
    return text, encoding


def _bomless_utf16(data: bytes) -> tuple[str, str]:
    """NUL bytes without a BOM: UTF-16 if they are frequent and it reads as text, else binary."""
    even, odd = data[0::2].count(0), data[1::2].count(0)
    if len(data) % 2 == 0 and max(even, odd) >= UTF16_MIN_NUL_SHARE * len(data) / 2:
        # ASCII in little-endian puts its zero high byte at odd offsets: try that order first.
        for codec in ("utf-16-le", "utf-16-be") if odd >= even else ("utf-16-be", "utf-16-le"):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            sample = text[:UTF16_SAMPLE_CHARS]
            implausible = len(sample) - len(_IMPLAUSIBLE.sub("", sample))
            if "\x00" not in text and implausible <= (1 - UTF16_MIN_PLAUSIBLE) * len(sample):
                return text, codec
        raise UnreadableError("binary file (contains NUL bytes, and is not UTF-16 text without a BOM)")
    raise UnreadableError("binary file (contains NUL bytes)")


def _not_utf8(data: bytes, offset: int) -> tuple[str, str]:
    """GB18030 for bytes that are not UTF-8, unless they are UTF-8 with a few corrupt bytes."""
    replaced = data.decode("utf-8", errors="replace")
    bad = replaced.count("\ufffd")
    ascii_bytes = len(data.translate(None, _HIGH_BYTES))  # ASCII bytes never join a bad sequence
    good = len(replaced) - ascii_bytes - bad
    if good >= UTF8_MIN_GOOD_CHARS and bad <= UTF8_MAX_BAD_SHARE * (good + bad):
        raise UnreadableError(
            f"invalid UTF-8 at byte offset {offset} ({bad} bad sequence(s) in otherwise UTF-8 text;"
            " not read as GB18030, which would garble it)"
        )
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise UnreadableError(
            f"undecodable bytes at offset {offset} (neither UTF-8 nor GB18030)"
        ) from None


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


def _title_from_text(text: str) -> str | None:
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


def doc_id_for(relpath: str) -> str:
    """Id from the path, not the content, so edits keep the same id."""
    return hashlib.sha1(relpath.encode("utf-8")).hexdigest()[:16]


def read_bytes(path: Path, max_bytes: int = MAX_REPORT_BYTES) -> bytes:
    """A regular file's bytes; folders, pipes, devices and oversize files are refused unread."""
    fd = os.open(path, _OPEN_FLAGS)  # non-blocking: opening a FIFO must not hang the run
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UnreadableError(_folder_reason(path))
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableError("not a regular file (a pipe, socket or device)")
        if info.st_size > max_bytes:
            raise UnreadableError(_too_large(info.st_size, max_bytes))
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew after the size check
        raise UnreadableError(_too_large(len(data), max_bytes))
    return data


def _folder_reason(path: Path) -> str:
    """Why a folder came out of `discover` as an item: it could not be listed."""
    try:
        with os.scandir(path):
            return "a folder, not a report"
    except OSError as exc:
        return f"cannot list folder: {exc.strerror or exc}"


def _too_large(size: int, limit: int) -> str:
    return (f"file too large: {size / 2**20:.1f} MiB (limit {limit / 2**20:.0f} MiB);"
            " split the report into parts")


def read_document(
    path: Path,
    raw: Path,
    catalogue: dict[str, tuple[str | None, date | None]],
    *,
    max_bytes: int = MAX_REPORT_BYTES,
) -> Document | ReadError:
    """Read one report; a bad file becomes a ReadError, never an exception."""
    relpath = path.relative_to(raw).as_posix()
    try:
        relpath.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in the name come back as surrogates
        shown = os.fsencode(relpath).decode("utf-8", errors="replace")
        return ReadError(shown, "file name is not valid UTF-8; rename the file")
    try:
        return _read(path, relpath, catalogue, max_bytes)
    except UnreadableError as exc:
        return ReadError(relpath, exc.reason)
    except OSError as exc:
        return ReadError(relpath, f"cannot read file: {exc.strerror or exc}")
    except Exception as exc:  # a bug here on one file must not stop the others
        log.exception("unexpected error reading %s", relpath)
        return ReadError(relpath, f"unexpected error while reading: {type(exc).__name__}: {exc}")


def _read(
    path: Path, relpath: str, catalogue: dict[str, tuple[str | None, date | None]], max_bytes: int
) -> Document:
    data = read_bytes(path, max_bytes)
    if path.suffix.lower() in FORMATS:  # PDF, Word, HTML: their text is what facts index
        try:
            text, encoding = to_text(path, data), path.suffix.lower().lstrip(".")
        except FormatError as exc:
            raise UnreadableError(exc.reason) from None
    else:
        text, encoding = decode(data)
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


def iter_documents(raw: Path, *, max_bytes: int = MAX_REPORT_BYTES) -> Iterator[Document | ReadError]:
    """Stream every report; the catalogue and file list fail fast, at call time."""
    paths = discover(raw)
    catalogue = load_catalogue(raw)
    return (read_document(path, raw, catalogue, max_bytes=max_bytes) for path in paths)
