"""Read reports from the raw folder into `Document` records.

Text is decoded (`decode`) but never normalised: fact offsets index the
decoded string, so newlines, full-width characters and spacing are kept
exactly as on disk.

Bad input never stops a run: every file that cannot be taken as a report
(empty, binary, undecodable, too large, vanished, unreadable, not a regular
file, a link out of the raw folder: `pipeline.ingest.policy`) comes out as a
`ReadError` naming the file and the reason.

Size: a report up to `MAX_REPORT_BYTES` (64 MiB) is read whole, since facts
index the whole decoded text; a larger file is refused from its size alone,
before a byte is read, so a stray dump cannot exhaust memory.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

from pipeline.ingest.catalogue import date_from_text, load_catalogue, title_from_text
from pipeline.ingest.decode import UnreadableError, decode
from pipeline.ingest.formats import FORMATS, FormatError, to_text
from pipeline.ingest.policy import (
    MAX_REPORT_BYTES,
    InputPolicy,
    check_name,
    read_report,
    shown_name,
)
from pipeline.printable import printable
from pipeline.records import Document, ReadError

REPORT_SUFFIXES = frozenset({".txt", ".md"}) | FORMATS  # FORMATS: .pdf .docx .html .htm

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


def read_document(
    path: Path,
    raw: Path,
    catalogue: dict[str, tuple[str | None, date | None]],
    *,
    max_bytes: int | None = None,
    policy: InputPolicy | None = None,
) -> Document | ReadError:
    """Read one report under the input policy; a bad file becomes a ReadError, never an exception."""
    relpath = path.relative_to(raw).as_posix()
    policy = policy or InputPolicy()
    if max_bytes is not None:
        policy = replace(policy, max_bytes=max_bytes)
    try:
        check_name(relpath)
    except UnreadableError as exc:
        return ReadError(shown_name(relpath), exc.reason)
    try:
        return _read(path, raw, relpath, catalogue, policy)
    except UnreadableError as exc:
        return ReadError(relpath, exc.reason)
    except OSError as exc:
        return ReadError(relpath, f"cannot read file: {exc.strerror or exc}")
    except Exception as exc:  # a bug here on one file must not stop the others
        log.exception("unexpected error reading %s", printable(relpath))
        return ReadError(relpath, f"unexpected error while reading: {type(exc).__name__}: {exc}")


def _read(
    path: Path, raw: Path, relpath: str, catalogue: dict[str, tuple[str | None, date | None]], policy: InputPolicy
) -> Document:
    data = read_report(path, raw, policy)
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


def iter_documents(
    raw: Path, *, max_bytes: int | None = None, policy: InputPolicy | None = None
) -> Iterator[Document | ReadError]:
    """Stream every report; the catalogue and file list fail fast, at call time."""
    paths = discover(raw)
    catalogue = load_catalogue(raw)
    return (read_document(path, raw, catalogue, max_bytes=max_bytes, policy=policy) for path in paths)


__all__ = ["MAX_REPORT_BYTES", "REPORT_SUFFIXES", "discover", "doc_id_for", "iter_documents", "read_document"]
