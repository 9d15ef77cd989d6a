"""The text every fact's offsets index, saved as OUTPUT/text/<doc>.txt.

For a PDF, Word or HTML report that text is what the converter produced; for
a .txt or .md report it is the file as decoded. Texts live once in a
content-addressed store (`OUTPUT/.state/text/<sha256 of the report>.txt`)
and each output version hard-links them under its own `text/` folder, so
unchanged reports cost a directory entry per run and the folder switches
with the facts (a reader never sees a text from another version).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from pipeline.state import Entry

STORE = Path(".state") / "text"
log = logging.getLogger(__name__)


def text_file(doc: str) -> str:
    """The name of a report's text inside a `text/` folder."""
    return f"{doc}.txt"


class TextStore:
    """Texts by report hash, written once, linked into versions, collected when unused."""

    def __init__(self, output: Path) -> None:
        self.root = output / STORE

    def path(self, sha256: str) -> Path:
        return self.root / f"{sha256}.txt"

    def save(self, sha256: str, text: str) -> None:
        """Store a report's text unless the same text is stored already.

        The same bytes can give another text when the converters change (code
        version): the stored file is then replaced, since the new facts index
        the new text (and a review page rendered in the chunk shows it);
        versions that link the old file keep it.
        """
        target = self.path(sha256)
        data = text.encode("utf-8")
        try:
            if target.stat().st_size == len(data) and target.read_bytes() == data:
                return
        except FileNotFoundError:
            pass
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def link_into(self, folder: Path, entries: Iterable[Entry]) -> int:
        """Link every entry's text into `folder` (a version's text/); returns how many were missing."""
        missing = 0
        for entry in entries:
            source = self.path(entry.sha256)
            target = folder / text_file(entry.file)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except FileExistsError:
                pass
            except FileNotFoundError:
                missing += 1  # an output written before texts were saved: rerun with --full
            except OSError:
                target.write_bytes(source.read_bytes())  # no hard links on this file system
        if missing:
            log.warning("%d report texts are not stored yet; `python flows.py --full` saves them", missing)
        return missing

    def collect(self) -> int:
        """Remove stored texts that no version links to any more."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.iterdir():
            if path.name.endswith(".txt") and path.stat().st_nlink > 1:
                continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed
