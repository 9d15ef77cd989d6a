"""Plain text from PDF, Word and HTML reports, shaped for the text pipeline.

`to_text` turns the bytes of a `.pdf` (text layer), `.docx` or `.html`/`.htm`
report into the kind of text the `.txt` reports are: paragraphs separated by
blank lines, headings as Markdown `#` lines (so title and section detection
see them), and each table row on one line with its cells separated by tabs
(so `pipeline.figures.tables` reads them cell by cell). The text returned is what
fact offsets index, so the caller saves it (`OUTPUT/text/<doc>.txt`) next to
the facts.

A file that cannot give text raises a `FormatError` subclass whose `reason`
says why (no text layer, encrypted, corrupt); it is never silently empty.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pipeline.ingest.formats.errors import CorruptError, EncryptedError, FormatError, NoTextError, TooLargeError

FORMATS: frozenset[str] = frozenset({".pdf", ".docx", ".html", ".htm"})

# C0/C1 controls except tab and newline; PDFs and Word files carry stray ones.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_TRAILING_SPACE = re.compile(r"[ \t\u3000]+(?=\n|$)")
_BLANK_RUN = re.compile(r"\n{3,}")


def _reader(suffix: str) -> Callable[[bytes], str]:
    """The reader for a suffix; imported lazily so one format's library never loads another's."""
    if suffix == ".pdf":
        from pipeline.ingest.formats.pdf import pdf_text

        return pdf_text
    if suffix == ".docx":
        from pipeline.ingest.formats.word import docx_text

        return docx_text
    if suffix in (".html", ".htm"):
        from pipeline.ingest.formats.web import html_text

        return html_text
    raise ValueError(f"unsupported format {suffix!r}; handled: {', '.join(sorted(FORMATS))}")


def tidy(text: str) -> str:
    """Drop control characters and trailing spaces; at most one blank line between blocks."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUN.sub("\n\n", text).strip("\n") + "\n"


def to_text(path: Path, data: bytes) -> str:
    """The plain text of a .pdf/.docx/.html/.htm report (`data` are its bytes).

    Raises a `FormatError` (`NoTextError`, `EncryptedError`, `CorruptError`,
    `TooLargeError` for what would inflate past a limit: `inflation`)
    naming `path` with a `reason`; ValueError for a suffix not in FORMATS.
    """
    read = _reader(path.suffix.lower())
    if not data:
        raise CorruptError(path, "empty file")
    try:
        text = tidy(read(data))
    except FormatError as exc:
        raise type(exc)(path, exc.reason) from exc.__cause__
    if not text.strip():
        raise NoTextError(path, "no text in the file")
    return text


__all__ = ["FORMATS", "CorruptError", "EncryptedError", "FormatError", "NoTextError", "TooLargeError", "tidy",
           "to_text"]
