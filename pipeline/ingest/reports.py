"""Read reports from the raw folder into `Document` records.

Text is decoded (`decode`) but never normalised: fact offsets index the
decoded string, so newlines, full-width characters and spacing are kept
exactly as on disk.

Bad input never stops a run: every file that cannot be taken as a report
(empty, binary, undecodable, too large, vanished, unreadable, not a regular
file) comes out as a `ReadError` naming the file and the reason.

Size: a report up to `MAX_REPORT_BYTES` (64 MiB) is read whole, since facts
index the whole decoded text; a larger file is refused from its size alone,
before a byte is read, so a stray dump cannot exhaust memory.
"""
from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pipeline.ingest.catalogue import date_from_text, load_catalogue, title_from_text
from pipeline.ingest.decode import UnreadableError, decode
from pipeline.ingest.formats import FORMATS, FormatError, to_text
from pipeline.records import Document, ReadError

REPORT_SUFFIXES = frozenset({".txt", ".md"}) | FORMATS  # FORMATS: .pdf .docx .html .htm
MAX_REPORT_BYTES = 64 * 2**20  # read whole up to this; see the module docstring
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)

log = logging.getLogger(__name__)


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
        title=title or title_from_text(text),
        published=published or date_from_text(text),
    )


def iter_documents(raw: Path, *, max_bytes: int = MAX_REPORT_BYTES) -> Iterator[Document | ReadError]:
    """Stream every report; the catalogue and file list fail fast, at call time."""
    paths = discover(raw)
    catalogue = load_catalogue(raw)
    return (read_document(path, raw, catalogue, max_bytes=max_bytes) for path in paths)
